package alert

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func ptr(v float64) *float64 { return &v }

func mustFilter(t *testing.T, s string) *decision.Filter {
	t.Helper()
	f, err := decision.ParseFilter(s, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The example file (SPEC section 13's rule and one of each other kind)
// reads into exactly these rules, defaults filled in.
func TestParseFileReadsEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/alerts.toml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFile("testdata/alerts.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{{
		Name: "deny spike", Filter: mustFilter(t, "action:deny"), Kind: KindRate, Window: time.Minute,
		Above: ptr(100), Factor: 3, Baseline: Baseline{Previous: time.Hour},
		For: 2 * time.Minute, Cooldown: 15 * time.Minute, MinEvents: 50,
		Notify: []Target{{TargetWebhook, "http://127.0.0.1:9000/hook"}, {Kind: TargetBell}, {TargetExec, "/usr/local/bin/page-me"}},
	}, {
		Name: "login deny share", Filter: mustFilter(t, "type:$login action:deny"), Kind: KindShare,
		Window: 5 * time.Minute, Above: ptr(0.3), Cooldown: DefaultCooldown, MinEvents: DefaultMinEvents,
	}, {
		Name: "logins stopped", Filter: mustFilter(t, "type:$login"), Kind: KindRate, Window: 10 * time.Minute,
		Factor: 0.5, Baseline: Baseline{Days: 7}, For: 5 * time.Minute, Cooldown: DefaultCooldown, MinEvents: DefaultMinEvents,
	}, {
		Name: "risk shift", Filter: mustFilter(t, ""), Kind: KindShift, Score: decision.ScoreRisk, Window: DefaultShiftWindow,
		Above: ptr(0.25), Baseline: Baseline{Days: 1}, Cooldown: DefaultCooldown, MinEvents: DefaultShiftMinEvents,
		Notify: []Target{{Kind: TargetBell}},
	}}
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			t.Errorf("rule %d: %+v", i, got[i])
		}
		t.Fatal("rules differ from the expected ones")
	}
}

