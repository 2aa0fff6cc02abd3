package main

import (
	"context"
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
	fl.StringVar(&f.connect, "connect", "", "ask the collector at this URL instead of opening the database")
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

// querySource is what export and stats read: the database file, or with
// --connect the collector that holds it. Both give the same answers, so the
// output does not depend on which one was asked.
type querySource struct {
	since, until time.Time
	filtered     bool
	// page returns the page of the window's decisions (oldest first,
	// filtered) after cursor ("" for the first).
	page func(ctx context.Context, cursor string) (store.Page, error)
	// totals counts the window's decisions that match the filter.
	totals func(ctx context.Context) (decision.Totals, error)
	// histogram is the distribution of s over [from, to), unfiltered.
	histogram func(ctx context.Context, s decision.Score, from, to time.Time) (decision.Histogram, error)
	close     func()
}

// open loads the config and opens the store, or with --connect dials the
// collector, for a query command. The window and the filter are checked
// here either way, so their errors read the same.
func (f *queryFlags) open(cmd *cobra.Command, getenv func(string) string) (*querySource, error) {
	now := time.Now()
	since, until, err := f.window(now)
	if err != nil {
		return nil, err
	}
	var filt *decision.Filter
	if f.filter != "" {
		if filt, err = decision.ParseFilter(f.filter, now); err != nil {
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
	src := &querySource{since: since, until: until, filtered: filt != nil}
	if f.connect != "" {
		token := cfg.Ingest.Token.Value()
		if cmd.Flags().Changed("token") {
			token = f.token
		}
		r, err := dialCollector(f.connect, token)
		if err != nil {
			return nil, err
		}
		src.page = func(ctx context.Context, cursor string) (store.Page, error) {
			p, err := r.Range(ctx, api.RangeQuery{From: since, To: until, Filter: f.filter, Limit: 1000, Cursor: cursor})
			return p, connectHint(err, f.connect)
		}
		src.totals = func(ctx context.Context) (decision.Totals, error) {
			t, err := r.Stats(ctx, api.StatsQuery{Since: since, Until: until, Filter: f.filter})
			return t, connectHint(err, f.connect)
		}
		src.histogram = func(ctx context.Context, s decision.Score, from, to time.Time) (decision.Histogram, error) {
			h, err := r.Histogram(ctx, s, from, to)
			return h, connectHint(err, f.connect)
		}
		src.close = r.Close
		return src, nil
	}
	db, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	src.page = func(ctx context.Context, cursor string) (store.Page, error) {
		return db.Range(ctx, store.RangeQuery{From: since, To: until, Filter: filt, Limit: 1000, Cursor: cursor})
	}
	src.totals = func(ctx context.Context) (decision.Totals, error) { return db.Totals(ctx, since, until, filt) }
	src.histogram = db.Histogram
	src.close = func() { db.Close() }
	return src, nil
}

// dialCollector returns the read interface of the collector at url.
func dialCollector(url, token string) (*api.Remote, error) {
	r, err := api.Dial(url, token, api.RemoteOptions{})
	if err != nil {
		return nil, fmt.Errorf("--connect: %w", err)
	}
	return r, nil
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
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			w := export.NewWriter(a.stdout, fmtv)
			for cursor := ""; ; {
				page, err := src.page(cmd.Context(), cursor)
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
				cursor = page.Next
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
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			tot, err := src.totals(cmd.Context())
			if err != nil {
				return fmt.Errorf("count decisions: %w", err)
			}
			to := src.until
			if to.IsZero() {
				to = time.Now().Add(time.Minute)
			}
			hist, err := src.histogram(cmd.Context(), decision.ScoreRisk, src.since, to)
			if err != nil {
				return fmt.Errorf("risk histogram: %w", err)
			}
			out := newStatsOutput(tot, hist)
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return out.writeText(a.stdout, src.filtered)
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
