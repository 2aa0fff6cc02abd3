package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/export"
	"github.com/riskwatch/riskwatch/store"
)

// queryFlags are shared by export and stats.
type queryFlags struct {
	storeFlags
	since   string
	until   string
	filter  string
	connect string
	token   string
}

func (f *queryFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "only decisions from this long ago (15m, 24h, 7d) or since this RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "only decisions before this RFC 3339 time (or this long ago)")
	fl.StringVar(&f.filter, "filter", "", `filter expression, e.g. "action:deny risk>=80 since:1h"`)
	fl.StringVar(&f.connect, "connect", "", "ask the collector at this URL (several, comma-separated: read them as one) instead of opening the database")
	fl.StringVar(&f.token, "token", "", "with --connect: the collector's ingest token (default $RISKWATCH_INGEST_TOKEN, then [ingest] token)")
}

// window resolves --since and --until against now.
func (f *queryFlags) window(now time.Time) (since, until time.Time, err error) {
	if since, err = parseWhen(f.since, now); err != nil {
		return since, until, fmt.Errorf("--since: %w", err)
	}
	if until, err = parseWhen(f.until, now); err != nil {
		return since, until, fmt.Errorf("--until: %w", err)
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, fmt.Errorf("--since (%s) must be before --until (%s)", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return since, until, nil
}

// parseWhen reads a duration ago or an RFC 3339 time; "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("want a positive duration such as 15m or 7d, or an RFC 3339 time such as 2026-11-25T10:00:00Z, got %q", s)
	}
	return now.Add(-d), nil
}

// querySource is what export and stats read: an api.Reader over the
// database file, or with --connect over the collector (or collectors) that
// hold it. Every reader gives the same answers, so the output does not
// depend on which one was asked.
type querySource struct {
	r            api.Reader
	since, until time.Time
	// filter is --filter, already checked.
	filter string
	// connect is --connect, "" for the file.
	connect string
	close   func()
}

// open loads the config and opens the database, or with --connect dials
// the collectors, for a query command. The window and the filter are
// checked here either way, so their errors read the same.
func (f *queryFlags) open(cmd *cobra.Command, getenv func(string) string) (*querySource, error) {
	now := time.Now()
	since, until, err := f.window(now)
	if err != nil {
		return nil, err
	}
	if f.filter != "" {
		if _, err := decision.ParseFilter(f.filter, now); err != nil {
			return nil, fmt.Errorf("--filter: %w", err)
		}
	}
	if f.connect != "" && cmd.Flags().Changed("db") {
		return nil, errors.New("--connect asks a running collector and --db opens a database file: give one of them")
	}
	cfg, err := f.load(cmd, getenv)
	if err != nil {
		return nil, err
	}
	src := &querySource{since: since, until: until, filter: f.filter, connect: f.connect}
	if f.connect != "" {
		token := cfg.Ingest.Token.Value()
		if cmd.Flags().Changed("token") {
			token = f.token
		}
		r, closeR, err := dialCollectors(f.connect, token)
		if err != nil {
			return nil, err
		}
		src.r, src.close = r, closeR
		return src, nil
	}
	db, err := openExisting(cfg, cmd.Name())
	if err != nil {
		return nil, err
	}
	src.r, src.close = collector.NewStoreReader(db, nil), func() {
		db.Close()
		removeLockInfo(db.Path())
	}
	return src, nil
}

// openExisting opens the configured database for command, which must
// exist: a query never creates one.
func openExisting(cfg config.Config, command string) (*store.DB, error) {
	return openStore(cfg, store.Options{MustExist: true}, command)
}

// hint adds what to do to an error of the source.
func (s *querySource) hint(err error) error { return connectHint(err, s.connect) }

// warnPartial tells w which collectors of a federation did not answer, so
// that a partial answer is not taken for the whole.
func (s *querySource) warnPartial(w io.Writer) {
	if f, ok := s.r.(*api.Federation); ok {
		warnMembers(w, f)
	}
}

// warnMembers writes a line for each member of f whose last exchange
// failed.
func warnMembers(w io.Writer, f *api.Federation) {
	for _, m := range f.Members() {
		if !m.OK && m.Err != nil {
			fmt.Fprintf(w, "warning: collector %s did not answer, its decisions are left out: %v\n", m.Name, m.Err)
		}
	}
}

// dialCollectors returns the read interface of the collectors at urls
// (comma-separated): a Remote for one, their Federation for several.
func dialCollectors(urls, token string) (api.Reader, func(), error) {
	var list []string
	for u := range strings.SplitSeq(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, u)
		}
	}
	if len(list) == 1 {
		r, err := api.Dial(list[0], token, api.RemoteOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("--connect: %w", err)
		}
		return r, r.Close, nil
	}
	f, err := api.DialAll(list, token, api.RemoteOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("--connect: %w", err)
	}
	return f, f.Close, nil
}

// describeCollectors names what dialCollectors returned, for the status
// line.
func describeCollectors(r api.Reader) string {
	if f, ok := r.(*api.Federation); ok {
		return "collectors " + strings.Join(f.Names(), ", ")
	}
	if rm, ok := r.(*api.Remote); ok {
		return "collector " + rm.URL()
	}
	return ""
}

// connectHint adds what to do to a refused token.
func connectHint(err error, url string) error {
	var ae *api.Error
	if errors.As(err, &ae) && ae.Unauthorized() {
		return fmt.Errorf("%w\n(the collector at %s wants its ingest token: set RISKWATCH_INGEST_TOKEN or pass --token)", err, url)
	}
	return err
}

