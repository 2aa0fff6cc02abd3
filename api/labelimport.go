package api

import (
	"context"
	"fmt"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
)

// ImportSummary is what an import of a label CSV file did (`riskwatch
// labels import --json`): the data rows read, the labels recorded (on a
// dry run: those that would be), the rows whose subject no stored decision
// has, and every bad line by number, in order.
type ImportSummary struct {
	Rows      int                  `json:"rows"`
	Imported  int                  `json:"imported"`
	Unmatched int                  `json:"unmatched"`
	Errors    []decision.LineError `json:"errors"`
	DryRun    bool                 `json:"dry_run"`
	Partial   bool                 `json:"partial"`
}

// ImportOptions tune ImportLabels.
type ImportOptions struct {
	Author string
	// DryRun checks and matches every row and records nothing.
	DryRun bool
	// Partial records the good rows when some are bad; without it one
	// bad row records none.
	Partial bool
}

// ImportLabels records the rows of a parsed label CSV file through w, in
// one write: all or none unless o.Partial. A file that could not be read
// as a whole (a wrong header, over the limits) records nothing, partial or
// not. Rows whose subject no stored decision has are refused as unmatched
// (a retract is never unmatched).
func ImportLabels(ctx context.Context, w Writer, file decision.LabelCSV, o ImportOptions) (ImportSummary, error) {
	s := ImportSummary{Rows: file.Total, Errors: slices.Clone(file.Errors), DryRun: o.DryRun, Partial: o.Partial}
	if s.Errors == nil {
		s.Errors = []decision.LineError{}
	}
	whole := file.Truncated || slices.ContainsFunc(file.Errors, func(e decision.LineError) bool { return e.Line == 0 })
	if whole || len(file.Rows) == 0 {
		return s, nil
	}
	lw := LabelWrite{RequireMatch: true, Partial: o.Partial,
		DryRun: o.DryRun || (len(file.Errors) > 0 && !o.Partial)}
	for _, r := range file.Rows {
		lw.Labels = append(lw.Labels, LabelInput{Kind: r.Kind, Subject: r.Subject, Class: r.Class, Reason: r.Reason,
			Source: decision.SourceImport, Author: o.Author, AppliesFrom: r.From})
	}
	res, err := w.Label(ctx, lw)
	if err != nil {
		return s, fmt.Errorf("import labels: %w", err)
	}
	for _, p := range res.Problems {
		if p.Index < 0 || p.Index >= len(file.Rows) {
			return s, fmt.Errorf("import labels: the collector named label %d of %d", p.Index, len(file.Rows))
		}
		s.Errors = append(s.Errors, decision.LineError{Line: file.Rows[p.Index].Line, Err: p.Error})
		if p.Unmatched {
			s.Unmatched++
		}
	}
	slices.SortStableFunc(s.Errors, func(a, b decision.LineError) int { return a.Line - b.Line })
	switch {
	case !lw.DryRun:
		s.Imported = len(res.Recorded)
	case o.Partial || len(s.Errors) == 0:
		s.Imported = len(file.Rows) - len(res.Problems)
	}
	return s, nil
}
