package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// How the answers of several collectors combine, one function per kind of
// result; each takes the members' parts in member order, skips the failed
// ones and is called only when at least one member answered.

// answers returns the values of the members that answered.
func answers[R any](parts []part[R]) []R {
	var out []R
	for _, p := range parts {
		if p.err == nil {
			out = append(out, p.v)
		}
	}
	return out
}

// listKey is the time a list is ordered by.
type listKey func(d *decision.Decision) time.Time

func byArrival(d *decision.Decision) time.Time   { return d.Time }
func byEventTime(d *decision.Decision) time.Time { return d.EventTime }

// precedes reports whether a comes before b in a list ordered by key (then
// ID), newest first when desc.
func precedes(a, b *decision.Decision, key listKey, desc bool) bool {
	c := key(a).Compare(key(b))
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if desc {
		return c > 0
	}
	return c < 0
}

// mergeLists merges the members' lists, each in the order key (then ID)
// gives, newest first when desc, and keeps the first n (all when n <= 0).
// It takes the head of one list at a time, so every list's own order is
// kept even where the key does not quite follow it.
func mergeLists(parts []part[[]decision.Decision], n int, key listKey, desc bool) []decision.Decision {
	lists := answers(parts)
	heads := make([]int, len(lists))
	var out []decision.Decision
	for n <= 0 || len(out) < n {
		best := -1
		for i, l := range lists {
			if heads[i] < len(l) && (best < 0 || precedes(&l[heads[i]], &lists[best][heads[best]], key, desc)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, lists[best][heads[best]])
		heads[best]++
	}
	return out
}

// firstFound is the first member's answer (members that do not have the
// decision answered ErrNotFound).
func firstFound(_ decisionQuery, parts []part[decision.Decision]) (decision.Decision, error) {
	return answers(parts)[0], nil
}

// mergeRates adds the counts of each minute; the answer covers every
// minute from the first to the last any member gave.
func mergeRates(_ RatesQuery, parts []part[[]decision.MinuteCounts]) ([]decision.MinuteCounts, error) {
	by := map[time.Time]*[decision.NumActions]uint64{}
	var first, last time.Time
	for _, ms := range answers(parts) {
		for _, m := range ms {
			t := m.Minute.UTC()
			c := by[t]
			if c == nil {
				c = new([decision.NumActions]uint64)
				by[t] = c
			}
			for a, n := range m.ByAction {
				c[a] += n
			}
			if first.IsZero() || t.Before(first) {
				first = t
			}
			last = later(last, t)
		}
	}
	if len(by) == 0 {
		return nil, nil
	}
	var out []decision.MinuteCounts
	for t := first; !t.After(last); t = t.Add(time.Minute) {
		m := decision.MinuteCounts{Minute: t}
		if c := by[t]; c != nil {
			m.ByAction = *c
		}
		out = append(out, m)
	}
	return out, nil
}

// mergeTotals adds the totals; First is the earliest, Last the latest.
func mergeTotals(_ StatsQuery, parts []part[decision.Totals]) (decision.Totals, error) {
	out := decision.Totals{ByAction: map[decision.Action]uint64{}, ByType: map[string]uint64{}}
	for _, t := range answers(parts) {
		out.Decisions += t.Decisions
		for a, n := range t.ByAction {
			out.ByAction[a] += n
		}
		for ty, n := range t.ByType {
			out.ByType[ty] += n
		}
		out.Rejected += t.Rejected
		out.Inbox += t.Inbox
		if !t.First.IsZero() && (out.First.IsZero() || t.First.Before(out.First)) {
			out.First = t.First
		}
		out.Last = later(out.Last, t.Last)
	}
	return out, nil
}

// mergeHistograms adds the counts; the window is the first answer's (every
// member aligns the same query the same way).
func mergeHistograms(_ HistogramQuery, parts []part[decision.Histogram]) (decision.Histogram, error) {
	hs := answers(parts)
	out := decision.Histogram{Score: hs[0].Score, From: hs[0].From, To: hs[0].To}
	for _, h := range hs {
		for b := range h.Counts {
			for a, n := range h.Counts[b] {
				out.Counts[b][a] += n
			}
		}
		out.Total += h.Total
	}
	return out, nil
}

// mergeWhatIfs adds the matrices, overall and per type.
func mergeWhatIfs(_ WhatIfQuery, parts []part[decision.WhatIf]) (decision.WhatIf, error) {
	ws := answers(parts)
	out := decision.WhatIf{Thresholds: ws[0].Thresholds, From: ws[0].From, To: ws[0].To,
		ByType: map[string]*[decision.NumActions][3]uint64{}}
	add := func(dst, src *[decision.NumActions][3]uint64) {
		for a := range src {
			for s, n := range src[a] {
				dst[a][s] += n
			}
		}
	}
	for _, w := range ws {
		add(&out.Matrix, &w.Matrix)
		for ty, m := range w.ByType {
			if out.ByType[ty] == nil {
				out.ByType[ty] = new([decision.NumActions][3]uint64)
			}
			add(out.ByType[ty], m)
		}
		out.Errors += w.Errors
	}
	return out, nil
}

// Ranks of the pipeline and breaker states: the federation shows the
// worst.
var (
	pipelineRank = map[string]int{PipelineRunning: 0, PipelinePaused: 1, PipelineStalled: 2, PipelineStopped: 3}
	breakerRank  = map[string]int{BreakerClosed: 0, BreakerHalfOpen: 1, BreakerOpen: 2}
)

// mergeHealth sums the members' counters, shows the worst pipeline and
// breaker state, and lists each member's own health, or its error, in
// Members. Sources are named after their member. Latencies are the
// highest member's (percentiles do not add).
func mergeHealth(_ healthQuery, parts []part[Health]) (Health, error) {
	out := Health{Errors: map[string]uint64{}, StatusCodes: map[int]uint64{}, SafeeReachable: true}
	var modes, urls, reasons, storeErrs []string
	first := true
	for _, p := range parts {
		mh := MemberHealth{Name: p.member}
		if p.err != nil {
			mh.Error = memberError(p.member, p.err).Error()
			out.Members = append(out.Members, mh)
			continue
		}
		h := p.v
		mh.Health = &h
		out.Members = append(out.Members, mh)
		if !slices.Contains(modes, h.Mode) {
			modes = append(modes, h.Mode)
		}
		if h.SafeeURL != "" && !slices.Contains(urls, h.SafeeURL) {
			urls = append(urls, h.SafeeURL)
		}
		for _, s := range h.Sources {
			s.Name = p.member + " " + s.Name
			out.Sources = append(out.Sources, s)
		}
		if out.Shadow == nil && h.Shadow != nil {
			// The first member's shadow policy stands for all (each
			// member's is in Members).
			out.Shadow = h.Shadow
		}
		if first || pipelineRank[h.Pipeline] > pipelineRank[out.Pipeline] {
			out.Pipeline = h.Pipeline
		}
		if h.PauseReason != "" {
			reasons = append(reasons, p.member+": "+h.PauseReason)
		}
		if h.StoreError != "" {
			storeErrs = append(storeErrs, p.member+": "+h.StoreError)
		}
		if first || breakerRank[h.Breaker] > breakerRank[out.Breaker] {
			out.Breaker = h.Breaker
		}
		first = false
		out.Inbox += h.Inbox
		out.InFlight += h.InFlight
		out.Retries += h.Retries
		out.Redactions += h.Redactions
		out.CommitFailures += h.CommitFailures
		for k, n := range h.Errors {
			out.Errors[k] += n
		}
		out.SafeeReachable = out.SafeeReachable && h.SafeeReachable
		for k, n := range h.StatusCodes {
			out.StatusCodes[k] += n
		}
		out.LatencyP50 = max(out.LatencyP50, h.LatencyP50)
		out.LatencyP99 = max(out.LatencyP99, h.LatencyP99)
		out.StoreSize += h.StoreSize
		out.Decisions += h.Decisions
		out.Rejected += h.Rejected
		for _, r := range h.Rejects {
			r.Source = p.member + " " + r.Source
			out.Rejects = append(out.Rejects, r)
		}
		out.LastEvent = later(out.LastEvent, h.LastEvent)
	}
	// The newest rejects of all, as many as one member reports at most.
	most := 0
	for _, p := range parts {
		most = max(most, len(p.v.Rejects))
	}
	slices.SortStableFunc(out.Rejects, func(a, b Reject) int { return b.Time.Compare(a.Time) })
	out.Rejects = out.Rejects[:min(len(out.Rejects), most)]
	for _, p := range parts {
		for _, n := range p.v.Notifiers {
			n.Target = p.member + " " + n.Target
			out.Notifiers = append(out.Notifiers, n)
		}
		if p.v.AlertError != "" {
			out.AlertError = strings.TrimPrefix(out.AlertError+"; "+p.member+": "+p.v.AlertError, "; ")
		}
	}
	out.Mode = strings.Join(modes, "+")
	out.SafeeURL = strings.Join(urls, ", ")
	out.PauseReason = strings.Join(reasons, "; ")
	out.StoreError = strings.Join(storeErrs, "; ")
	return out, nil
}

// mergeAlerts lists every member's alerts in member order, each named by
// its member, and the newest transitions of all, newest first, as many as
// asked; a member that failed is named in Error.
func mergeAlerts(q AlertsQuery, parts []part[Alerts]) (Alerts, error) {
	out := Alerts{Alerts: []AlertStatus{}, History: []AlertEvent{}}
	var errs []string
	for _, p := range parts {
		if p.err != nil {
			errs = append(errs, memberError(p.member, p.err).Error())
			continue
		}
		for _, a := range p.v.Alerts {
			a.Collector = p.member
			out.Alerts = append(out.Alerts, a)
		}
		for _, e := range p.v.History {
			e.Collector = p.member
			out.History = append(out.History, e)
		}
		if p.v.Error != "" {
			errs = append(errs, p.member+": "+p.v.Error)
		}
	}
	slices.SortStableFunc(out.History, func(a, b AlertEvent) int { return b.At.Compare(a.At) })
	out.History = out.History[:min(len(out.History), q.History)]
	out.Error = strings.Join(errs, "; ")
	return out, nil
}

// mergeBacktests lists every member's rules in member order, each named by
// its member: a rule's firings over one collector's traffic say nothing of
// another's. A member that failed is left out (Federation.Members says so).
func mergeBacktests(_ BacktestQuery, parts []part[Backtest]) (Backtest, error) {
	out := Backtest{Alerts: []BacktestAlert{}}
	for _, p := range parts {
		for _, a := range p.v.Alerts {
			a.Collector = p.member
			out.Alerts = append(out.Alerts, a)
		}
	}
	return out, nil
}

// defaultPage is the page size of a Range without a limit, as the store's.
const defaultPage = 1000

// rangePos is a federated Range's position in one member.
type rangePos struct {
	// Cursor is the member's cursor of the page read last ("" its first).
	Cursor string `json:"c,omitempty"`
	// Skip is how many decisions of that page were already given.
	Skip int `json:"s,omitempty"`
	// Done: the member has nothing more (or failed and is left out).
	Done bool `json:"d,omitempty"`
}

// rangeCursorPrefix marks a federated Range's cursor.
const rangeCursorPrefix = "fed1."

func encodeRangeCursor(pos []rangePos) string {
	b, _ := json.Marshal(pos) // a slice of plain structs always encodes
	return rangeCursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeRangeCursor(s string, members int) ([]rangePos, error) {
	if s == "" {
		return make([]rangePos, members), nil
	}
	var pos []rangePos
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, rangeCursorPrefix))
	if err == nil {
		err = json.Unmarshal(b, &pos)
	}
	if err != nil || !strings.HasPrefix(s, rangeCursorPrefix) || len(pos) != members {
		return nil, Invalid(fmt.Errorf("cursor: not a cursor of this federation of %d collectors", members))
	}
	return pos, nil
}

