package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// explainStore writes an hour of ordinary traffic and a window of ten
// minutes ending at until with a spike from 203.0.113.0/24 using curl,
// and returns the database's path.
func explainStore(t *testing.T, until time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	uas := []string{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"}
	var rs []store.Result
	add := func(i int, at time.Time, ip, ua string) {
		rs = append(rs, store.Result{Decision: decision.Decision{EventID: fmt.Sprintf("x%d", i), Source: "test",
			Type: "$login", UserID: fmt.Sprintf("u%d", i%97), EventTime: at, IP: ip, UserAgent: ua, Action: decision.ActionAllow}})
	}
	for i := range 1400 {
		// 1200 in the hour before the window, 200 in it.
		at := until.Add(-70*time.Minute + time.Duration(i)*3*time.Second)
		add(i, at, fmt.Sprintf("10.0.%d.%d", i%40, 1+i%200), uas[i%2])
	}
	for i := range 80 {
		add(2000+i, until.Add(-time.Duration(1+i*7)*time.Second), fmt.Sprintf("203.0.113.%d", 1+i), "curl/8.5.0")
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExplainCommand(t *testing.T) {
	until := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	path := explainStore(t, until)
	at := until.Format(time.RFC3339)

	code, out, stderr := runCLI(t, nil, "explain", "--db", path, "--until", at)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(out, "\n")
	if !strings.Contains(out, "(280 decisions)") || !strings.Contains(out, "(1200 decisions)") || len(lines) < 6 ||
		!strings.Contains(lines[5], "ip24=203.0.113.0/24 + ua_family=curl") || !strings.Contains(lines[5], "ip:203.0.113.0/24 ua:curl") {
		t.Errorf("explain:\n%s", out)
	}

	code, js, stderr := runCLI(t, nil, "explain", "--db", path, "--until", at, "--json")
	var e struct {
		Window  struct{ Count int } `json:"window"`
		Drivers []struct {
			Dimension, Value string
			Window           int
			With             []struct{ Dimension, Value string }
		} `json:"drivers"`
	}
	if err := json.Unmarshal([]byte(js), &e); code != 0 || err != nil || e.Window.Count != 280 || len(e.Drivers) == 0 ||
		e.Drivers[0].Window != 80 || len(e.Drivers[0].With) != 1 {
		t.Errorf("explain --json: exit %d, %v: %s %s", code, err, js, stderr)
	}

	code, out, _ = runCLI(t, nil, "explain", "--db", path, "--until", at, "--filter", "-ip:203.0.113.0/24")
	if code != 0 || !strings.Contains(out, "no driver") {
		t.Errorf("without the spike:\n%s", out)
	}

	// A collector holding the file answers the same.
	c := collectortest.Start(t, collectortest.Options{Path: path, Token: connectToken, Seed: 3})
	env := map[string]string{"RISKWATCH_INGEST_TOKEN": connectToken}
	code, remote, stderr := runCLI(t, env, "explain", "--connect", c.URL, "--until", at, "--json")
	if code != 0 || remote != js {
		t.Errorf("--connect: exit %d %s\n%s\nwant\n%s", code, stderr, remote, js)
	}
	c.Stop()

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "spike"}, `--mode: unknown mode "spike" (want volume, deny or label)`},
		{[]string{"--window", "abc"}, `window: "abc": want a positive duration`},
		{[]string{"--baseline", "99d"}, `baseline: "99d": want a number of days from 1 to 28`},
		{[]string{"--until", "soon"}, `until: "soon" is neither a duration ago`},
		{[]string{"--filter", "risk>=x"}, "--filter:"},
	} {
		code, _, stderr := runCLI(t, nil, append([]string{"explain", "--db", path}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, stderr, c.want)
		}
	}
}

// --mode label compares the window's decisions labelled fraud with those
// labelled legit, by the labels imported after the decisions were stored:
// the spike's IPs labelled fraud make its /24 the top driver.
func TestExplainCommandLabelMode(t *testing.T) {
	until := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	path := explainStore(t, until)
	at := until.Format(time.RFC3339)
	var csv strings.Builder
	csv.WriteString("ip,label,reason\n")
	for i := range 80 {
		fmt.Fprintf(&csv, "203.0.113.%d,fraud,ring\n", 1+i)
	}
	for i := 1200; i < 1400; i++ {
		fmt.Fprintf(&csv, "10.0.%d.%d,legit,reviewed\n", i%40, 1+i%200)
	}
	file := filepath.Join(t.TempDir(), "labels.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, nil, "labels", "import", file, "--db", path); code != 0 {
		t.Fatalf("labels import: exit %d %s %s", code, out, stderr)
	}
	code, out, stderr := runCLI(t, nil, "explain", "--db", path, "--until", at, "--mode", "label")
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.HasPrefix(out, "fraud ") || !strings.Contains(out, "(80 decisions) against 200 legit (fraud rate 28.6%)") ||
		len(lines) < 4 || !strings.Contains(lines[3], "ip24=203.0.113.0/24") {
		t.Errorf("explain --mode label: exit %d %s\n%s", code, stderr, out)
	}
	code, js, stderr := runCLI(t, nil, "explain", "--db", path, "--until", at, "--mode", "label", "--json")
	var e struct {
		Mode      string   `json:"mode"`
		FraudRate *float64 `json:"fraud_rate"`
		Drivers   []struct {
			Dimension, Value string
			Window, Baseline int
		} `json:"drivers"`
	}
	if err := json.Unmarshal([]byte(js), &e); code != 0 || err != nil || e.Mode != "label" || e.FraudRate == nil ||
		len(e.Drivers) == 0 || e.Drivers[0].Window != 80 || e.Drivers[0].Baseline != 0 {
		t.Errorf("explain --mode label --json: exit %d, %v: %s %s", code, err, js, stderr)
	}
}
