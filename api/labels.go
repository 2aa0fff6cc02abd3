package api

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Writer is everything that writes to a collector (SPEC section 12). Each
// method is a write op of the table in ops.go (POST, a JSON body, the
// ingest token rule).
type Writer interface {
	// Label records labels in the collector's ledger, all or none unless
	// w.Partial (see LabelWrite).
	Label(ctx context.Context, w LabelWrite) (LabelResult, error)
	// ReloadShadowPolicy reads the collector's shadow policy file again
	// (as SIGHUP does a headless collector's): a file that loads applies
	// to every decision stored from then on; one that does not keeps the
	// previous policy, and the answer says why (not an error). A
	// collector without a shadow policy answers ErrInvalid.
	ReloadShadowPolicy(ctx context.Context) (ShadowReload, error)
}

// MaxLabelWriteBody bounds the body of POST /v1/labels (an import of a
// few hundred thousand rows fits).
const MaxLabelWriteBody = 64 << 20

// LabelInput is one label to record. The collector stamps its sequence and
// recorded-at time.
type LabelInput struct {
	Kind    decision.SubjectKind `json:"kind"`
	Subject string               `json:"subject"`
	Class   decision.LabelClass  `json:"class"`
	Reason  string               `json:"reason,omitempty"`
	// Source is manual (the default), import or rule.
	Source decision.LabelSource `json:"source,omitempty"`
	Author string               `json:"author,omitempty"`
	// AppliesFrom is the event time from which the subject's decisions
	// carry the label; zero: all of them.
	AppliesFrom time.Time `json:"applies_from,omitzero"`
}

// Entry is the ledger entry of l, not yet recorded.
func (l LabelInput) Entry() decision.LabelEntry {
	src := l.Source
	if src == "" {
		src = decision.SourceManual
	}
	return decision.LabelEntry{Kind: l.Kind, Subject: l.Subject, Class: l.Class, Reason: l.Reason,
		Source: src, Author: l.Author, AppliesFrom: l.AppliesFrom}
}

// LabelWrite is the body of POST /v1/labels.
type LabelWrite struct {
	Labels []LabelInput `json:"labels"`
	// RequireMatch refuses a label whose subject no stored decision has
	// (an import's "unmatched" rows).
	RequireMatch bool `json:"require_match,omitempty"`
	// Partial records the good labels when some are refused; without it
	// one refused label records none.
	Partial bool `json:"partial,omitempty"`
	// DryRun checks and matches the labels and records none.
	DryRun bool `json:"dry_run,omitempty"`
}

// LabelResult is the answer of POST /v1/labels. The answer is 200 for
// any well-formed body: Problems says which labels were refused, and
// Recorded which were written (none when a label was refused without
// Partial, or on a dry run).
type LabelResult struct {
	Recorded []decision.LabelEntry `json:"recorded"`
	Problems []LabelProblem        `json:"problems,omitempty"`
	// Unmatched counts the labels refused because no stored decision has
	// their subject (RequireMatch).
	Unmatched int  `json:"unmatched"`
	DryRun    bool `json:"dry_run,omitempty"`
}

// LabelProblem is why one label of a write was refused: Index is its
// position in LabelWrite.Labels.
type LabelProblem struct {
	Index     int    `json:"index"`
	Error     string `json:"error"`
	Unmatched bool   `json:"unmatched,omitempty"`
}

// LabelsQuery lists labels: the labels in force (as of AsOf), or with All
// the whole ledger, oldest entry first.
type LabelsQuery struct {
	AsOf time.Time `query:"as_of"`
	All  bool      `query:"all"`
	// Kind keeps one subject kind; "" keeps all.
	Kind decision.SubjectKind `query:"kind"`
	// Limit caps the answer; <= 0 asks for as many as the reader gives.
	Limit int `query:"limit"`
}

// LabelHistoryQuery asks for one subject's label and ledger entries.
type LabelHistoryQuery struct {
	Kind    decision.SubjectKind `query:"kind,required"`
	Subject string               `query:"subject,required"`
}

// SubjectLabels is a subject's label in force (nil: none) and its ledger
// entries, oldest first.
type SubjectLabels struct {
	Current *decision.LabelEntry  `json:"current"`
	Entries []decision.LabelEntry `json:"entries"`
}

// LabelStatsQuery asks for the counts of the labels in force as of AsOf
// (zero: now).
type LabelStatsQuery struct {
	AsOf time.Time `query:"as_of"`
}

// LabelWhatIfQuery asks what thresholds would do to labelled decisions.
type LabelWhatIfQuery struct {
	Thresholds decision.Thresholds `query:",inline,required"`
	From       time.Time           `query:"from"`
	To         time.Time           `query:"to"`
	Filter     string              `query:"filter"`
	// AsOf reads the labels recorded before it (zero: all).
	AsOf time.Time `query:"as_of"`
	// Mature leaves out decisions younger than it: labels of recent
	// events have not arrived yet (chargebacks take weeks).
	Mature time.Duration `query:"mature"`
}

