package collector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// Shadow runs a policy file in shadow (SPEC section 12): every new
// decision is evaluated before it is stored, and its ShadowAction and
// ShadowRule are stored with it. Velocity comes from a LiveVelocity: the
// recent decisions in memory, filled from the store when the policy is
// loaded and fed each decision as it is evaluated (an event once, by its
// event_id). Error decisions count in velocity, as in replay. Reload
// reads the file again; a file that does not compile keeps the previous
// policy. It is safe for concurrent use: evaluations take turns.
//
// What a live decision cannot see: each commit group is evaluated in
// event-time order, groups in the order they commit, so a decision counts
// exactly the decisions evaluated before it with an earlier event time
// (stored before, or earlier in its own group). A replay counts every
// stored decision with an earlier event time. The two differ only for a
// decision d reached by a latecomer: a decision x with an earlier event
// time, in d's window and with d's key value for one of its queries, that
// is evaluated after d because it was scored in a later group (concurrent
// workers finishing out of order across a group's edge, or an event that
// arrived late). Then each of d's answers is lower than replay's by at
// most the number of its latecomers, and d's action may differ. With one
// worker and events arriving in event-time order there are none, and the
// shadow equals replay (TestShadowDiffersFromReplayOnlyByLatecomers,
// TestShadowIsStoredAndAgreesWithReplay).
type Shadow struct {
	path   string
	db     *store.DB
	logger *slog.Logger
	now    func() time.Time
	max    int // the live velocity's bound (0: none)

	mu    sync.Mutex
	p     *policy.Policy
	text  string // the file's text p was parsed from
	state api.ShadowHealth
	live  *LiveVelocity // p's velocity
	ev    *policy.Evaluator
}

// fillTimeout bounds reading the recent decisions into memory when a
// policy is loaded.
const fillTimeout = time.Minute

// prepare makes the live velocity and evaluator of p.
func (s *Shadow) prepare(p *policy.Policy, now time.Time) (*LiveVelocity, *policy.Evaluator, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fillTimeout)
	defer cancel()
	live, err := NewLiveVelocity(ctx, s.db, p, now, s.max)
	if err != nil {
		return nil, nil, fmt.Errorf("policy %s: %w", p.Name(), err)
	}
	return live, p.NewEvaluator(live), nil
}

// load reads and parses the file.
func load(path string) (*policy.Policy, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, policy.MaxFileSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("policy: read %s: %w", path, err)
	}
	p, err := policy.Parse(path, text)
	return p, string(text), err
}

// ShadowOptions configures a Shadow. Zero values take the defaults noted.
type ShadowOptions struct {
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default time.Now
	// MaxLive bounds the live velocity's memory, in entries: one per
	// recent decision and key a query groups by (up to 6 per decision
	// for the 10-rule test policy), 55-90 bytes each with the strings
	// they keep (policy.BenchmarkWindowMemory: fewer with values that
	// repeat, more with values seen once), besides about 28 bytes of event
	// ID per decision (default DefaultMaxLive, negative: no bound). Past it the oldest are
	// forgotten and the queries whose windows reach back to them are
	// answered from the store's indexes: the same answers, at the cost of
	// index reads per decision.
	MaxLive int
}

// DefaultMaxLive is the default ShadowOptions.MaxLive, the configuration's
// ([policy] max_live_entries). At 6 entries a decision it holds about 700k
// decisions, 12 minutes at 1k decisions a second: a policy with hour-long
// windows on a busy collector answers those from the store.
const DefaultMaxLive = config.DefaultMaxLiveEntries

// LoadShadow loads the shadow policy at path with the default options but
// logger and now (nil: time.Now).
func LoadShadow(path string, db *store.DB, logger *slog.Logger, now func() time.Time) (*Shadow, error) {
	return NewShadow(path, db, ShadowOptions{Logger: logger, Now: now})
}

// NewShadow loads the shadow policy at path; a file that does not load is
// an error (there is no previous policy to keep).
func NewShadow(path string, db *store.DB, o ShadowOptions) (*Shadow, error) {
	p, text, err := load(path)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.MaxLive == 0:
		o.MaxLive = DefaultMaxLive
	case o.MaxLive < 0:
		o.MaxLive = 0
	}
	now := o.Now
	s := &Shadow{path: path, db: db, logger: o.Logger, now: now, max: o.MaxLive, p: p, text: text}
	if s.live, s.ev, err = s.prepare(p, now()); err != nil {
		return nil, err
	}
	s.state = api.ShadowHealth{File: path, Rules: len(p.Rules()), LoadedAt: now()}
	return s, nil
}