// federateRange answers a Range over f: each member is asked from its own
// position for one page beyond what it already gave, the pages merge in
// event-time order (then ID; newest first when Reverse), and the cursor
// records where each member stands. A member that fails is left out of
// the rest of the paging (the answer is partial; Members says so). When a
// member's data moves under its cursor (decisions removed by retention),
// its skip count may give or skip a decision at the page boundary.
func federateRange(ctx context.Context, f *Federation, q RangeQuery) (Page, error) {
	pos, err := decodeRangeCursor(q.Cursor, len(f.members))
	if err != nil {
		return Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPage
	}
	parts := each(ctx, f, func(ctx context.Context, i int, r Reader) (Page, error) {
		if pos[i].Done {
			return Page{}, nil
		}
		mq := q
		mq.Cursor, mq.Limit = pos[i].Cursor, pos[i].Skip+limit
		p, err := r.Range(ctx, mq)
		p.Decisions = p.Decisions[min(pos[i].Skip, len(p.Decisions)):]
		return p, err
	})
	if err := settle(ctx, f, parts); err != nil {
		return Page{}, err
	}
	heads := make([]int, len(parts))
	var out []decision.Decision
	for len(out) < limit {
		best := -1
		for i, p := range parts {
			if p.err == nil && heads[i] < len(p.v.Decisions) &&
				(best < 0 || precedes(&p.v.Decisions[heads[i]], &parts[best].v.Decisions[heads[best]], byEventTime, q.Reverse)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, parts[best].v.Decisions[heads[best]])
		heads[best]++
	}
	next, more := make([]rangePos, len(parts)), false
	for i, p := range parts {
		switch {
		case p.err != nil, pos[i].Done:
			next[i] = rangePos{Done: true}
		case heads[i] < len(p.v.Decisions):
			next[i], more = rangePos{Cursor: pos[i].Cursor, Skip: pos[i].Skip + heads[i]}, true
		case p.v.Next != "":
			next[i], more = rangePos{Cursor: p.v.Next}, true
		default:
			next[i] = rangePos{Done: true}
		}
	}
	page := Page{Decisions: out}
	if more {
		page.Next = encodeRangeCursor(next)
	}
	return page, nil
}

// mergeLinks combines the members' links value by value. A user linked on
// several members is listed once, its events and denies added and its
// max risk the highest; a value becomes a supernode when the distinct users
// merged exceed q.Cap. A value that is a supernode on some member cannot be
// counted exactly across members: its count is then the largest that any
// member or the merged lists give, a lower bound (CountAtLeast). A value
// shared with q.User on any member is a depth-1 link (no Via).
func mergeLinks(q LinksQuery, parts []part[decision.Links]) (decision.Links, error) {
	type acc struct {
		l      decision.Link
		users  map[string]int // index in l.Users
		super  bool
		parts  int
		counts int // the largest supernode count of a member
	}
	var order []*acc
	by := map[[2]string]*acc{}
	for _, ls := range answers(parts) {
		for _, l := range ls.Links {
			key := [2]string{l.Kind.String(), l.Value}
			a := by[key]
			if a == nil {
				a = &acc{l: decision.Link{Kind: l.Kind, Value: l.Value, Via: l.Via, Users: []decision.LinkedUser{}}, users: map[string]int{}}
				by[key] = a
				order = append(order, a)
			}
			a.parts++
			if l.Via == "" {
				a.l.Via = ""
			}
			a.l.CountAtLeast = a.l.CountAtLeast || l.CountAtLeast
			if l.Supernode {
				a.super = true
				a.counts = max(a.counts, l.Count)
				continue
			}
			for _, u := range l.Users {
				i, ok := a.users[u.UserID]
				if !ok {
					a.users[u.UserID] = len(a.l.Users)
					a.l.Users = append(a.l.Users, u)
					continue
				}
				m := &a.l.Users[i]
				m.Events += u.Events
				m.Denies += u.Denies
				m.MaxRisk = max(m.MaxRisk, u.MaxRisk)
				m.Label = cmp.Or(m.Label, u.Label)
			}
		}
	}
	out := decision.Links{User: q.User, Links: make([]decision.Link, 0, len(order))}
	for _, a := range order {
		l := a.l
		l.Count = max(a.counts, len(l.Users))
		switch {
		case a.super:
			l.Supernode, l.Users = true, []decision.LinkedUser{}
			l.CountAtLeast = l.CountAtLeast || a.parts > 1
		case l.Count > cmp.Or(q.Cap, decision.DefaultLinkCap):
			l.Supernode, l.Users = true, []decision.LinkedUser{}
		default:
			decision.SortLinkedUsers(l.Users)
		}
		out.Links = append(out.Links, l)
	}
	slices.SortStableFunc(out.Links, func(a, b decision.Link) int {
		// Depth-1 links (no Via) first.
		return cmp.Or(strings.Compare(a.Via, b.Via), cmp.Compare(a.Kind, b.Kind), strings.Compare(a.Value, b.Value))
	})
	return out, nil
}