// ErrWriteFederated is the answer of a write to a federation.
var ErrWriteFederated = Invalid(errors.New("labels are written to one collector, not to several read as one: " +
	"connect to the collector that holds the subject (--connect URL)"))

// mergeLabelLists concatenates the members' labels, oldest recorded first,
// up to the limit.
func mergeLabelLists(q LabelsQuery, parts []part[[]decision.LabelEntry]) ([]decision.LabelEntry, error) {
	var out []decision.LabelEntry
	for _, p := range parts {
		out = append(out, p.v...)
	}
	slices.SortStableFunc(out, decision.CompareLabels)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// mergeSubjectLabels merges a subject's entries; the label in force is the
// latest entry of any member unless it is a retract.
func mergeSubjectLabels(_ LabelHistoryQuery, parts []part[SubjectLabels]) (SubjectLabels, error) {
	var out SubjectLabels
	for _, p := range parts {
		out.Entries = append(out.Entries, p.v.Entries...)
	}
	slices.SortStableFunc(out.Entries, decision.CompareLabels)
	if n := len(out.Entries); n > 0 && out.Entries[n-1].Class != decision.LabelRetract {
		e := out.Entries[n-1]
		out.Current = &e
	}
	return out, nil
}

// mergeLabelStats adds the members' counts.
func mergeLabelStats(_ LabelStatsQuery, parts []part[decision.LabelStats]) (decision.LabelStats, error) {
	out := decision.LabelStats{InForce: map[decision.LabelClass]map[decision.SubjectKind]uint64{}}
	for _, p := range parts {
		out.Entries += p.v.Entries
		for c, m := range p.v.InForce {
			if out.InForce[c] == nil {
				out.InForce[c] = map[decision.SubjectKind]uint64{}
			}
			for k, n := range m {
				out.InForce[c][k] += n
			}
		}
	}
	return out, nil
}

// mergeLabelWhatIfs adds the members' counts; the report is derived from
// the sum.
func mergeLabelWhatIfs(q LabelWhatIfQuery, parts []part[decision.LabelWhatIf]) (decision.LabelWhatIf, error) {
	out := decision.LabelWhatIf{Thresholds: q.Thresholds, From: q.From, To: q.To, AsOf: q.AsOf, ByType: map[string]*decision.LabelHist{}}
	first := true
	for _, p := range parts {
		if p.err != nil {
			continue
		}
		if first {
			out.From, out.To = p.v.From, p.v.To
			first = false
		}
		out.Merge(&p.v)
	}
	return out, nil
}

// Remote's label methods, each one op of the table.

// Label asks POST /v1/labels.
func (r *Remote) Label(ctx context.Context, w LabelWrite) (LabelResult, error) {
	return call(ctx, r, opLabel, w)
}

// Labels asks GET /v1/labels.
func (r *Remote) Labels(ctx context.Context, q LabelsQuery) ([]decision.LabelEntry, error) {
	return call(ctx, r, opLabels, q)
}

// LabelHistory asks GET /v1/labels/history.
func (r *Remote) LabelHistory(ctx context.Context, q LabelHistoryQuery) (SubjectLabels, error) {
	return call(ctx, r, opLabelHistory, q)
}

// LabelStats asks GET /v1/labels/stats.
func (r *Remote) LabelStats(ctx context.Context, q LabelStatsQuery) (decision.LabelStats, error) {
	return call(ctx, r, opLabelStats, q)
}

// LabelWhatIf asks GET /v1/whatif/labels.
func (r *Remote) LabelWhatIf(ctx context.Context, q LabelWhatIfQuery) (decision.LabelWhatIf, error) {
	return call(ctx, r, opLabelWhatIf, q)
}

// Federation's label methods.

// Label refuses: a label is written to the one collector that holds its
// subject, and a federation cannot make a write to several collectors
// all or nothing. The answer wraps ErrInvalid and says what to do.
func (f *Federation) Label(context.Context, LabelWrite) (LabelResult, error) {
	return LabelResult{}, ErrWriteFederated
}

// Labels merges the members' labels, oldest recorded first.
func (f *Federation) Labels(ctx context.Context, q LabelsQuery) ([]decision.LabelEntry, error) {
	return fan(ctx, f, opLabels, q)
}

// LabelHistory merges a subject's entries of every member.
func (f *Federation) LabelHistory(ctx context.Context, q LabelHistoryQuery) (SubjectLabels, error) {
	return fan(ctx, f, opLabelHistory, q)
}

// LabelStats adds the members' counts.
func (f *Federation) LabelStats(ctx context.Context, q LabelStatsQuery) (decision.LabelStats, error) {
	return fan(ctx, f, opLabelStats, q)
}

// LabelWhatIf adds the members' counts.
func (f *Federation) LabelWhatIf(ctx context.Context, q LabelWhatIfQuery) (decision.LabelWhatIf, error) {
	return fan(ctx, f, opLabelWhatIf, q)
}
