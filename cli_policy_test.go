package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// writeFile writes text to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// policyStore writes n synthetic decisions to a new database and returns
// its path.
func policyStore(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ds := policytest.NewSynth(5).Decisions(n)
	rs := make([]store.Result, len(ds))
	for i, d := range ds {
		rs[i] = store.Result{Decision: d}
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

const badPolicy = "[[rule]]\nname = \"x\"\nwhen = 'risk > \"high\" || nope'\naction = \"block\"\n"

func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "ten.toml", policytest.TenRules)
	bad := writeFile(t, dir, "bad.toml", badPolicy)

	code, out, stderr := runCLI(t, nil, "policy", "check", good)
	if code != 0 || !strings.Contains(out, good+": ok, 10 rules") {
		t.Errorf("check a good file: exit %d, %q, %q", code, out, stderr)
	}
	code, out, stderr = runCLI(t, nil, "policy", "check", bad)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || out != "" || len(lines) < 3 || !strings.HasPrefix(lines[0], bad+":3:") || !strings.HasPrefix(lines[1], bad+":4:10: unknown action") {
		t.Errorf("check a bad file: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = runCLI(t, nil, "policy", "check", "--json", bad)
	var c struct {
		OK     bool            `json:"ok"`
		Errors []*policy.Error `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || code != 1 || c.OK || len(c.Errors) < 2 || c.Errors[1].Line != 4 || c.Errors[1].Col != 10 {
		t.Errorf("check --json a bad file: exit %d, %q (%v)", code, out, err)
	}
	code, out, _ = runCLI(t, nil, "policy", "check", "--json", good)
	if err := json.Unmarshal([]byte(out), &c); err != nil || code != 0 || !c.OK {
		t.Errorf("check --json a good file: exit %d, %q", code, out)
	}
	if code, _, stderr := runCLI(t, nil, "policy", "check", filepath.Join(dir, "missing.toml")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("check a missing file: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, nil, "policy", "check"); code == 0 || !strings.Contains(stderr, "accepts 1 arg") {
		t.Errorf("check without a file: exit %d, %q", code, stderr)
	}
}

func TestPolicyTest(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "ten.toml", policytest.TenRules)
	pass := writeFile(t, dir, "pass.ndjson", `{"name": "tor", "event": {"type": "$login", "user": "u1", "signals": ["tor_ip"]}, "expect": {"action": "deny", "rule": "tor"}}
{"name": "vip", "event": {"type": "$login", "user": "u7", "signals": ["tor_ip"]}, "expect": {"action": "allow", "rule": "vip"}}
`)
	fail := writeFile(t, dir, "fail.ndjson", `{"name": "tor", "event": {"type": "$login", "user": "u1", "signals": ["tor_ip"]}, "expect": {"action": "allow"}}
not json
`)
	if code, out, stderr := runCLI(t, nil, "policy", "test", p, pass); code != 0 || out != "2 of 2 cases passed\n" {
		t.Errorf("passing cases: exit %d, %q, %q", code, out, stderr)
	}
	code, out, stderr := runCLI(t, nil, "policy", "test", p, fail)
	if code != 1 || !strings.Contains(out, fail+`:1: tor: got deny by rule "tor", want allow`) || !strings.Contains(out, fail+":2: not a test case") ||
		!strings.Contains(stderr, "2 of 2 cases failed") {
		t.Errorf("failing cases: exit %d, %q, %q", code, out, stderr)
	}
	code, out, _ = runCLI(t, nil, "policy", "test", "--json", p, fail)
	var rep policy.CaseReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Cases != 2 || len(rep.Failures) != 2 {
		t.Errorf("failing cases --json: exit %d, %q", code, out)
	}
}

// TestPolicyReplayAndDiff runs replay and diff on a database file, checks
// them against the reader's own answer, and checks their errors.
func TestPolicyReplayAndDiff(t *testing.T) {
	db := policyStore(t, 3000)
	dir := t.TempDir()
	ten := writeFile(t, dir, "ten.toml", policytest.TenRules)
	one := writeFile(t, dir, "one.toml", "[[rule]]\nname = \"high risk\"\nwhen = \"risk >= 80\"\naction = \"deny\"\n")

	code, out, stderr := runCLI(t, nil, "policy", "replay", "--db", db, "--json", "--show-changed", "4", ten)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	var got policy.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"decisions":`, `"live":`, `"policy":`, `"matrix":`, `"changed":`, `"rules":`, `"matched":`, `"decided":`} {
		if !strings.Contains(out, key) {
			t.Errorf("replay --json has no %s", key)
		}
	}
	sdb, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := collector.NewStoreReader(sdb, nil).Replay(context.Background(),
		api.ReplayQuery{Name: ten, Policy: policytest.TenRules, ShowChanged: 4})
	sdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustMarshal(t, got), mustMarshal(t, want); a != b || got.Decisions != 3000 || len(got.Changes) != 4 {
		t.Errorf("replay printed\n%s\nthe reader answers\n%s", a, b)
	}

	code, out, stderr = runCLI(t, nil, "policy", "replay", "--db", db, "--show-changed", "2", "--filter", "type:$login", ten)
	if code != 0 || !strings.Contains(out, "live \\ policy") || !strings.Contains(out, "stuffing ip") ||
		!strings.Contains(out, "changed decisions (first 2):") {
		t.Errorf("replay as text: exit %d:\n%s%s", code, out, stderr)
	}

	code, out, stderr = runCLI(t, nil, "policy", "diff", "--db", db, "--json", ten, one)
	var dr policy.DiffReport
	if err := json.Unmarshal([]byte(out), &dr); code != 0 || err != nil || dr.Decisions != 3000 || dr.Changed == 0 ||
		len(dr.OldRules) != 10 || len(dr.NewRules) != 1 {
		t.Errorf("diff: exit %d, %v: %s%s", code, err, out, stderr)
	}
	code, out, _ = runCLI(t, nil, "policy", "diff", "--db", db, ten, ten)
	if code != 0 || !strings.Contains(out, ": 0 decided differently") {
		t.Errorf("diff with itself: exit %d:\n%s", code, out)
	}

	bad := writeFile(t, dir, "bad.toml", badPolicy)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--db", db, bad}, bad + ":3:"},
		{[]string{"diff", "--db", db, ten, bad}, bad + ":4:10: unknown action"},
		{[]string{"replay", "--db", db, "--filter", "risk>>1", ten}, "--filter"},
		{[]string{"replay", "--db", db, "--show-changed", "-1", ten}, "--show-changed"},
		{[]string{"replay", "--db", filepath.Join(dir, "none.db"), ten}, "no database at"},
		{[]string{"replay", "--db", db, "--connect", "http://127.0.0.1:1", ten}, "give one of them"},
	} {
		if code, _, stderr := runCLI(t, nil, append([]string{"policy"}, c.args...)...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

// TestPolicyReplayConnect replays through a running collector, alone and
// federated with a second one.
func TestPolicyReplayConnect(t *testing.T) {
	dir := t.TempDir()
	a, _ := runningCollector(t, filepath.Join(dir, "a.db"))
	b, _ := runningCollector(t, filepath.Join(dir, "b.db"))
	ten := writeFile(t, dir, "ten.toml", policytest.TenRules)
	env := map[string]string{"RISKWATCH_INGEST_TOKEN": connectToken}
	replayOf := func(connect string) policy.Report {
		t.Helper()
		code, out, stderr := runCLI(t, env, "policy", "replay", "--json", "--connect", connect, ten)
		if code != 0 {
			t.Fatalf("replay --connect %s: exit %d: %s", connect, code, stderr)
		}
		var r policy.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	ra, rb, both := replayOf(a), replayOf(b), replayOf(a+","+b)
	if ra.Decisions == 0 || both.Decisions != ra.Decisions+rb.Decisions {
		t.Errorf("federated replay counts %d decisions, want %d + %d", both.Decisions, ra.Decisions, rb.Decisions)
	}
	if code, _, stderr := runCLI(t, nil, "policy", "replay", "--connect", a, ten); code == 0 || !strings.Contains(stderr, "RISKWATCH_INGEST_TOKEN") {
		t.Errorf("replay without the token: exit %d, %q", code, stderr)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestShadowReloadOnSIGHUP runs the real binary with a shadow policy:
// decisions carry its action, SIGHUP with a file that does not compile
// keeps it (the log and the health say why), and SIGHUP with a good file
// applies the new one to the decisions stored from then on.
func TestShadowReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	dir := t.TempDir()
	shadow := writeFile(t, dir, "shadow.toml", "default = \"deny\"\n")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	p := start(t, env, "collect", "--emulator", "--db", filepath.Join(dir, "rw.db"), "--listen", "127.0.0.1:0", "--shadow-policy", shadow)
	url := "http://" + p.await(t, reListen, 10*time.Second)
	latest := func(n int) []api.WireDecision {
		t.Helper()
		var ds []api.WireDecision
		deadline := time.Now().Add(15 * time.Second)
		for len(ds) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d decisions stored, want %d", len(ds), n)
			}
			time.Sleep(20 * time.Millisecond)
			resp, err := http.Get(url + "/v1/decisions/latest?n=100")
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&ds)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		return ds
	}
	ev := func(i int) event {
		return event{ID: fmt.Sprintf("e%d", i), User: "u1", Email: "u1@example.com", IP: "203.0.113.9", UA: uaChrome, Type: "login/succeeded"}
	}
	post(t, url, []event{ev(1)})
	if d := latest(1)[0]; d.ShadowAction != "deny" || d.ShadowRule != "" {
		t.Errorf("first decision: shadow %q by %q", d.ShadowAction, d.ShadowRule)
	}

	writeFile(t, dir, "shadow.toml", "default = \"sometimes\"\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	msg := p.await(t, regexp.MustCompile(`shadow policy not reloaded.*err="?(.*shadow\.toml:1:11: [^"]*)`), 10*time.Second)
	if !strings.Contains(msg, "unknown action") {
		t.Errorf("the log says %q", msg)
	}
	resp, err := http.Get(url + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	var h api.Health
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || h.Shadow == nil || !strings.Contains(h.Shadow.Error, "shadow.toml:1:11") {
		t.Errorf("health after a bad reload: %+v, %v", h.Shadow, err)
	}
	post(t, url, []event{ev(2)})
	if d := latest(2)[0]; d.ShadowAction != "deny" {
		t.Errorf("after a bad reload: shadow %q, want the previous policy's deny", d.ShadowAction)
	}

	writeFile(t, dir, "shadow.toml", "[[rule]]\nname = \"home\"\nwhen = 'ip == \"203.0.113.9\"'\naction = \"challenge\"\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.await(t, regexp.MustCompile(`shadow policy (reloaded)`), 10*time.Second)
	post(t, url, []event{ev(3)})
	if d := latest(3)[0]; d.ShadowAction != "challenge" || d.ShadowRule != "home" {
		t.Errorf("after a good reload: shadow %q by %q", d.ShadowAction, d.ShadowRule)
	}
}

// TestShadowPolicyInTmux: with a shadow policy, Live shows the SHADOW
// column, and What-if's p replays the policy over the stored decisions.
func TestShadowPolicyInTmux(t *testing.T) {
	dir := t.TempDir()
	shadow := writeFile(t, dir, "shadow.toml", "[[rule]]\nname = \"home net\"\nwhen = 'ip24 == \"203.0.113.0/24\"'\naction = \"challenge\"\n")
	s, url := dashboard(t, 160, 40, "--shadow-policy", shadow)
	var evs []event
	for i := range 6 {
		evs = append(evs, event{ID: fmt.Sprintf("sh%d", i), User: fmt.Sprintf("u%d", i), Email: "a@example.com",
			IP: fmt.Sprintf("203.0.113.%d", 1+i%2*100), UA: uaChrome, Type: "login/succeeded"})
	}
	post(t, url, evs)
	s.waitScreen("the shadow column", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "SHADOW") && strings.Count(scr, "challenge home net") == 6 && strings.Contains(scr, "6 decisions")
	})
	s.keys("4")
	s.waitScreen("What-if", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "[4 What-if]") })
	s.keys("p")
	s.waitScreen("the replay of the shadow policy", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "safe-e \\ policy") && regexp.MustCompile(`home net\s+6\s+6\s+0`).MatchString(scr)
	})
}
