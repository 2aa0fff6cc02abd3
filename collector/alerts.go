package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/store"
)

// AlertOptions tune the collector's alert evaluation; zero fields take the
// defaults.
type AlertOptions struct {
	// Every is how often the evaluator runs (default 10 s); it makes one
	// step per minute of event time however often it runs.
	Every time.Duration
	// Eval and Notify tune the evaluator and the notifiers.
	Eval   alert.EvalOptions
	Notify alert.NotifyOptions
}

// Bounds of the explanation attached to a firing: the decisions read of
// each side, newest first, and the drivers kept.
const (
	maxExplainSide = 5000
	alertDrivers   = 3
	// explainBudget bounds the time one firing's explanation may take.
	explainBudget = 5 * time.Second
	// defaultExplainBaseline is the baseline of a rule with a fixed band.
	defaultExplainBaseline = time.Hour
)

// alerter evaluates the collector's alert rules (SPEC section 13): it runs
// the evaluator on a ticker, stores each rule's state and transitions in
// the store (so that a restart neither forgets nor re-announces a firing),
// sets riskwatch_alert_firing, and hands each transition, with the top
// drivers of explain for its window, to the notifiers. It runs on its own
// goroutine and never blocks scoring: the notifiers queue, and the store
// write is one small transaction a minute.
type alerter struct {
	db      *store.DB
	rules   []alert.Rule
	eval    *alert.Evaluator
	ns      *alert.Notifiers
	metrics *Metrics
	logger  *slog.Logger
	now     func() time.Time
	every   time.Duration

	mu      sync.Mutex
	saved   map[string][]byte // the state last stored, by rule
	lastErr string
}

// storedState is what the store keeps of a rule: enough to show it without
// the rule (a read-only dashboard) and to resume its evaluation.
type storedState struct {
	Kind   string      `json:"kind"`
	Score  string      `json:"score,omitempty"`
	Filter string      `json:"filter"`
	State  alert.State `json:"state"`
}

// newAlerter restores the rules' stored states and builds the evaluator;
// the notifiers start in start.
func newAlerter(db *store.DB, rules []alert.Rule, o AlertOptions, m *Metrics, logger *slog.Logger, now func() time.Time) (*alerter, error) {
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	raw, err := db.AlertStates()
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	saved := map[string]alert.State{}
	for name, v := range raw {
		var st storedState
		if err := json.Unmarshal(v, &st); err != nil {
			logger.Warn("alert state unreadable; the rule starts afresh", "alert", name, "err", err)
			continue
		}
		saved[name] = st.State
	}
	settle := o.Eval.Settle
	if settle <= 0 {
		settle = alert.DefaultSettle
	}
	src := NewAlertSource(db, now, settle)
	src.Watch(rules)
	eval, err := alert.NewEvaluator(src, rules, saved, o.Eval)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	a := &alerter{db: db, rules: rules, eval: eval, metrics: m, logger: logger, now: now, every: o.Every, saved: raw}
	a.setGauge()
	return a, nil
}

// start starts the notifiers; it fails, starting none, when one cannot.
func (a *alerter) start(o AlertOptions) error {
	ns, err := alert.NewNotifiers(a.rules, o.Notify)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	a.ns = ns
	return nil
}