func (a *app) exportCmd() *cobra.Command {
	var qf queryFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write stored decisions as NDJSON, CSV or Parquet",
		Long: `Write stored decisions, oldest first, one per line (NDJSON, the default) or as
CSV with a header. Each carries the event and response fields, the action, the
error if any, latency and the raw request and response JSON.

Parquet has typed columns (timestamps, scores as doubles, signals as a list,
the raw request and response as strings) for DuckDB or pandas, and needs
--out FILE. A file given with --out appears only once the export is complete.

  riskwatch export --since 1h --filter "action:deny" > denies.ndjson
  riskwatch export --format csv --filter "user:u-123" > journey.csv
  riskwatch export --format parquet --since 7d --out decisions.parquet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmtv, err := export.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			if err := checkExportOut(fmtv, out); err != nil {
				return err
			}
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			dst, err := openExportOutput(out, a.stdout)
			if err != nil {
				return err
			}
			defer dst.abort()
			w := export.NewWriter(dst, fmtv)
			q := api.RangeQuery{From: src.since, To: src.until, Filter: src.filter, Limit: 1000}
			for {
				page, err := src.r.Range(cmd.Context(), q)
				if err != nil {
					return fmt.Errorf("read decisions: %w", src.hint(err))
				}
				for i := range page.Decisions {
					if err := w.Write(&page.Decisions[i]); err != nil {
						return err
					}
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			if err := w.Close(); err != nil {
				return err
			}
			if err := dst.commit(); err != nil {
				return err
			}
			src.warnPartial(a.stderr)
			return nil
		},
	}
	qf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "ndjson", "output format: ndjson, csv or parquet")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout (\"-\" is stdout; parquet needs it)")
	return cmd
}

func (a *app) statsCmd() *cobra.Command {
	var qf queryFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Print counts by action and type, rejected input, inbox and a risk histogram",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			tot, err := src.r.Stats(cmd.Context(), api.StatsQuery{From: src.since, To: src.until, Filter: src.filter})
			if err != nil {
				return fmt.Errorf("count decisions: %w", src.hint(err))
			}
			to := src.until
			if to.IsZero() {
				to = time.Now().Add(time.Minute)
			}
			hist, err := src.r.Histogram(cmd.Context(), api.HistogramQuery{Score: decision.ScoreRisk, From: src.since, To: to})
			if err != nil {
				return fmt.Errorf("risk histogram: %w", src.hint(err))
			}
			out := newStatsOutput(tot, hist)
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(out)
			} else {
				err = out.writeText(a.stdout, src.filter != "")
			}
			if err != nil {
				return err
			}
			src.warnPartial(a.stderr)
			return nil
		},
	}
	qf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// statsOutput is what `stats` prints.
type statsOutput struct {
	decision.Totals
	Histogram statsHistogram `json:"histogram"`
}

type statsHistogram struct {
	Score string `json:"score"`
	// Buckets are ten-point ranges: [0,10), [10,20) ... [90,100].
	Buckets []statsBucket `json:"buckets"`
}

type statsBucket struct {
	From  int               `json:"from"`
	To    int               `json:"to"`
	Count uint64            `json:"count"`
	By    map[string]uint64 `json:"by_action"`
}

func newStatsOutput(tot decision.Totals, h decision.Histogram) statsOutput {
	out := statsOutput{Totals: tot, Histogram: statsHistogram{Score: h.Score.String()}}
	if out.ByAction == nil {
		out.ByAction = map[decision.Action]uint64{}
	}
	for _, a := range decision.Actions {
		if _, ok := out.ByAction[a]; !ok {
			out.ByAction[a] = 0 // every action is listed, even when none occurred
		}
	}
	if out.ByType == nil {
		out.ByType = map[string]uint64{}
	}
	for b := 0; b < 10; b++ {
		sb := statsBucket{From: b * 10, To: b*10 + 10, By: map[string]uint64{}}
		hi := b*10 + 10
		if b == 9 {
			hi = 101
		}
		for v := b * 10; v < hi; v++ {
			for ai, a := range decision.Actions {
				n := h.Counts[v][ai]
				sb.Count += n
				if n > 0 {
					sb.By[string(a)] += n
				}
			}
		}
		out.Histogram.Buckets = append(out.Histogram.Buckets, sb)
	}
	return out
}

func (o statsOutput) writeText(w io.Writer, filtered bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "decisions\t%d\n", o.Decisions)
	for _, a := range decision.Actions {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", a, o.ByAction[a], share(o.ByAction[a], o.Decisions))
	}
	types := make([]string, 0, len(o.ByType))
	for t := range o.ByType {
		types = append(types, t)
	}
	slices.SortFunc(types, func(x, y string) int {
		if c := int(o.ByType[y]) - int(o.ByType[x]); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	fmt.Fprintln(tw, "by type\t")
	for _, t := range types {
		fmt.Fprintf(tw, "  %s\t%d\n", t, o.ByType[t])
	}
	fmt.Fprintf(tw, "rejected input\t%d\n", o.Rejected)
	fmt.Fprintf(tw, "inbox (waiting to be scored)\t%d\n", o.Inbox)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s histogram", o.Histogram.Score)
	if filtered {
		fmt.Fprint(w, " (whole window; the filter applies to the counts above)")
	}
	fmt.Fprintln(w)
	var peak uint64
	for _, b := range o.Histogram.Buckets {
		peak = max(peak, b.Count)
	}
	for _, b := range o.Histogram.Buckets {
		bar := 0
		if peak > 0 {
			bar = int(b.Count * 40 / peak)
		}
		fmt.Fprintf(w, "  %3d-%-3d %8d %s\n", b.From, b.To, b.Count, strings.Repeat("█", bar))
	}
	return nil
}

func share(n, of uint64) string {
	if of == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
