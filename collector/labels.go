package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// The labels side of the Reader (SPEC section 12): the write of
// POST /v1/labels, the label reads, the what-if with labels, and the label
// every decision the Reader returns carries.

// labeller sets the labels of what a query returned.
type labeller struct {
	r    *Reader
	ctx  context.Context
	asOf time.Time
}

// labelled returns the labeller of a query asked with ctx.
func (r *Reader) labelled(ctx context.Context) labeller { return labeller{r: r, ctx: ctx} }

// labelledAsOf is labelled with the labels in force as of asOf (zero:
// now).
func (r *Reader) labelledAsOf(ctx context.Context, asOf time.Time) labeller {
	return labeller{r: r, ctx: ctx, asOf: asOf}
}

// of sets the label in force of each decision in ds and returns ds, or
// returns err (with its api kind).
func (l labeller) of(ds []decision.Decision, err error) ([]decision.Decision, error) {
	if err != nil || len(ds) == 0 {
		return ds, kinded(err)
	}
	book, err := l.r.db.LabelBook(l.ctx, l.asOf)
	if err != nil {
		return nil, kinded(err)
	}
	if book.Len() > 0 {
		book.Apply(ds)
	}
	return ds, nil
}

// links sets each linked user's Label to the user's current label (the
// user subject's, "" when none) and returns ls, or returns err (with its
// api kind).
func (l labeller) links(ls decision.Links, err error) (decision.Links, error) {
	if err != nil {
		return ls, kinded(err)
	}
	book, err := l.r.db.LabelBook(l.ctx, time.Time{})
	if err != nil {
		return decision.Links{}, kinded(err)
	}
	if book.Len() == 0 {
		return ls, nil
	}
	for i := range ls.Links {
		us := ls.Links[i].Users
		for j := range us {
			us[j].Label = ""
			if e, ok := book.Subject(decision.SubjectUser, us[j].UserID); ok {
				us[j].Label = string(e.Class)
			}
		}
	}
	return ls, nil
}

// Label records labels (see api.LabelWrite): each is checked, matched
// against the stored decisions when asked, and all are recorded in one
// transaction, or none when one was refused without w.Partial.
func (r *Reader) Label(ctx context.Context, w api.LabelWrite) (api.LabelResult, error) {
	res := api.LabelResult{Recorded: []decision.LabelEntry{}, DryRun: w.DryRun}
	if len(w.Labels) == 0 {
		return res, api.Invalid(errors.New("labels: no label to record"))
	}
	var ok []decision.LabelEntry
	for i, in := range w.Labels {
		e := in.Entry()
		if err := e.Check(); err != nil {
			res.Problems = append(res.Problems, api.LabelProblem{Index: i, Error: err.Error()})
			continue
		}
		if w.RequireMatch && e.Class != decision.LabelRetract {
			known, err := r.db.SubjectKnown(ctx, e.Kind, e.Subject)
			if err != nil {
				return api.LabelResult{}, kinded(err)
			}
			if !known {
				res.Unmatched++
				res.Problems = append(res.Problems, api.LabelProblem{Index: i, Unmatched: true,
					Error: fmt.Sprintf("no stored decision has %s %q", e.Kind, e.Subject)})
				continue
			}
		}
		ok = append(ok, e)
	}
	if w.DryRun || (len(res.Problems) > 0 && !w.Partial) || len(ok) == 0 {
		return res, nil
	}
	rec, err := r.db.AppendLabels(ctx, ok)
	if errors.Is(err, store.ErrReadOnly) {
		return api.LabelResult{}, api.Invalid(fmt.Errorf("labels: %w: this reader opened the database read-only; label through the collector that holds it (--connect)", err))
	}
	if err != nil {
		return api.LabelResult{}, kinded(err)
	}
	res.Recorded = rec
	return res, nil
}

