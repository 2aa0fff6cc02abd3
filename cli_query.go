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

	"github.com/riskwatch/riskwatch/config"
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
}

func (f *queryFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "only decisions from this long ago (15m, 24h, 7d) or since this RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "only decisions before this RFC 3339 time (or this long ago)")
	fl.StringVar(&f.filter, "filter", "", `filter expression, e.g. "action:deny risk>=80 since:1h"`)
	fl.StringVar(&f.connect, "connect", "", "ask the collector at this URL instead of opening the database")
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

// open loads the config and opens the store for a query command.
func (f *queryFlags) open(cmd *cobra.Command, getenv func(string) string) (*store.DB, *store.Filter, time.Time, time.Time, error) {
	if f.connect != "" {
		return nil, nil, time.Time{}, time.Time{}, errors.New("--connect is not built yet (it comes with the collector's query API); stop the collector or export from a copy of the database")
	}
	now := time.Now()
	since, until, err := f.window(now)
	if err != nil {
		return nil, nil, since, until, err
	}
	var filt *store.Filter
	if f.filter != "" {
		if filt, err = store.ParseFilter(f.filter, now); err != nil {
			return nil, nil, since, until, fmt.Errorf("--filter: %w", err)
		}
	}
	cfg, err := f.load(cmd, getenv)
	if err != nil {
		return nil, nil, since, until, err
	}
	db, err := openStore(cfg)
	return db, filt, since, until, err
}

func (a *app) exportCmd() *cobra.Command {
	var qf queryFlags
	var format string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write stored decisions as NDJSON or CSV",
		Long: `Write stored decisions, oldest first, one per line (NDJSON, the default) or as
CSV with a header. Each carries the event and response fields, the action, the
error if any, latency and the raw request and response JSON.

  riskwatch export --since 1h --filter "action:deny" > denies.ndjson
  riskwatch export --format csv --filter "user:u-123" > journey.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmtv, err := export.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			db, filt, since, until, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer db.Close()
			w := export.NewWriter(a.stdout, fmtv)
			q := store.RangeQuery{From: since, To: until, Filter: filt, Limit: 1000}
			for {
				page, err := db.Range(cmd.Context(), q)
				if err != nil {
					return fmt.Errorf("read decisions: %w", err)
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
			return w.Close()
		},
	}
	qf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "ndjson", "output format: ndjson or csv")
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
			db, filt, since, until, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer db.Close()
			tot, err := db.Totals(cmd.Context(), since, until, filt)
			if err != nil {
				return fmt.Errorf("count decisions: %w", err)
			}
			to := until
			if to.IsZero() {
				to = time.Now().Add(time.Minute)
			}
			hist, err := db.Histogram(cmd.Context(), store.ScoreRisk, since, to)
			if err != nil {
				return fmt.Errorf("risk histogram: %w", err)
			}
			out := newStatsOutput(tot, hist)
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return out.writeText(a.stdout, filt != nil)
		},
	}
	qf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// statsOutput is what `stats` prints.
type statsOutput struct {
	store.Totals
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

func newStatsOutput(tot store.Totals, h store.Histogram) statsOutput {
	out := statsOutput{Totals: tot, Histogram: statsHistogram{Score: h.Score.String()}}
	if out.ByAction == nil {
		out.ByAction = map[store.Action]uint64{}
	}
	for _, a := range store.Actions {
		out.ByAction[a] += 0
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
			for ai, a := range store.Actions {
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
	for _, a := range store.Actions {
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
