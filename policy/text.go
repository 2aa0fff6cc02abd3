package policy

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// The text forms of the reports, what `riskwatch policy replay`, `diff`
// and `test` print without --json. Values that come from stored events
// (users, IPs, what a rule read) are quoted as Go strings, so no control
// character reaches the terminal.

// WriteText writes the replay report as text: the counts, the matrix of
// Safe-e's actions (rows) against the policy's (columns), each rule's
// counts and the changed decisions listed.
func (r *Report) WriteText(w io.Writer, name string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "policy %s over %d decisions%s: %d changed\n", name, r.Decisions, span(r.From, r.To), r.Changed)
	writeMatrix(tw, "live \\ policy", r.Matrix)
	writeRules(tw, r.Rules, r.Policy)
	if l := r.Labels; l != nil {
		writeLabels(tw, r.Decisions, l.Unlabeled, labelRow{"live", l.Live}, labelRow{name, l.Policy})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Changes) > 0 {
		fmt.Fprintf(w, "changed decisions (first %d):\n", len(r.Changes))
	}
	for _, c := range r.Changes {
		fmt.Fprintf(w, "  %s  live %s -> %s by %s%s\n", refText(c.Ref), c.Live, c.Policy, ruleText(c.Rule), readText(c.Read))
	}
	return nil
}

// WriteText writes the diff report as text, as Report.WriteText does with
// the old policy's actions as rows and the new one's as columns.
func (r *DiffReport) WriteText(w io.Writer, oldName, newName string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s -> %s over %d decisions%s: %d decided differently\n", oldName, newName, r.Decisions, span(r.From, r.To), r.Changed)
	writeMatrix(tw, "old \\ new", r.Matrix)
	fmt.Fprintf(tw, "\n%s\n", oldName)
	writeRules(tw, r.OldRules, r.Old)
	fmt.Fprintf(tw, "\n%s\n", newName)
	writeRules(tw, r.NewRules, r.New)
	if l := r.Labels; l != nil {
		writeLabels(tw, r.Decisions, l.Unlabeled, labelRow{"live", l.Live}, labelRow{oldName, l.Old}, labelRow{newName, l.New})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Changes) > 0 {
		fmt.Fprintf(w, "decided differently (first %d):\n", len(r.Changes))
	}
	for _, c := range r.Changes {
		fmt.Fprintf(w, "  %s  %s by %s%s -> %s by %s%s\n", refText(c.Ref), c.Old, ruleText(c.OldRule), readText(c.OldRead),
			c.New, ruleText(c.NewRule), readText(c.NewRead))
	}
	return nil
}

// WriteText writes one line per failure and a summary.
func (r *CaseReport) WriteText(w io.Writer) error {
	for _, f := range r.Failures {
		if _, err := fmt.Fprintln(w, f.Error()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d of %d cases passed\n", r.Passed, r.Cases)
	return err
}

func span(from, to time.Time) string {
	if from.IsZero() {
		return ""
	}
	return fmt.Sprintf(" (event times %s to %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
}

func writeMatrix(tw *tabwriter.Writer, corner string, m Matrix) {
	fmt.Fprintf(tw, "%s\t", corner)
	for _, a := range decision.Actions {
		fmt.Fprintf(tw, "%s\t", a)
	}
	fmt.Fprintln(tw)
	for i, a := range decision.Actions {
		fmt.Fprintf(tw, "%s\t", a)
		for _, n := range m[i] {
			fmt.Fprintf(tw, "%d\t", n)
		}
		fmt.Fprintln(tw)
	}
}

// writeRules writes each rule's counts and what the default decided
// (the decisions no rule decided, apart from errors, which pass through).
func writeRules(tw *tabwriter.Writer, rules []RuleCount, total Counts) {
	fmt.Fprintf(tw, "rule\tmatched\tdecided\terrors\t\n")
	decided := 0
	for _, rc := range rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", rc.Name, rc.Matched, rc.Decided, rc.Errors)
		decided += rc.Decided
	}
	all := 0
	for _, n := range total {
		all += n
	}
	errs := total[decision.ActionError.Index()]
	fmt.Fprintf(tw, "(default)\t\t%d\t\t\n", all-decided-errs)
}

// labelRow is one way of deciding in the label table.
type labelRow struct {
	name  string
	split decision.LabelSplit
}

// writeLabels writes the labelled decisions' counts (fraud and legit,
// each as allow/challenge/deny) and the precision, recall and
// false-positive rate of deny and of challenge-or-deny, one row each
// (the decisions with an error action are in neither).
func writeLabels(tw *tabwriter.Writer, decisions int, unlabeled uint64, rows ...labelRow) {
	fmt.Fprintf(tw, "\nlabels: %d labelled, %d unlabelled\n", uint64(decisions)-unlabeled, unlabeled)
	fmt.Fprintf(tw, "actions\tfraud a/c/d\tlegit a/c/d\tdeny prec\trecall\tfpr\tc|d prec\trecall\tfpr\t\n")
	for _, r := range rows {
		c, m := r.split.Labels, r.split.Labels.Metrics()
		fmt.Fprintf(tw, "%s\t%d/%d/%d\t%d/%d/%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", quoted(r.name),
			c[decision.ClassFraud][0], c[decision.ClassFraud][1], c[decision.ClassFraud][2],
			c[decision.ClassLegit][0], c[decision.ClassLegit][1], c[decision.ClassLegit][2],
			m.Deny.Precision, m.Deny.Recall, m.Deny.FPR,
			m.ChallengeOrDeny.Precision, m.ChallengeOrDeny.Recall, m.ChallengeOrDeny.FPR)
	}
}

func refText(r Ref) string {
	return fmt.Sprintf("%s %s %s user %q ip %q", r.EventTime.Format(time.RFC3339), quoted(r.ID), quoted(r.Type), r.UserID, r.IP)
}

func readText(read map[string]any) string {
	if len(read) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" reading")
	for _, k := range slices.Sorted(maps.Keys(read)) {
		fmt.Fprintf(&b, " %s=%s", quoted(k), quoted(fmt.Sprint(read[k])))
	}
	return b.String()
}

// quoted escapes s as a Go string does, without the quotes.
func quoted(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
