package alert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/riskwatch/riskwatch/decision"
)

// ParseRules reads `[[alert]]` tables as the TOML decoder yields them (a
// config file decodes its alert tables into []map[string]any and passes
// them here). It returns the valid rules, or every problem found, each
// naming the alert and the key: `alert "deny spike": for: want ...`; an
// alert without a usable name is named by its position (`alert 2`).
//
// Keys: name, filter, kind (rate, share, shift), score (shift), window,
// above, below, factor, baseline, for, cooldown, min_events, notify. See
// Rule for their meaning and the Default constants for what is left out.
func ParseRules(tables []map[string]any) ([]Rule, error) {
	rules := make([]Rule, 0, len(tables))
	var errs []error
	names := make(map[string]int, len(tables))
	for i, tab := range tables {
		r, err := parseRule(tab, i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := names[r.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: name: also the name of alert %d; names must be unique", r.label(i), j+1))
			continue
		}
		names[r.Name] = i
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

// ParseFile reads a standalone alerts file (--alerts FILE): TOML holding
// only `[[alert]]` tables. name is used in errors, which read
// `alerts NAME: alert "deny spike": for: ...` or `alerts NAME: line 3: ...`.
func ParseFile(name string, data []byte) ([]Rule, error) {
	if line := tooDeep(data, maxNesting); line > 0 {
		return nil, fmt.Errorf("alerts %s: line %d: arrays and inline tables nest deeper than %d levels", name, line, maxNesting)
	}
	// Decode into a map, not a struct: the decoder matches struct fields
	// without regard to case, and a file with both [[alert]] and [[Alert]]
	// would then keep one of the two at random.
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("alerts %s: line %d: %s", name, pe.Position.Line, oneLine(pe.Message))
		}
		return nil, fmt.Errorf("alerts %s: %s", name, oneLine(strings.TrimPrefix(err.Error(), "toml: ")))
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		if k != "alert" {
			keys = append(keys, strconv.Quote(k))
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return nil, fmt.Errorf("alerts %s: unknown key %s (an alerts file holds only [[alert]] tables)", name, strings.Join(keys, ", "))
	}
	tables, err := alertTables(doc["alert"])
	if err != nil {
		return nil, fmt.Errorf("alerts %s: alert: %w", name, err)
	}
	rules, err := ParseRules(tables)
	if err != nil {
		return nil, fmt.Errorf("alerts %s: %w", name, err)
	}
	return rules, nil
}

// ruleKeys are the keys an alert table may have.
var ruleKeys = []string{"name", "filter", "kind", "score", "window", "above", "below", "factor",
	"baseline", "for", "cooldown", "min_events", "notify"}

// parseRule reads one table; i is its position, for errors.
func parseRule(tab map[string]any, i int) (Rule, error) {
	var r Rule
	var errs []error
	bad := func(key string, err error) { errs = append(errs, fmt.Errorf("%s: %w", key, err)) }
	name, err := str(tab, "name")
	if err != nil {
		bad("name", err)
	}
	r.Name = name
	if msg := checkName(name); msg != "" && err == nil {
		bad("name", errors.New(msg))
	}
	var unknown []string
	for k := range tab {
		if !slices.Contains(ruleKeys, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		if q := strconv.Quote(k); strings.ContainsAny(k, ": ") || q != `"`+k+`"` {
			k = q
		}
		bad(k, fmt.Errorf("unknown key (want %s)", strings.Join(ruleKeys, ", ")))
	}
	r.read(tab, bad)
	if len(errs) == 0 {
		return r, r.Validate()
	}
	return r, under(r.label(i), errs)
}

// read sets r's fields from tab, reporting each key it cannot read, and
// applies the defaults for the keys tab leaves out.
func (r *Rule) read(tab map[string]any, bad func(string, error)) {
	if s, err := str(tab, "filter"); err != nil {
		bad("filter", err)
	} else if f, err := decision.ParseFilter(s, time.Time{}); err != nil {
		bad("filter", err)
	} else {
		r.Filter = f
	}
	if s, err := str(tab, "kind"); err != nil {
		bad("kind", err)
	} else if s == "" {
		bad("kind", errors.New("missing: want rate, share or shift"))
	} else {
		r.Kind = Kind(strings.ToLower(s))
	}
	if s, err := str(tab, "score"); err != nil {
		bad("score", err)
	} else if s != "" && r.Kind != KindShift {
		bad("score", errors.New("only a shift rule compares a score"))
	} else if s == "" && r.Kind == KindShift {
		bad("score", errors.New("missing: name the score whose distribution shifts (risk, ato, bot or abuse)"))
	} else if s != "" {
		if sc, err := decision.ParseScore(s); err != nil {
			bad("score", err)
		} else {
			r.Score = sc
		}
	}
	r.Window = DefaultWindow
	if r.Kind == KindShift {
		r.Window = DefaultShiftWindow
	}
	r.Cooldown = DefaultCooldown
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"window", &r.Window}, {"for", &r.For}, {"cooldown", &r.Cooldown}} {
		if v, ok, err := duration(tab, d.key); err != nil {
			bad(d.key, err)
		} else if ok {
			*d.dst = v
		}
	}
	for _, n := range []struct {
		key string
		dst **float64
	}{{"above", &r.Above}, {"below", &r.Below}} {
		if v, ok, err := number(tab, n.key); err != nil {
			bad(n.key, err)
		} else if ok {
			*n.dst = &v
		}
	}
	if v, ok, err := number(tab, "factor"); err != nil {
		bad("factor", err)
	} else if ok {
		if v == 0 {
			bad("factor", errors.New("want a number > 0 other than 1, got 0"))
		}
		r.Factor = v
	}
	if s, err := str(tab, "baseline"); err != nil {
		bad("baseline", err)
	} else if s != "" {
		if b, err := parseBaseline(s); err != nil {
			bad("baseline", err)
		} else {
			r.Baseline = b
		}
	}
	r.readMinEvents(tab, bad)
	r.readNotify(tab, bad)
}

// readMinEvents reads min_events or sets the default for the kind.
func (r *Rule) readMinEvents(tab map[string]any, bad func(string, error)) {
	v, ok, err := number(tab, "min_events")
	switch {
	case err != nil:
		bad("min_events", err)
	case ok && (v < 0 || v != math.Trunc(v) || v > 1e12):
		bad("min_events", fmt.Errorf("want a whole number of decisions >= 0, got %v", v))
	case ok:
		r.MinEvents = uint64(v)
	case r.Kind == KindShift:
		r.MinEvents = DefaultShiftMinEvents
	case r.Kind == KindShare || (r.Kind == KindRate && tab["factor"] != nil):
		r.MinEvents = DefaultMinEvents
	}
}

// readNotify reads the notify list.
func (r *Rule) readNotify(tab map[string]any, bad func(string, error)) {
	v, ok := tab["notify"]
	if !ok {
		return
	}
	list, isList := v.([]any)
	if !isList {
		bad("notify", fmt.Errorf("want a list such as [\"bell\", \"webhook:http://127.0.0.1:9000/hook\"], got %s", describe(v)))
		return
	}
	for i, e := range list {
		s, isStr := e.(string)
		if !isStr {
			bad(fmt.Sprintf("notify[%d]", i), fmt.Errorf("want a string, got %s", describe(e)))
			continue
		}
		t, err := ParseTarget(s)
		if err != nil {
			bad(fmt.Sprintf("notify[%d]", i), err)
			continue
		}
		r.Notify = append(r.Notify, t)
	}
}

// parseBaseline reads "1h", "30m" (the period before the window) or "1d",
// "7d" (the same window that many days earlier).
func parseBaseline(s string) (Baseline, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > maxSameDays {
			return Baseline{}, fmt.Errorf("want 1d to %dd (the same time that many days ago), got %q", maxSameDays, s)
		}
		return Baseline{Days: days}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d > maxPrevious || d%time.Minute != 0 {
		return Baseline{}, fmt.Errorf("want a period before the window in whole minutes up to 24h (\"1h\") or a number of days (\"1d\", \"7d\"), got %q", s)
	}
	return Baseline{Previous: d}, nil
}
