package alert

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The example rules, a filter no label can carry and a two-sided band
// translate into the rule file in testdata/prometheus.golden.
func TestPrometheusRules(t *testing.T) {
	data, err := os.ReadFile("testdata/alerts.toml")
	if err != nil {
		t.Fatal(err)
	}
	rules := mustRules(t, string(data)+`
[[alert]]
name = "proxy denies"
filter = "action:deny signal:proxy_ip"
kind = "rate"
above = 10

[[alert]]
name = "odd volume"
filter = "-action:error"
kind = "rate"
window = "5m"
above = 1000
below = 10
cooldown = "1h"

[[alert]]
name = "challenges x2 yesterday"
filter = "action:challenge status:$failed"
kind = "share"
window = "15m"
factor = 2
baseline = "1d"
`)
	var b strings.Builder
	if err := PrometheusRules(&b, rules); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/prometheus.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("rules differ from %s (go test -run Prometheus -update rewrites it):\n%s", golden, b.String())
	}
}

// Rules none of which can be expressed still make a valid, empty group.
func TestPrometheusRulesNoneExpressible(t *testing.T) {
	rules := mustRules(t, "[[alert]]\nname = \"s\"\nkind = \"shift\"\nscore = \"bot\"\nabove = 0.2\nbaseline = \"1d\"")
	var b strings.Builder
	if err := PrometheusRules(&b, rules); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "    rules:\n      []\n      # \"s\": not expressible in Prometheus: a PSI") {
		t.Errorf("output:\n%s", b.String())
	}
}
