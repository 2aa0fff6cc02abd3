package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/decision"
)

// labelFlags are shared by label and labels: where the ledger is.
type labelFlags struct {
	storeFlags
	connect string
	token   string
}

func (f *labelFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.connect, "connect", "", "write to (or read from) the collector at this URL instead of opening the database")
	fl.StringVar(&f.token, "token", "", "with --connect: the collector's ingest token (default $RISKWATCH_INGEST_TOKEN, then [ingest] token)")
}

// open returns the ledger's reader and writer: the database file, or the
// collector(s) of --connect (several read as one refuse writes).
func (f *labelFlags) open(cmd *cobra.Command, getenv func(string) string) (api.ReadWriter, func(), error) {
	if f.connect != "" && cmd.Flags().Changed("db") {
		return nil, nil, errors.New("--connect asks a running collector and --db opens a database file: give one of them")
	}
	cfg, err := f.load(cmd, getenv)
	if err != nil {
		return nil, nil, err
	}
	if f.connect != "" {
		token := cfg.Ingest.Token.Value()
		if cmd.Flags().Changed("token") {
			token = f.token
		}
		r, closeR, err := dialCollectors(f.connect, token)
		if err != nil {
			return nil, nil, err
		}
		return r.(api.ReadWriter), closeR, nil
	}
	db, err := openExisting(cfg, cmd.Name())
	if err != nil {
		return nil, nil, err
	}
	return collector.NewStoreReader(db, nil), func() { db.Close() }, nil
}

// author is who the labels are recorded as: --author, else $USER.
func author(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	return getenv("USER")
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) labelCmd() *cobra.Command {
	var lf labelFlags
	var class, reason, event, user, ip, email, from, who string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "label",
		Short: "Label an event, user, IP or email fraud or legit (or retract its label)",
		Long: `Record a label in the labels ledger. A user, IP or email label applies to that
subject's decisions from --from on (default: all of them); an event label to
that event. A decision's label is its event's, else its user's, email's or IP's.

  riskwatch label --class fraud --reason "chargeback 8812" --user u-123
  riskwatch label --class legit --reason "office NAT" --ip 203.0.113.7
  riskwatch label --class retract --reason "wrong user" --user u-123`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := decision.ParseLabelClass(class)
			if err != nil {
				return fmt.Errorf("--class: %w", err)
			}
			var in api.LabelInput
			n := 0
			for _, s := range []struct {
				kind decision.SubjectKind
				v    string
			}{{decision.SubjectEvent, event}, {decision.SubjectUser, user}, {decision.SubjectIP, ip}, {decision.SubjectEmail, email}} {
				if s.v != "" {
					in.Kind, in.Subject = s.kind, s.v
					n++
				}
			}
			if n != 1 {
				return errors.New("name one subject: --event ID, --user ID, --ip IP or --email E")
			}
			in.Class, in.Reason, in.Source, in.Author = c, reason, decision.SourceManual, author(who, a.getenv)
			if from != "" {
				t, err := parseWhen(from, time.Now())
				if err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				in.AppliesFrom = t
			}
			rw, closeRW, err := lf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer closeRW()
			res, err := rw.Label(cmd.Context(), api.LabelWrite{Labels: []api.LabelInput{in}})
			if err != nil {
				return fmt.Errorf("label: %w", connectHint(err, lf.connect))
			}
			if len(res.Problems) > 0 {
				return fmt.Errorf("label: %s", res.Problems[0].Error)
			}
			if asJSON {
				return printJSON(a.stdout, res.Recorded[0])
			}
			e := res.Recorded[0]
			fmt.Fprintf(a.stdout, "labelled %s %s %s (entry %d)\n", e.Kind, e.Subject, e.Class, e.Seq)
			return nil
		},
	}
	lf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&class, "class", "", "fraud, legit or retract (clears the subject's label)")
	fl.StringVar(&reason, "reason", "", "why (a ticket, a chargeback ID)")
	fl.StringVar(&event, "event", "", "label this event ID")
	fl.StringVar(&user, "user", "", "label this user's decisions")
	fl.StringVar(&ip, "ip", "", "label this IP's decisions")
	fl.StringVar(&email, "email", "", "label this email's decisions")
	fl.StringVar(&from, "from", "", "the label applies from this RFC 3339 time (or this long ago) on")
	fl.StringVar(&who, "author", "", "who labels (default $USER)")
	fl.BoolVar(&asJSON, "json", false, "print the recorded entry as JSON")
	_ = cmd.MarkFlagRequired("class")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func (a *app) labelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labels",
		Short: "Import, list and export the labels ledger",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.labelsImportCmd(), a.labelsListCmd(), a.labelsExportCmd())
	return cmd
}

// classMap reads --map values such as chargeback=fraud.
func classMap(maps []string) (map[string]decision.LabelClass, error) {
	out := map[string]decision.LabelClass{}
	for _, m := range maps {
		from, to, ok := strings.Cut(m, "=")
		if !ok || strings.TrimSpace(from) == "" {
			return nil, fmt.Errorf("--map %q: want VALUE=CLASS, e.g. chargeback=fraud", m)
		}
		c, err := decision.ParseLabelClass(to)
		if err != nil {
			return nil, fmt.Errorf("--map %q: %w", m, err)
		}
		out[strings.ToLower(strings.TrimSpace(from))] = c
	}
	return out, nil
}