// Reload reads the file again. On success the new policy applies to every
// decision stored from then on; on failure the previous one stays, and
// the error is logged and kept for Health.
func (s *Shadow) Reload() error {
	_, _, err := s.reload()
	return err
}

// reload is Reload that also returns the state and text of the policy in
// force after the attempt, read under the lock of the switch, so that a
// concurrent reload cannot mix its answer with this one's.
func (s *Shadow) reload() (api.ShadowHealth, string, error) {
	p, text, err := load(s.path)
	s.mu.Lock()
	defer s.mu.Unlock()
	var live *LiveVelocity
	var ev *policy.Evaluator
	if err == nil {
		// Under the lock: no decision is evaluated between the fill and
		// the switch. (A group evaluated before and still being committed
		// during the fill is missed by the new policy's velocity.)
		live, ev, err = s.prepare(p, s.now())
	}
	if err != nil {
		s.state.Error, s.state.ErrorAt = err.Error(), s.now()
		s.logger.Error("shadow policy not reloaded; the previous one stays", "file", s.path, "err", err)
		return s.state, s.text, err
	}
	s.p, s.text, s.live, s.ev = p, text, live, ev
	s.state = api.ShadowHealth{File: s.path, Rules: len(p.Rules()), LoadedAt: s.now()}
	s.logger.Info("shadow policy reloaded", "file", s.path, "rules", len(p.Rules()))
	return s.state, s.text, nil
}

// Text returns the file's name and the text of the policy in force.
func (s *Shadow) Text() (name, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path, s.text
}

// Health returns the shadow policy's state.
func (s *Shadow) Health() *api.ShadowHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.state
	return &h
}

// Apply sets the shadow action and rule of each result's decision. A
// decision whose action is error has nothing to judge and gets none (it
// still counts in velocity); one whose evaluation fails (the store cannot
// be read) gets none and is logged.
func (s *Shadow) Apply(ctx context.Context, results []store.Result) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live.Begin(ctx)
	// In event-time order, as replay evaluates: concurrent scoring
	// completes a group out of order, and memory answers a late decision
	// by a search where an ordered one reads running counts.
	at := make([]decision.Decision, len(results))
	order := make([]int, len(results))
	for i := range results {
		at[i], order[i] = results[i].Decision, i
		if at[i].EventTime.IsZero() {
			at[i].EventTime = at[i].ReceivedAt
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return at[a].EventTime.Compare(at[b].EventTime) })
	for _, i := range order {
		d := &results[i].Decision
		if d.Action != decision.ActionError {
			res, err := s.ev.Decide(&at[i])
			if err != nil {
				s.logger.Error("shadow policy: evaluation failed", "event_id", d.EventID, "err", err)
			} else {
				d.ShadowAction, d.ShadowRule = res.Action, res.Rule
			}
		}
		if err := s.live.Add(&at[i]); err != nil {
			s.logger.Error("shadow policy: velocity", "event_id", d.EventID, "err", err)
		}
	}
}

// groupVelocity is the store's velocity plus the decisions of the commit
// group evaluated before (not stored yet).
type groupVelocity struct {
	store *StoreVelocity
	group []*decision.Decision
}

func (g *groupVelocity) Answer(q policy.Query, d *decision.Decision) (int, error) {
	value := q.Key.Value(d)
	if value == "" {
		return 0, nil
	}
	seen := map[string]struct{}{}
	n, err := g.store.tally(q, d, seen)
	if err != nil {
		return 0, err
	}
	from := d.EventTime.Add(-q.Window)
	for _, x := range g.group {
		t := x.EventTime
		if t.IsZero() {
			t = x.ReceivedAt
		}
		if t.Before(from) || !t.Before(d.EventTime) || q.Key.Value(x) != value {
			continue
		}
		n++
		if o := q.Of.Value(x); o != "" {
			seen[o] = struct{}{}
		}
	}
	if q.Distinct() {
		return len(seen), nil
	}
	return n, nil
}
