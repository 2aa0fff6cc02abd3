package alert

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// decisionsMetric is the collector's counter of stored decisions.
const decisionsMetric = "riskwatch_decisions_total"

// promLabels maps the filter fields a Prometheus rule can express to the
// label of riskwatch_decisions_total that would carry them, and whether
// /metrics has that label today. Every one is bounded: a handful of
// actions, event types, statuses, shadow actions and policy names.
var promLabels = map[string]struct {
	label  string
	exists bool
}{
	"action": {"action", true},
	"type":   {"type", true},
	"status": {"status", true},
	"shadow": {"shadow_action", false},
	"policy": {"policy", false},
}

// PrometheusRules writes Prometheus alerting rules (a rule file, YAML)
// equivalent to rules as far as the collector's /metrics allows, for
// `riskwatch alerts prometheus`. It does not pretend: a rule it cannot
// express (a shift, or a filter on a field no bounded label carries) is
// written as a comment saying why, and the labels the rules need that
// /metrics lacks are listed at the top. The differences that remain are
// stated in the header: Prometheus counts decisions by arrival, not event
// time, and has no cooldown.
func PrometheusRules(w io.Writer, rules []Rule) error {
	var body strings.Builder
	missing := map[string]bool{}
	names := map[string]int{}
	expressed := 0
	for i := range rules {
		r := &rules[i]
		expr, why := promExpr(r, missing)
		if why != "" {
			fmt.Fprintf(&body, "      # %s: not expressible in Prometheus: %s\n", strconv.Quote(r.Name), why)
			continue
		}
		expressed++
		name := promAlertName(r.Name)
		if names[name]++; names[name] > 1 {
			name += strconv.Itoa(names[name])
		}
		fmt.Fprintf(&body, "      - alert: %s\n        expr: %s\n", name, strconv.Quote(expr))
		if r.For > 0 {
			fmt.Fprintf(&body, "        for: %s\n", promDuration(r.For))
		}
		fmt.Fprintf(&body, "        keep_firing_for: %s\n", promDuration(max(r.For, time.Minute)))
		fmt.Fprintf(&body, "        labels:\n          riskwatch_alert: %s\n", strconv.Quote(r.Name))
		fmt.Fprintf(&body, "        annotations:\n          summary: %s\n          riskwatch_filter: %s\n",
			strconv.Quote(promSummary(r)), strconv.Quote(r.Filter.String()))
		if r.Cooldown > 0 {
			fmt.Fprintf(&body, "          riskwatch_cooldown: %s\n", strconv.Quote(promDuration(r.Cooldown)))
		}
	}
	var b strings.Builder
	b.WriteString(promHeader)
	if len(missing) > 0 {
		labels := make([]string, 0, len(missing))
		for l := range missing {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		fmt.Fprintf(&b, "#\n# These rules need labels that %s does not carry yet: %s.\n", decisionsMetric, strings.Join(labels, ", "))
	}
	b.WriteString("groups:\n  - name: riskwatch\n    rules:\n")
	if expressed == 0 {
		b.WriteString("      []\n")
	}
	b.WriteString(body.String())
	_, err := io.WriteString(w, b.String())
	return err
}

const promHeader = `# Prometheus alerting rules equivalent to riskwatch's alerts, over the
# collector's /metrics. Written by riskwatch alerts prometheus.
#
# Differences from riskwatch's own evaluation:
# - riskwatch_decisions_total counts decisions when they are stored (arrival
#   time); riskwatch evaluates by event time, so a backfill of old events is
#   a spike here and not in riskwatch.
# - riskwatch's cooldown has no counterpart in a rule (it is kept as the
#   riskwatch_cooldown annotation): set Alertmanager's repeat_interval.
# - its flap guard (a firing resolves after max(for, 1m) of false) is
#   keep_firing_for, which needs Prometheus 2.42 or later.
# - rate() over a 1m window needs a scrape interval of 30s or less.
`

// promExpr returns the PromQL expression of r, or why there is none; it
// adds to missing the labels the expression uses that /metrics lacks.
func promExpr(r *Rule, missing map[string]bool) (expr, why string) {
	if r.Kind == KindShift {
		return "", "a PSI compares two score distributions bin by bin; /metrics has no score histogram, " +
			"and even with one (riskwatch_score_bucket{score,le}) PromQL cannot turn cumulative buckets into bins in a rule worth keeping"
	}
	matchers, why := promMatchers(r, missing)
	if why != "" {
		return "", why
	}
	win := promDuration(r.Window)
	sel := decisionsMetric + matchers
	value := func(sel, rng, offset string) string {
		return fmt.Sprintf("sum(rate(%s[%s]%s))", sel, rng, offset)
	}
	count := func(sel, rng, offset string) string {
		return fmt.Sprintf("sum(increase(%s[%s]%s))", sel, rng, offset)
	}
	measure := func(rng, offset string) string {
		if r.Kind == KindShare {
			return value(sel, rng, offset) + " / " + value(decisionsMetric, rng, offset)
		}
		return value(sel, rng, offset) + " * 60"
	}
	v := measure(win, "")
	if r.Factor == 0 {
		switch {
		case r.Above != nil && r.Below != nil:
			return fmt.Sprintf("(%s > %s) or (%s < %s)", v, promNumber(*r.Above), v, promNumber(*r.Below)), ""
		case r.Above != nil:
			expr = fmt.Sprintf("%s > %s", v, promNumber(*r.Above))
		default:
			expr = fmt.Sprintf("%s < %s", v, promNumber(*r.Below))
		}
		if r.Kind == KindShare && r.MinEvents > 0 {
			expr = fmt.Sprintf("(%s) and on() %s >= %d", expr, count(decisionsMetric, win, ""), r.MinEvents)
		}
		return expr, ""
	}
	baseRange, baseOffset := promDuration(r.Baseline.Previous), " offset "+win
	if r.Baseline.Days > 0 {
		baseRange, baseOffset = win, fmt.Sprintf(" offset %dd", r.Baseline.Days)
	}
	op, limit := ">", r.Above
	if r.Factor < 1 {
		op, limit = "<", r.Below
	}
	expr = fmt.Sprintf("(%s) %s %s * (%s)", v, op, promNumber(r.Factor), measure(baseRange, baseOffset))
	if limit != nil {
		expr = fmt.Sprintf("(%s) and (%s %s %s)", expr, v, op, promNumber(*limit))
	}
	if r.MinEvents > 0 {
		sample := sel
		if r.Kind == KindShare {
			sample = decisionsMetric
			expr = fmt.Sprintf("(%s) and on() %s >= %d", expr, count(sample, win, ""), r.MinEvents)
		}
		expr = fmt.Sprintf("(%s) and on() %s >= %d", expr, count(sample, baseRange, baseOffset), r.MinEvents)
	}
	return expr, ""
}

// promMatchers translates r's filter into label matchers ("" for none).
func promMatchers(r *Rule, missing map[string]bool) (string, string) {
	var ms []string
	for _, t := range filterTerms(r.Filter) {
		field, value, neg := termField(t)
		l, ok := promLabels[field]
		if !ok {
			return "", fmt.Sprintf("the filter term %s needs a label that would be unbounded or multi-valued "+
				"(users, addresses, signals, scores), so riskwatch_decisions_total cannot carry it", t)
		}
		if !l.exists {
			missing[l.label] = true
		}
		op := "="
		if neg {
			op = "!="
		}
		if field == "type" || field == "status" {
			// The collector writes these as "$login": lower case, with
			// the "$" the filter language lets one leave out.
			value = "$" + strings.ToLower(strings.TrimPrefix(value, "$"))
		}
		ms = append(ms, l.label+op+strconv.Quote(value))
	}
	if len(ms) == 0 {
		return "", ""
	}
	return "{" + strings.Join(ms, ",") + "}", ""
}

// promSummary describes r in a sentence.
func promSummary(r *Rule) string {
	what := "decisions per minute"
	if r.Kind == KindShare {
		what = "share of all decisions"
	}
	scope := r.Filter.String()
	if scope == "" {
		scope = "all decisions"
	}
	return fmt.Sprintf("riskwatch alert %q: %s matching %s over %s", r.Name, what, scope, promDuration(r.Window))
}

// promAlertName turns a rule name into a Prometheus alert name:
// "deny spike" becomes RiskwatchDenySpike.
func promAlertName(name string) string {
	var b strings.Builder
	b.WriteString("Riskwatch")
	upper := true
	for _, c := range name {
		switch {
		case c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			if upper {
				c = unicode.ToUpper(c)
			}
			b.WriteRune(c)
			upper = false
		default:
			upper = true
		}
	}
	return b.String()
}

// promDuration writes d in Prometheus's syntax (1m, 1h30m, 1d).
func promDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return formatMinutes(d)
}

// promNumber writes a threshold.
func promNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