func (a *app) labelsImportCmd() *cobra.Command {
	var lf labelFlags
	var maps []string
	var dryRun, partial, asJSON bool
	var who string
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import labels from a CSV file, all or nothing",
		Long: `Import labels from a CSV file with a header row naming some of the columns
event_id, user_id, ip, email, label, reason, time; one subject per row. label is
fraud, legit or retract, or a value mapped with --map (chargeback=fraud); time
(RFC 3339 or YYYY-MM-DD) is when the label applies from.

Every row is checked, and matched against the stored decisions, before
anything is recorded: one bad row (a wrong column count, an unknown label, a
subject no decision has) and nothing is imported, unless --partial. The
summary names each bad line by number; the exit status is 1 when there was one.

  riskwatch labels import chargebacks.csv --map chargeback=fraud --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := classMap(maps)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("labels import: %w", err)
			}
			file := decision.ParseLabelCSV(f, m)
			f.Close()
			rw, closeRW, err := lf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer closeRW()
			sum, err := api.ImportLabels(cmd.Context(), rw, file, api.ImportOptions{Author: author(who, a.getenv), DryRun: dryRun, Partial: partial})
			if err != nil {
				return connectHint(err, lf.connect)
			}
			if asJSON {
				err = printJSON(a.stdout, sum)
			} else {
				err = writeImportSummary(a.stdout, args[0], sum)
			}
			if err != nil {
				return err
			}
			if len(sum.Errors) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d bad lines in %s", len(sum.Errors), args[0])}
			}
			return nil
		},
	}
	lf.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&maps, "map", nil, "read this label value as a class, e.g. chargeback=fraud (repeatable)")
	fl.BoolVar(&dryRun, "dry-run", false, "check and match every row, record nothing")
	fl.BoolVar(&partial, "partial", false, "import the good rows even when some are bad")
	fl.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	fl.StringVar(&who, "author", "", "who imports (default $USER)")
	return cmd
}

// writeImportSummary prints an import's summary for people.
func writeImportSummary(w io.Writer, name string, s api.ImportSummary) error {
	verb := "imported"
	if s.DryRun {
		verb = "would import"
	}
	fmt.Fprintf(w, "%s: %d rows, %s %d, unmatched %d, bad lines %d\n", name, s.Rows, verb, s.Imported, s.Unmatched, len(s.Errors))
	for _, e := range s.Errors {
		fmt.Fprintf(w, "  %s\n", strings.ToValidUTF8(e.Error(), "?"))
	}
	if len(s.Errors) > 0 && !s.Partial {
		fmt.Fprintln(w, "nothing imported: fix these lines, or pass --partial to import the good rows")
	}
	return nil
}

func (a *app) labelsListCmd() *cobra.Command {
	var lf labelFlags
	var asOf, kind string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the labels in force (as of a time with --as-of)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := labelsQuery(asOf, kind)
			if err != nil {
				return err
			}
			rw, closeRW, err := lf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer closeRW()
			es, err := rw.Labels(cmd.Context(), q)
			if err != nil {
				return fmt.Errorf("labels: %w", connectHint(err, lf.connect))
			}
			if asJSON {
				return printJSON(a.stdout, es)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tSUBJECT\tCLASS\tFROM\tRECORDED\tSOURCE\tAUTHOR\tREASON")
			for _, e := range es {
				from := "-"
				if !e.AppliesFrom.IsZero() {
					from = e.AppliesFrom.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Kind, clean(e.Subject), e.Class, from,
					e.RecordedAt.UTC().Format(time.RFC3339), e.Source, clean(e.Author), clean(e.Reason))
			}
			return tw.Flush()
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&asOf, "as-of", "", "the labels in force at this RFC 3339 time (or this long ago)")
	cmd.Flags().StringVar(&kind, "kind", "", "only labels of event, user, ip or email")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (a *app) labelsExportCmd() *cobra.Command {
	var lf labelFlags
	var asOf, kind string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the whole labels ledger as NDJSON, oldest entry first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := labelsQuery(asOf, kind)
			if err != nil {
				return err
			}
			q.All = true
			rw, closeRW, err := lf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer closeRW()
			es, err := rw.Labels(cmd.Context(), q)
			if err != nil {
				return fmt.Errorf("labels: %w", connectHint(err, lf.connect))
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			for _, e := range es {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&asOf, "as-of", "", "only entries recorded before this RFC 3339 time (or this long ago)")
	cmd.Flags().StringVar(&kind, "kind", "", "only entries of event, user, ip or email")
	return cmd
}

// labelsQuery reads --as-of and --kind.
func labelsQuery(asOf, kind string) (api.LabelsQuery, error) {
	var q api.LabelsQuery
	t, err := parseWhen(asOf, time.Now())
	if err != nil {
		return q, fmt.Errorf("--as-of: %w", err)
	}
	q.AsOf = t
	if kind != "" {
		k, err := decision.ParseSubjectKind(kind)
		if err != nil {
			return q, fmt.Errorf("--kind: %w", err)
		}
		q.Kind = k
	}
	return q, nil
}

// clean makes a ledger value safe for a terminal table: no control
// characters, tabs or newlines.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