// run evaluates at once and then every a.every until ctx ends, then closes
// the notifiers, letting them deliver what they hold for a few seconds.
func (a *alerter) run(ctx context.Context) {
	t := time.NewTicker(a.every)
	defer t.Stop()
	for {
		a.step(ctx)
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.ns.Close(cctx); err != nil {
				a.logger.Warn("alert notifiers closed with notifications undelivered", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

// step makes one evaluation: new transitions are explained, stored with
// the changed states, then notified.
func (a *alerter) step(ctx context.Context) {
	evs, err := a.eval.Evaluate(ctx, a.now())
	if ctx.Err() != nil {
		return
	}
	a.setError(err)
	if err != nil {
		a.logger.Error("alert evaluation", "err", err)
	}
	records := make([]api.AlertEvent, len(evs))
	enc := make([][]byte, len(evs))
	for i := range evs {
		records[i] = a.record(ctx, &evs[i])
		if enc[i], err = json.Marshal(records[i]); err != nil {
			a.logger.Error("alert transition unencodable", "alert", evs[i].Alert, "err", err)
			return
		}
	}
	changed := map[string][]byte{}
	states := a.eval.States()
	for i := range a.rules {
		r := &a.rules[i]
		v, err := json.Marshal(storedState{Kind: string(r.Kind), Score: scoreName(r), Filter: r.Filter.String(), State: states[r.Name]})
		if err != nil {
			a.logger.Error("alert state unencodable", "alert", r.Name, "err", err)
			return
		}
		if string(a.saved[r.Name]) != string(v) {
			changed[r.Name] = v
		}
	}
	if len(changed) > 0 || len(enc) > 0 {
		if err := a.db.SaveAlerts(ctx, changed, enc); err != nil {
			// The transitions are still announced: the evaluator has
			// moved on, and the next step stores its states again.
			a.setError(err)
			a.logger.Error("alert state not stored", "err", err)
		} else {
			a.mu.Lock()
			for name, v := range changed {
				a.saved[name] = v
			}
			a.mu.Unlock()
		}
	}
	a.setGauge()
	for i := range evs {
		a.logger.Info("alert "+evs[i].State, "alert", evs[i].Alert, "value", evs[i].Value, "threshold", evs[i].Threshold, "at", evs[i].At)
		a.ns.Notify(alert.Notification{Event: evs[i], Drivers: alertDriversOf(records[i].Drivers)})
	}
}

func (a *alerter) setError(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastErr = ""
	if err != nil {
		a.lastErr = err.Error()
	}
}

// setGauge sets riskwatch_alert_firing of every rule.
func (a *alerter) setGauge() {
	states := a.eval.States()
	for i := range a.rules {
		v := 0.0
		if states[a.rules[i].Name].Phase == alert.PhaseFiring {
			v = 1
		}
		a.metrics.AlertFiring.WithLabelValues(a.rules[i].Name).Set(v)
	}
}

// record turns an event into its stored and served form, with the drivers
// of a firing's window.
func (a *alerter) record(ctx context.Context, ev *alert.Event) api.AlertEvent {
	rec := eventRecord(ev)
	for i := range a.rules {
		if a.rules[i].Name == ev.Alert {
			rec.Bell = slices.ContainsFunc(a.rules[i].Notify, func(t alert.Target) bool { return t.Kind == alert.TargetBell })
			if ev.State == alert.StateFiring {
				ectx, cancel := context.WithTimeout(ctx, explainBudget)
				ds, err := firingDrivers(ectx, a.db, a.rules[i].Filter, ev)
				cancel()
				if err != nil {
					a.logger.Warn("alert firing not explained", "alert", ev.Alert, "err", err)
				}
				rec.Drivers = ds
			}
		}
	}
	return rec
}

// eventRecord is the served form of ev, without drivers.
func eventRecord(ev *alert.Event) api.AlertEvent {
	rec := api.AlertEvent{
		Alert: ev.Alert, State: ev.State, At: ev.At, Kind: string(ev.Kind), Score: ev.Score,
		Value: ev.Value, Threshold: ev.Threshold, Peak: ev.Peak, Filter: ev.Filter,
		Window: api.AlertWindow{From: ev.Window.From, To: ev.Window.To}, Drivers: []api.AlertDriver{},
	}
	if !ev.Baseline.IsZero() {
		rec.Baseline = &api.AlertWindow{From: ev.Baseline.From, To: ev.Baseline.To}
	}
	return rec
}

// firingDrivers explains a firing's window against its baseline (the hour
// before the window for a fixed band) over the decisions matching the
// rule's filter, and returns the top drivers. Each side reads at most
// maxExplainSide decisions, the newest: a side cut short is taken to cover
// only the time its decisions span, so the rates compared stay honest.
func firingDrivers(ctx context.Context, db *store.DB, f *decision.Filter, ev *alert.Event) ([]api.AlertDriver, error) {
	win := explain.Period{From: ev.Window.From, To: ev.Window.To}
	base := explain.Period{From: ev.Baseline.From, To: ev.Baseline.To}
	if ev.Baseline.IsZero() || !base.To.After(base.From) {
		base = explain.Period{From: win.From.Add(-defaultExplainBaseline), To: win.From}
	}
	wds, err := newestOf(ctx, db, f, &win)
	if err != nil {
		return []api.AlertDriver{}, err
	}
	bds, err := newestOf(ctx, db, f, &base)
	if err != nil {
		return []api.AlertDriver{}, err
	}
	res, err := explain.Volume(win, wds, base, bds, explain.Options{MaxDrivers: alertDrivers})
	if err != nil {
		return []api.AlertDriver{}, err
	}
	out := make([]api.AlertDriver, 0, alertDrivers)
	for _, d := range res.Drivers[:min(len(res.Drivers), alertDrivers)] {
		dims, vals := []string{d.Dimension.String()}, []string{d.Value}
		for _, w := range d.With {
			dims, vals = append(dims, w.Dim.String()), append(vals, w.Value)
		}
		out = append(out, api.AlertDriver{Dimension: strings.Join(dims, "+"), Value: strings.Join(vals, " + "),
			Window: d.Window, Baseline: d.Baseline, Ratio: d.Ratio, Excess: d.Excess, Term: d.Term})
	}
	return out, nil
}

// newestOf reads the newest maxExplainSide decisions of p matching f; when
// there are more, p.From moves up to the oldest one read.
func newestOf(ctx context.Context, db *store.DB, f *decision.Filter, p *explain.Period) ([]decision.Decision, error) {
	pg, err := db.Range(ctx, store.RangeQuery{From: p.From, To: p.To, Reverse: true, Limit: maxExplainSide, Filter: f})
	if err != nil {
		return nil, err
	}
	if pg.Next != "" && len(pg.Decisions) > 0 {
		p.From = pg.Decisions[len(pg.Decisions)-1].EventTime
	}
	for i := range pg.Decisions {
		pg.Decisions[i].Request, pg.Decisions[i].Response = nil, nil
	}
	return pg.Decisions, nil
}

// alertDriversOf converts served drivers to the notifiers' form.
func alertDriversOf(ds []api.AlertDriver) []alert.Driver {
	out := make([]alert.Driver, len(ds))
	for i, d := range ds {
		out[i] = alert.Driver{Dimension: d.Dimension, Value: d.Value, Window: d.Window, Baseline: d.Baseline, Ratio: d.Ratio, Excess: d.Excess}
	}
	return out
}

// scoreName is a shift rule's score, "" for the other kinds.
func scoreName(r *alert.Rule) string {
	if r.Kind == alert.KindShift {
		return r.Score.String()
	}
	return ""
}

// alerts answers GET /v1/alerts from the evaluator's live states.
func (a *alerter) alerts(ctx context.Context, q api.AlertsQuery) (api.Alerts, error) {
	states := a.eval.States()
	out := api.Alerts{Alerts: make([]api.AlertStatus, len(a.rules))}
	for i := range a.rules {
		r := &a.rules[i]
		out.Alerts[i] = alertStatus(r.Name, storedState{Kind: string(r.Kind), Score: scoreName(r), Filter: r.Filter.String(), State: states[r.Name]})
	}
	a.mu.Lock()
	out.Error = a.lastErr
	a.mu.Unlock()
	var note string
	var err error
	out.History, note, err = alertHistory(ctx, a.db, q.History)
	out.Error = joinNote(out.Error, note)
	return out, err
}

// health reports the notifiers and the last evaluation's error.
func (a *alerter) health(h *api.Health) {
	a.mu.Lock()
	h.AlertError = a.lastErr
	a.mu.Unlock()
	if a.ns == nil {
		return
	}
	for _, n := range a.ns.Health() {
		h.Notifiers = append(h.Notifiers, api.NotifierHealth{Target: n.Target, Queued: n.Queued, Sent: n.Sent,
			Failed: n.Failed, Dropped: n.Dropped, Retries: n.Retries, LastError: n.LastError,
			LastErrorAt: n.LastErrorAt, LastSuccess: n.LastSuccess})
	}
}

// alertStatus is the served form of a rule's state.
func alertStatus(name string, st storedState) api.AlertStatus {
	s := st.State
	return api.AlertStatus{Name: name, Kind: st.Kind, Score: st.Score, Filter: st.Filter,
		Phase: string(s.Phase), Since: s.Since, LastEval: s.LastEval, Value: s.Last.Value,
		Threshold: s.Last.Threshold, Verdict: string(s.Last.Verdict), Peak: s.Peak,
		Window: api.AlertWindow{From: s.Last.Window.From, To: s.Last.Window.To}}
}

// alertHistory reads the newest n stored transitions; one that does not
// decode (a damaged record) is left out and counted in the note.
func alertHistory(ctx context.Context, db *store.DB, n int) (events []api.AlertEvent, note string, err error) {
	raw, err := db.AlertHistory(ctx, n)
	if err != nil {
		return nil, "", kinded(err)
	}
	out := make([]api.AlertEvent, 0, len(raw))
	bad := 0
	for _, v := range raw {
		var e api.AlertEvent
		if json.Unmarshal(v, &e) != nil {
			bad++
			continue
		}
		out = append(out, e)
	}
	if bad > 0 {
		note = fmt.Sprintf("%d stored alert transitions unreadable, left out", bad)
	}
	return out, note, nil
}

// joinNote adds note to an error text.
func joinNote(text, note string) string {
	if text == "" || note == "" {
		return text + note
	}
	return text + "; " + note
}

// storedAlerts answers GET /v1/alerts from the store alone (a dashboard
// reading a database file): the stored states, by name, and history.
func storedAlerts(ctx context.Context, db *store.DB, q api.AlertsQuery) (api.Alerts, error) {
	raw, err := db.AlertStates()
	if err != nil {
		return api.Alerts{}, kinded(err)
	}
	out := api.Alerts{Alerts: []api.AlertStatus{}}
	for name, v := range raw {
		var st storedState
		if json.Unmarshal(v, &st) == nil {
			out.Alerts = append(out.Alerts, alertStatus(name, st))
		}
	}
	slices.SortFunc(out.Alerts, func(a, b api.AlertStatus) int { return strings.Compare(a.Name, b.Name) })
	out.History, out.Error, err = alertHistory(ctx, db, q.History)
	return out, err
}