// Labels lists the labels in force, or the whole ledger.
func (r *Reader) Labels(ctx context.Context, q api.LabelsQuery) ([]decision.LabelEntry, error) {
	if q.Kind != "" {
		if _, err := decision.ParseSubjectKind(string(q.Kind)); err != nil {
			return nil, api.Invalid(fmt.Errorf("kind: %w", err))
		}
	}
	keep := func(e decision.LabelEntry) bool { return q.Kind == "" || e.Kind == q.Kind }
	out := []decision.LabelEntry{}
	if q.All {
		all, err := r.db.LabelEntries(ctx)
		if err != nil {
			return nil, kinded(err)
		}
		for _, e := range all {
			if keep(e) && (q.AsOf.IsZero() || e.RecordedAt.Before(q.AsOf)) {
				out = append(out, e)
			}
		}
	} else {
		book, err := r.db.LabelBook(ctx, q.AsOf)
		if err != nil {
			return nil, kinded(err)
		}
		book.Each(func(e decision.LabelEntry) bool {
			if keep(e) {
				out = append(out, e)
			}
			return true
		})
		slices.SortFunc(out, decision.CompareLabels)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// LabelHistory returns a subject's label in force and its entries.
func (r *Reader) LabelHistory(ctx context.Context, q api.LabelHistoryQuery) (api.SubjectLabels, error) {
	if _, err := decision.ParseSubjectKind(string(q.Kind)); err != nil {
		return api.SubjectLabels{}, api.Invalid(fmt.Errorf("kind: %w", err))
	}
	es, err := r.db.LabelHistory(ctx, q.Kind, q.Subject)
	if err != nil {
		return api.SubjectLabels{}, kinded(err)
	}
	out := api.SubjectLabels{Entries: es}
	if out.Entries == nil {
		out.Entries = []decision.LabelEntry{}
	}
	if n := len(es); n > 0 && es[n-1].Class != decision.LabelRetract {
		e := es[n-1]
		out.Current = &e
	}
	return out, nil
}

// LabelStats counts the labels in force.
func (r *Reader) LabelStats(ctx context.Context, q api.LabelStatsQuery) (decision.LabelStats, error) {
	book, err := r.db.LabelBook(ctx, q.AsOf)
	if err != nil {
		return decision.LabelStats{}, kinded(err)
	}
	all, err := r.db.LabelEntries(ctx)
	if err != nil {
		return decision.LabelStats{}, kinded(err)
	}
	n := 0
	for _, e := range all {
		if q.AsOf.IsZero() || e.RecordedAt.Before(q.AsOf) {
			n++
		}
	}
	return book.StatsOf(uint64(n)), nil
}

// matureMinute rounds the --mature cutoff down to the minute, so that
// repeated asks share the store's cached counts.
const matureMinute = time.Minute

// LabelWhatIf counts the window's decisions by label, score bucket and
// action.
func (r *Reader) LabelWhatIf(ctx context.Context, q api.LabelWhatIfQuery) (decision.LabelWhatIf, error) {
	if err := checkScore(q.Thresholds.Score); err != nil {
		return decision.LabelWhatIf{}, err
	}
	if q.Mature < 0 {
		return decision.LabelWhatIf{}, api.Invalid(errors.New("mature: want a positive duration"))
	}
	f, err := r.filter(q.Filter)
	if err != nil {
		return decision.LabelWhatIf{}, err
	}
	to := q.To
	if q.Mature > 0 {
		cut := r.now().Add(-q.Mature).Truncate(matureMinute)
		if to.IsZero() || cut.Before(to) {
			to = cut
		}
	}
	w, err := r.db.LabelWhatIf(ctx, store.LabelWhatIfQuery{Thresholds: q.Thresholds, From: q.From, To: to,
		Filter: f, FilterText: q.Filter, AsOf: q.AsOf})
	return w, kinded(err)
}

// labelBatches forwards the batches of in with the labels in force set on
// copies of their decisions (batches are shared by every subscriber). The
// goroutine ends when in closes, which the hub does when ctx ends.
func (r *Reader) labelBatches(ctx context.Context, in <-chan api.Batch) <-chan api.Batch {
	out := make(chan api.Batch)
	go func() {
		defer close(out)
		for b := range in {
			if book, err := r.db.LabelBook(ctx, time.Time{}); err == nil && book.Len() > 0 {
				b.Decisions = slices.Clone(b.Decisions)
				book.Apply(b.Decisions)
			}
			select {
			case out <- b:
			case <-ctx.Done():
				for range in {
				}
				return
			}
		}
	}()
	return out
}
