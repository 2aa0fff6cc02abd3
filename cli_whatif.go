package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/decision"
)

func (a *app) whatifCmd() *cobra.Command {
	var qf queryFlags
	var score, mature, asOf string
	var challenge, deny float64
	var fit, asJSON bool
	cmd := &cobra.Command{
		Use:   "whatif",
		Short: "What thresholds would do, measured against labels",
		Long: `Simulate challenge and deny thresholds on one score over stored decisions and
measure them against the labels: the actual x simulated matrix, the label x
simulated counts, precision, recall and false-positive rate for deny and for
challenge-or-deny, for the simulated thresholds and for today's (actual)
actions, per event type, and a curve over every deny threshold 0..100.

Chargebacks arrive weeks late: --mature 30d leaves out decisions younger than
that, whose labels have not arrived yet; the observed label lag is shown.
--as-of reads only the labels recorded before a time. --fit adds the
thresholds that best reproduce the actual actions.

  riskwatch whatif --score risk --challenge 60 --deny 70 --mature 30d
  riskwatch whatif --deny 70 --filter "type:\$transaction" --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := qf.load(cmd, a.getenv)
			if err != nil {
				return err
			}
			th, err := whatifThresholds(cmd, cfg.Thresholds, score, challenge, deny)
			if err != nil {
				return err
			}
			q := api.LabelWhatIfQuery{Thresholds: th}
			if mature != "" {
				d, err := config.ParseDuration(mature)
				if err != nil || d <= 0 {
					return fmt.Errorf("--mature: want a positive duration such as 30d, got %q", mature)
				}
				q.Mature = d
			}
			if q.AsOf, err = parseWhen(asOf, time.Now()); err != nil {
				return fmt.Errorf("--as-of: %w", err)
			}
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			q.From, q.To, q.Filter = src.since, src.until, src.filter
			w, err := src.r.LabelWhatIf(cmd.Context(), q)
			if err != nil {
				return fmt.Errorf("what-if: %w", src.hint(err))
			}
			r := w.Report()
			if fit {
				to := src.until
				if to.IsZero() {
					to = time.Now().Add(time.Minute)
				}
				h, err := src.r.Histogram(cmd.Context(), api.HistogramQuery{Score: th.Score, From: src.since, To: to})
				if err != nil {
					return fmt.Errorf("fit: %w", src.hint(err))
				}
				f := decision.FitThresholds(&h)
				r.Fit = &f
			}
			if asJSON {
				err = printJSON(a.stdout, r)
			} else {
				err = writeWhatIfText(a.stdout, &r)
			}
			if err != nil {
				return err
			}
			src.warnPartial(a.stderr)
			return nil
		},
	}
	qf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&score, "score", "", "the score the thresholds apply to: risk, ato, bot or abuse (default [thresholds] score)")
	fl.Float64Var(&challenge, "challenge", 0, "challenge from this score (default [thresholds] challenge)")
	fl.Float64Var(&deny, "deny", 0, "deny from this score (default [thresholds] deny)")
	fl.StringVar(&mature, "mature", "", "leave out decisions younger than this (30d): their labels have not arrived yet")
	fl.StringVar(&asOf, "as-of", "", "read only the labels recorded before this RFC 3339 time (or this long ago)")
	fl.BoolVar(&fit, "fit", false, "also report the thresholds that best reproduce the actual actions")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// whatifThresholds applies the flags given over the configured thresholds.
func whatifThresholds(cmd *cobra.Command, cfg config.Thresholds, score string, challenge, deny float64) (decision.Thresholds, error) {
	if !cmd.Flags().Changed("score") {
		score = cfg.Score
	}
	s, err := decision.ParseScore(score)
	if err != nil {
		return decision.Thresholds{}, fmt.Errorf("--score: %w", err)
	}
	th := decision.Thresholds{Score: s, Challenge: cfg.Challenge, Deny: cfg.Deny}
	if cmd.Flags().Changed("challenge") {
		th.Challenge = challenge
	}
	if cmd.Flags().Changed("deny") {
		th.Deny = deny
	}
	for _, v := range []float64{th.Challenge, th.Deny} {
		if v != v || v < 0 || v > 100 {
			return th, fmt.Errorf("thresholds must lie in 0..100 (challenge %g, deny %g)", th.Challenge, th.Deny)
		}
	}
	return th, nil
}

// writeWhatIfText prints a what-if with labels for people.
func writeWhatIfText(w io.Writer, r *decision.LabelReport) error {
	th := r.Thresholds
	fmt.Fprintf(w, "what-if on %s: challenge >= %g, deny >= %g\n", th.Score, th.Challenge, th.Deny)
	if r.Fit != nil {
		fmt.Fprintf(w, "today's policy as thresholds (--fit): challenge >= %g, deny >= %g, reproduces %.1f%% of %d decisions\n",
			r.Fit.Thresholds.Challenge, r.Fit.Thresholds.Deny, 100*r.Fit.Share(), r.Fit.Total)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "actual \\ simulated\tallow\tchallenge\tdeny\t")
	for a, row := range r.Matrix {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", decision.Actions[a], row[0], row[1], row[2])
	}
	fmt.Fprintln(tw, "label \\ simulated\t\t\t\t")
	for c, name := range []string{"fraud", "legit"} {
		row := r.Simulated.Labels[c]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", name, row[0], row[1], row[2])
	}
	fmt.Fprintf(tw, "unlabeled\t%d\t\t\t\n", r.Unlabeled)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tprecision\trecall\tfalse-positive rate")
	metric := func(name string, m decision.Metrics) {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.4f\n", name, m.Precision, m.Recall, m.FPR)
	}
	metric("simulated deny", r.Simulated.Metrics.Deny)
	metric("simulated challenge or deny", r.Simulated.Metrics.ChallengeOrDeny)
	metric("today deny", r.Today.Metrics.Deny)
	metric("today challenge or deny", r.Today.Metrics.ChallengeOrDeny)
	types := make([]string, 0, len(r.ByType))
	for t := range r.ByType {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		tr := r.ByType[t]
		metric(clean(t)+" simulated deny", tr.Simulated.Metrics.Deny)
		metric(clean(t)+" today deny", tr.Today.Metrics.Deny)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlabel lag (event to label): median %dd, p90 %dd over %d labelled decisions\n", r.LagMedian, r.LagP90, r.LagCount)
	fmt.Fprintln(w, "\ndeny from  precision  recall  false-positive rate")
	for d := 0; d <= 100; d += 10 {
		p := r.Curve[d]
		fmt.Fprintf(w, "%9d  %9.3f  %6.3f  %.4f\n", d, p.Precision, p.Recall, p.FPR)
	}
	return nil
}