// Every error names the alert and the key, and all of them are reported
// at once.
func TestParseErrorsNameTheAlertAndKey(t *testing.T) {
	const name = "[[alert]]\nname = \"deny spike\"\nkind = \"rate\"\n"
	const head = name + "filter = \"action:deny\"\n"
	for _, tc := range []struct{ name, text, want string }{
		{"bad for", head + "above = 1\nfor = \"soon\"", `alert "deny spike": for: want a duration such as "2m", "1h" or "1d", got "soon"`},
		{"negative for", head + "above = 1\nfor = \"-1m\"", `alert "deny spike": for: want a duration >= 0`},
		{"number for", head + "above = 1\nfor = 2", `alert "deny spike": for: want a string, got 2`},
		{"string above", head + "above = \"100\"", `alert "deny spike": above: want a number, got "100"`},
		{"no threshold", head, `alert "deny spike": above: missing: set above or below`},
		{"unknown key", head + "above = 1\nthreshold = 3", `alert "deny spike": threshold: unknown key`},
		{"bad filter", name + "above = 1\nfilter = \"risk>>1\"", `alert "deny spike": filter: risk>>1: ">1" is not a number`},
		{"since in filter", name + "above = 1\nfilter = \"action:deny since:1h\"", `alert "deny spike": filter: since:1h: an alert measures its own window`},
		{"until in filter", name + "above = 1\nfilter = \"-until:2026-01-01T00:00:00Z\"", `filter: -until:2026-01-01T00:00:00Z: an alert measures its own window`},
		{"bad kind", "[[alert]]\nname = \"x\"\nkind = \"ratio\"\nabove = 1", `alert "x": kind: want rate, share or shift, got "ratio"`},
		{"no kind", "[[alert]]\nname = \"x\"\nabove = 1", `alert "x": kind: missing`},
		{"no name", "[[alert]]\nkind = \"rate\"\nabove = 1\n[[alert]]\nname = \" \"", "alert 1: name: missing"},
		{"blank name", "[[alert]]\nname = \"ok\"\nkind = \"rate\"\nabove = 1\n[[alert]]\nname = \" \"", "alert 2: name: missing"},
		{"duplicate name", head + "above = 1\n" + head + "above = 2", `alert "deny spike": name: also the name of alert 1`},
		{"share above 1", "[[alert]]\nname = \"s\"\nfilter = \"action:deny\"\nkind = \"share\"\nabove = 20", `alert "s": above: a share is a fraction from 0 to 1`},
		{"share of everything", "[[alert]]\nname = \"s\"\nkind = \"share\"\nabove = 0.2", `alert "s": filter: a share of all decisions is always 1`},
		{"factor without baseline", head + "factor = 3", `alert "deny spike": baseline: a factor needs a baseline`},
		{"factor of one", head + "factor = 1\nbaseline = \"1h\"", `alert "deny spike": factor: want a number > 0 other than 1`},
		{"rise with below", head + "factor = 3\nbelow = 2\nbaseline = \"1h\"", `alert "deny spike": below: a rise (factor > 1) takes above as its floor`},
		{"band with baseline", head + "above = 3\nbaseline = \"1h\"", `alert "deny spike": baseline: a fixed band has no baseline`},
		{"empty band", head + "above = 3\nbelow = 5", `alert "deny spike": below: the band is empty`},
		{"bad baseline", head + "factor = 3\nbaseline = \"2w\"", `alert "deny spike": baseline: want a period before the window`},
		{"baseline of 90 days", head + "factor = 3\nbaseline = \"90d\"", `alert "deny spike": baseline: want 1d to 28d`},
		{"odd window", head + "above = 1\nwindow = \"90s\"", `alert "deny spike": window: want whole minutes from 1m to 24h, got 1m30s`},
		{"min_events on a count", head + "above = 1\nmin_events = 5", `alert "deny spike": min_events: a rate with a fixed band is a count`},
		{"fractional min_events", head + "factor = 2\nbaseline = \"1h\"\nmin_events = 2.5", `alert "deny spike": min_events: want a whole number`},
		{"shift without score", "[[alert]]\nname = \"sh\"\nkind = \"shift\"\nabove = 0.2\nbaseline = \"1d\"", `alert "sh": score: missing`},
		{"shift without baseline", "[[alert]]\nname = \"sh\"\nkind = \"shift\"\nscore = \"bot\"\nabove = 0.2", `alert "sh": baseline: a shift rule needs a baseline`},
		{"shift with factor", "[[alert]]\nname = \"sh\"\nkind = \"shift\"\nscore = \"bot\"\nabove = 0.2\nfactor = 2\nbaseline = \"1d\"", `alert "sh": factor: a shift rule compares with its baseline already`},
		{"score on a rate", head + "above = 1\nscore = \"risk\"", `alert "deny spike": score: only a shift rule compares a score`},
		{"notify not a list", head + "above = 1\nnotify = \"bell\"", `alert "deny spike": notify: want a list`},
		{"notify unknown", head + "above = 1\nnotify = [\"email:me@example.com\"]", `alert "deny spike": notify[0]: want webhook:URL, exec:PATH or bell, got "email:me@example.com"`},
		{"relative exec", head + "above = 1\nnotify = [\"exec:page-me\"]", `alert "deny spike": notify[0]: want exec:/absolute/path/to/program`},
		{"ftp webhook", head + "above = 1\nnotify = [\"webhook:ftp://secret@host/x\"]", `alert "deny spike": notify[0]: want webhook:http://HOST/PATH`},
		{"twice", head + "above = 1\nnotify = [\"bell\", \"bell\"]", `alert "deny spike": notify[1]: bell is listed twice`},
		{"not toml", "[[alert]\nname=", "alerts t.toml: line 2: "},
		{"other tables", "[safee]\nbase_url = \"x\"", `alerts t.toml: unknown key "safee" (an alerts file holds only [[alert]] tables)`},
		{"alert not a table", "alert = 5", "alerts t.toml: alert: want [[alert]] tables, got 5"},
		{"alert in another case", "[[Alert]]\nname = \"x\"", `alerts t.toml: unknown key "Alert"`},
		{"too deep", "x = " + strings.Repeat("[", 20) + strings.Repeat("]", 20), "alerts t.toml: line 1: arrays and inline tables nest deeper than 16 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("t.toml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "alerts t.toml: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// Several bad alerts are all reported, each under its own name.
func TestParseReportsEveryBadAlert(t *testing.T) {
	_, err := ParseFile("t.toml", []byte(`
[[alert]]
name = "a"
kind = "rate"
[[alert]]
name = "b"
kind = "rate"
filter = "action:deny"
above = 1
for = "x"
cooldown = "y"
`))
	for _, want := range []string{`alert "a": above: missing`, `alert "b": for: `, `alert "b": cooldown: `} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to contain %s", err, want)
		}
	}
}

// A webhook URL may be a secret: no error or redacted form quotes it.
func TestWebhookURLIsNeverQuoted(t *testing.T) {
	const secret = "T000/B000/XXXXsecret"
	_, err := ParseFile("t.toml", []byte(`[[alert]]
name = "a"
filter = "action:deny"
kind = "rate"
above = 1
notify = ["webhook:https://hooks.example.com/`+secret+`", "webhook:https://hooks.example.com/`+secret+`"]`))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v quotes the URL", err)
	}
	tg, err := ParseTarget("webhook:https://hooks.example.com/" + secret + "?token=" + secret)
	if err != nil {
		t.Fatal(err)
	}
	if r := tg.Redacted(); r != "webhook:https://hooks.example.com/…" {
		t.Errorf("Redacted = %q", r)
	}
}

// A rule built in code is checked as a parsed one is.
func TestValidateRuleBuiltInCode(t *testing.T) {
	r := Rule{Name: "x", Kind: KindRate, Window: time.Minute, Above: ptr(1)}
	if err := r.Validate(); err != nil {
		t.Fatalf("valid rule: %v", err)
	}
	r.Window = 0
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), `alert "x": window: `) {
		t.Errorf("zero window: %v", err)
	}
	if _, err := NewEvaluator(&series{}, []Rule{r}, nil, EvalOptions{}); err == nil {
		t.Error("NewEvaluator accepted an invalid rule")
	}
}
