package api

import "time"

// AlertsQuery asks for the alert rules' state and their latest
// transitions (GET /v1/alerts).
type AlertsQuery struct {
	// History is how many of the newest transitions to return.
	History int `query:"history,default=100"`
}

// maxAlertHistory caps AlertsQuery.History.
const maxAlertHistory = 1000

// Alerts is the answer of GET /v1/alerts: every rule's state, in the order
// the rules are configured, and the newest transitions, newest first. A
// federation lists each collector's, named by Collector.
type Alerts struct {
	Alerts  []AlertStatus `json:"alerts"`
	History []AlertEvent  `json:"history"`
	// Error is the last evaluation's error, "" when it went well.
	Error string `json:"error,omitempty"`
}

// The phases of an alert rule (AlertStatus.Phase): it starts ok; ok ->
// pending -> firing -> resolved, and resolved -> ok after its cooldown.
const (
	AlertOK       = "ok"
	AlertPending  = "pending"
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// AlertStatus is one rule's state.
type AlertStatus struct {
	// Collector names the collector evaluating it in a federation.
	Collector string `json:"collector,omitempty"`
	Name      string `json:"name"`
	// Kind is rate, share or shift; Score is the shift rule's score.
	Kind   string `json:"kind"`
	Score  string `json:"score,omitempty"`
	Filter string `json:"filter"`
	// Phase is AlertOK, AlertPending, AlertFiring or AlertResolved ("" for
	// a rule not evaluated yet), entered at Since (a minute end).
	Phase string    `json:"phase"`
	Since time.Time `json:"since,omitzero"`
	// LastEval is the last minute end evaluated; Value, Threshold and
	// Verdict ("true", "false", "thin") are its.
	LastEval  time.Time `json:"last_eval,omitzero"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Verdict   string    `json:"verdict,omitempty"`
	// Peak is the current firing's most extreme value.
	Peak float64 `json:"peak"`
	// Window is the last evaluation's window.
	Window AlertWindow `json:"window"`
}

// AlertWindow is a window of event time [From, To).
type AlertWindow struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// AlertEvent is one transition of a rule (SPEC section 13's notification):
// it fired or it resolved.
type AlertEvent struct {
	Collector string `json:"collector,omitempty"`
	Alert     string `json:"alert"`
	// State is AlertFiring or AlertResolved.
	State     string    `json:"state"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Score     string    `json:"score,omitempty"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Peak      float64   `json:"peak"`
	Filter    string    `json:"filter"`
	// Window is the evaluated window; Baseline what it was compared with
	// (zero for a fixed band).
	Window   AlertWindow  `json:"window"`
	Baseline *AlertWindow `json:"baseline,omitempty"`
	// Drivers are the top three of explain for a firing's window.
	Drivers []AlertDriver `json:"drivers"`
	// Bell is set when the rule notifies "bell": dashboards ring for it.
	Bell bool `json:"bell,omitempty"`
}

// AlertDriver is one value driving a firing's window (SPEC section 11).
type AlertDriver struct {
	Dimension string  `json:"dimension"`
	Value     string  `json:"value"`
	Window    uint64  `json:"window"`
	Baseline  uint64  `json:"baseline"`
	Ratio     float64 `json:"ratio"`
	Excess    float64 `json:"excess"`
	// Term is the filter that selects the driver's decisions.
	Term string `json:"term,omitempty"`
}

// NotifierHealth is one alert notifier's state for the Health view: a
// notifier that fails shows its last error there.
type NotifierHealth struct {
	// Target is redacted: a webhook shows its scheme and host only.
	Target      string    `json:"target"`
	Queued      int       `json:"queued"`
	Sent        uint64    `json:"sent"`
	Failed      uint64    `json:"failed"`
	Dropped     uint64    `json:"dropped"`
	Retries     uint64    `json:"retries"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

// BacktestQuery asks a collector to replay alert rules over its stored
// history (GET /v1/alerts/backtest): the rules of Rules, TOML holding only
// `[[alert]]` tables, or its own configured rules when Rules is empty.
type BacktestQuery struct {
	From  time.Time `query:"from,required"`
	To    time.Time `query:"to"`
	Rules string    `query:"rules"`
}

// MaxBacktestRules bounds BacktestQuery.Rules, in bytes.
const MaxBacktestRules = 64 << 10

// Backtest is a backtest's answer (SPEC section 13): each rule's firings.
// A federation lists each collector's, named by Collector.
type Backtest struct {
	Alerts []BacktestAlert `json:"alerts"`
}

// BacktestAlert is one rule's firings over the replayed range; Evaluated
// counts the minute ends replayed, Thin those below min_events.
type BacktestAlert struct {
	Collector string           `json:"collector,omitempty"`
	Name      string           `json:"name"`
	Firings   []BacktestFiring `json:"firings"`
	Evaluated int              `json:"evaluated"`
	Thin      int              `json:"thin"`
}

// BacktestFiring is one firing; To is nil when it had not resolved by the
// end of the range.
type BacktestFiring struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to"`
	Peak float64    `json:"peak"`
}
