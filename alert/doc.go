// Package alert holds riskwatch's alert rules (SPEC section 13): parsing
// them from `[[alert]]` tables, evaluating them by event time, replaying
// them over history (backtest) and delivering their transitions to
// notifiers (webhook, exec, the dashboards' bell).
//
// # Evaluation model
//
// Rules are evaluated on a grid of whole minutes of event time. An
// evaluation at minute end E measures the rule's window [E-window, E) and,
// for a baseline rule, the baseline window (see Baseline.Of); it asks its
// Source only for windows whose bounds are whole minutes, so a Source may
// answer from per-minute rollups. Each evaluation yields an Observation,
// and the pure state machine (State.Step) turns a sequence of observations
// into firing and resolved Events.
//
// Live evaluation (Evaluator) and replay (Backtest) feed the same state
// machine the same observations for the same minute ends: live evaluation
// at time t evaluates every minute end up to (t-Settle) truncated to the
// minute that it has not evaluated yet, so however often it is called (the
// collector calls it every 10 s) it makes one step per minute, exactly as a
// backtest does. Decisions whose event time falls in a minute that live
// evaluation has already passed (late arrivals, backfills) are seen by a
// backtest but not live.
//
// The package imports nothing of riskwatch but decision; it does no I/O
// except in the notifiers, whose goroutines are owned by the notifier and
// stopped by its Close.
package alert
