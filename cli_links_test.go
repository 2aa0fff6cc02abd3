package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// linksStore writes a ring of four users on one IP (r0 to r3, r3 denied),
// r0 also behind a NAT shared by 60 users, and returns its path.
func linksStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "links.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var rs []store.Result
	add := func(user, ip string, a decision.Action, risk float64) {
		rs = append(rs, store.Result{Decision: decision.Decision{EventID: fmt.Sprintf("e%d", len(rs)), Source: "test", Type: "$login",
			UserID: user, IP: ip, Action: a, Risk: risk, EventTime: now.Add(-time.Hour),
			Request: json.RawMessage(`{}`), Response: json.RawMessage(`{}`)}})
	}
	for i := range 4 {
		a := decision.ActionAllow
		if i == 3 {
			a = decision.ActionDeny
		}
		add(fmt.Sprintf("r%d", i), "198.51.100.7", a, float64(30+20*i))
	}
	for i := range 60 {
		add(fmt.Sprintf("n%02d", i), "100.64.0.1", decision.ActionAllow, 1)
	}
	add("r0", "100.64.0.1", decision.ActionAllow, 1)
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLinksCommand(t *testing.T) {
	path := linksStore(t)
	code, out, stderr := runCLI(t, nil, "links", "r0", "--db", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"r0\n",
		"├─ ip 100.64.0.1  supernode: 60 users, not listed\n",
		"ip 198.51.100.7  3 users\n",
		"r3  1 event  max risk 90  1 deny\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the tree lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr = runCLI(t, nil, "links", "r0", "--db", path, "--json", "--cap", "100", "--window", "2h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var ls decision.Links
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if ls.User != "r0" || len(ls.Links) != 4 || ls.Links[0].Supernode || ls.Links[0].Count != 60 {
		t.Errorf("--json --cap 100: %s", out)
	}
	code, out, _ = runCLI(t, nil, "links", "r0", "--db", path, "--window", "30m")
	if code != 0 || !strings.Contains(out, "r0 shares no IP, network, email domain or device with another user in the last 30m0s") {
		t.Errorf("an empty window: %d %s", code, out)
	}

	for _, args := range [][]string{
		{"links", "r0", "--db", path, "--depth", "3"},
		{"links", "r0", "--db", path, "--cap", "0"},
		{"links", "r0", "--db", path, "--window", "soon"},
		{"links", "--db", path},
		{"links", "r0", "--db", filepath.Join(t.TempDir(), "none.db")},
	} {
		if code, _, stderr := runCLI(t, nil, args...); code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestLinksCommandConnect(t *testing.T) {
	path := linksStore(t)
	c := collectortest.Start(t, collectortest.Options{Path: path, Token: connectToken})
	env := map[string]string{"RISKWATCH_INGEST_TOKEN": connectToken}
	_, fromCollector, stderr := runCLI(t, env, "links", "r1", "--connect", c.URL, "--json", "--depth", "2")
	other := collectortest.Start(t, collectortest.Options{Token: connectToken})
	_, federated, fedErr := runCLI(t, env, "links", "r1", "--connect", c.URL+","+other.URL, "--json", "--depth", "2")
	c.Stop()
	_, fromFile, _ := runCLI(t, nil, "links", "r1", "--db", path, "--json", "--depth", "2")
	if fromCollector == "" || fromCollector != fromFile {
		t.Errorf("--connect:\n%s%s\n--db:\n%s", fromCollector, stderr, fromFile)
	}
	if federated != fromFile {
		t.Errorf("two collectors, one of them empty:\n%s%s", federated, fedErr)
	}
}
