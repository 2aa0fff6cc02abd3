package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/tui/common"
)

func (a *app) explainCmd() *cobra.Command {
	var qf queryFlags
	var q api.ExplainQuery
	var mode string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Say which values drive a window of decisions against a baseline",
		Long: `Compare the window [until-window, until) with a baseline and list the values
(an IP /24, a user agent family, a signal, an email domain...) over-represented
in it, alone or in pairs, largest excess first. Each has passed a G-test
corrected for every value tested, a minimum count and an effect floor.

--baseline is the period before the window (1h, 24h), or the window's time of
day on each of the last N days (1d, 7d). --mode deny compares the window's
denies with its allows instead; --mode label its decisions labelled fraud
with those labelled legit (by the labels in force now).

  riskwatch explain
  riskwatch explain --window 30m --baseline 7d --filter 'type:$login'
  riskwatch explain --mode deny --json
  riskwatch explain --mode label --window 7d --baseline 7d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := explain.ParseMode(mode)
			if err != nil {
				return fmt.Errorf("--mode: %w", err)
			}
			q.Mode, q.Filter = m, qf.filter
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			e, err := src.r.Explain(cmd.Context(), q)
			if err != nil {
				return fmt.Errorf("explain: %w", src.hint(err))
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(e)
			} else {
				err = writeExplanation(a.stdout, &e)
			}
			if err != nil {
				return err
			}
			src.warnPartial(a.stderr)
			return nil
		},
	}
	qf.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&q.Window, "window", api.DefaultExplainWindow, "the window's width (10m, 1h)")
	fl.StringVar(&q.Baseline, "baseline", api.DefaultExplainBaseline, "the period before the window (1h, 24h), or the same time of day over the last N days (1d, 7d)")
	fl.StringVar(&q.Until, "until", "", "end the window this long ago (5m) or at this RFC 3339 time (default now)")
	fl.StringVar(&qf.filter, "filter", "", `only decisions matching this filter, e.g. "type:$login"`)
	fl.StringVar(&mode, "mode", "volume", "volume: what is over-represented against the baseline; deny: among the window's denies against its allows; label: among its fraud-labelled decisions against its legit ones")
	fl.StringVar(&qf.connect, "connect", "", "ask the collector at this URL (several, comma-separated: read them as one) instead of opening the database")
	fl.StringVar(&qf.token, "token", "", "with --connect: the collector's ingest token (default $RISKWATCH_INGEST_TOKEN, then [ingest] token)")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object (SPEC section 11)")
	return cmd
}

// writeExplanation prints e as a table, one driver a row.
func writeExplanation(w io.Writer, e *api.Explanation) error {
	span := func(s explain.Span) string {
		return fmt.Sprintf("%s to %s (%d decisions)", s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339), s.Count)
	}
	switch {
	case e.Mode == explain.ModeDeny:
		fmt.Fprintf(w, "denies %s against allows\n", span(e.Window))
	case e.Mode == explain.ModeLabel && e.FraudRate != nil:
		fmt.Fprintf(w, "fraud %s against %d legit (fraud rate %.1f%%)\n", span(e.Window), e.Baseline.Count, 100**e.FraudRate)
	default:
		fmt.Fprintf(w, "window   %s\nbaseline %s, covering %v\nexcess   %+.0f decisions\n", span(e.Window), span(e.Baseline),
			time.Duration(e.Baseline.Seconds*float64(time.Second)), e.Excess)
	}
	if len(e.Drivers) == 0 {
		fmt.Fprintf(w, "\nno driver: nothing is over-represented beyond chance (%d tests)\n", e.Tests)
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "driver\tnow\tbefore\tshare\tratio\texcess\tp\tfilter")
	for _, d := range e.Drivers {
		now, before := strconv.FormatUint(d.Window, 10), strconv.FormatUint(d.Baseline, 10)
		if d.Bound {
			now, before = ">="+now, "<="+before
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%+.1fpt\t%.1f\t%+.0f\t%.1e\t%s\n", driverName(&d.Driver), now, before,
			100*d.ShareChange, d.Ratio, d.Excess, d.P, common.Sanitize(d.Term))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if e.Bounded {
		fmt.Fprintln(w, "\nsome counts are bounds (>= now, <= before): rollups keep the top 512 values of each minute and hour")
	}
	return nil
}

// driverName names a driver's values: ip24=203.0.113.0/24 + ua_family=curl.
func driverName(d *explain.Driver) string {
	var parts []string
	for _, v := range d.Values() {
		parts = append(parts, common.Sanitize(v.String()))
	}
	return strings.Join(parts, " + ")
}
