package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// labelPolicyStore labels every 4th decision of a policyStore database by
// its event, fraud when its risk is 70 or more, and returns the path.
func labelPolicyStore(t *testing.T, n int) string {
	t.Helper()
	path := policyStore(t, n)
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var es []decision.LabelEntry
	for i, d := range policytest.NewSynth(5).Decisions(n) {
		if i%4 != 0 {
			continue
		}
		c := decision.LabelLegit
		if d.ScoreValue(0) >= 70 {
			c = decision.LabelFraud
		}
		es = append(es, decision.LabelEntry{Kind: decision.SubjectEvent, Subject: d.EventID, Class: c, Reason: "test",
			Source: decision.SourceManual, Author: "t", RecordedAt: time.Now()})
	}
	if _, err := db.AppendLabels(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPolicyReplayLabels: with labels in the database, replay and diff
// print the label metrics as text and under "labels" in --json, the same
// the reader answers; the help no longer says there are none.
func TestPolicyReplayLabels(t *testing.T) {
	const n = 1000
	db := labelPolicyStore(t, n)
	dir := t.TempDir()
	ten := writeFile(t, dir, "ten.toml", policytest.TenRules)
	one := writeFile(t, dir, "one.toml", "[[rule]]\nname = \"high risk\"\nwhen = \"risk >= 80\"\naction = \"deny\"\n")

	code, out, stderr := runCLI(t, nil, "policy", "replay", "--db", db, "--json", ten)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(out)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"labels":{"live":{"labels":{`, `"policy":{"labels":{`, `"unlabeled":750`,
		`"challenge_or_deny":{`, `"precision":`, `"recall":`, `"false_positive_rate":`} {
		if !strings.Contains(compact.String(), key) {
			t.Errorf("replay --json has no %s:\n%s", key, out)
		}
	}
	var got policy.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	sdb, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := collector.NewStoreReader(sdb, nil).Replay(context.Background(), api.ReplayQuery{Name: ten, Policy: policytest.TenRules})
	sdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustMarshal(t, got), mustMarshal(t, want); a != b || got.Labels == nil {
		t.Errorf("replay printed\n%s\nthe reader answers\n%s", a, b)
	}

	code, out, stderr = runCLI(t, nil, "policy", "replay", "--db", db, ten)
	m := want.Labels.Policy.Labels.Metrics()
	row := fmt.Sprintf("%.3f", m.ChallengeOrDeny.Recall)
	if code != 0 || !strings.Contains(out, "labels: 250 labelled, 750 unlabelled") || !strings.Contains(out, "deny prec") ||
		!strings.Contains(out, row) {
		t.Errorf("replay as text: exit %d, want the labels and %s:\n%s%s", code, row, out, stderr)
	}

	code, out, stderr = runCLI(t, nil, "policy", "diff", "--db", db, ten, one)
	if code != 0 || !strings.Contains(out, "labels: 250 labelled, 750 unlabelled") || strings.Count(out, "ten.toml") < 2 {
		t.Errorf("diff as text: exit %d:\n%s%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, nil, "policy", "diff", "--db", db, "--json", ten, one)
	var dr policy.DiffReport
	compact.Reset()
	if err := json.Compact(&compact, []byte(out)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &dr); code != 0 || err != nil || dr.Labels == nil || dr.Labels.Unlabeled != 750 ||
		!strings.Contains(compact.String(), `"old":{"labels":`) || !strings.Contains(compact.String(), `"new":{"labels":`) {
		t.Errorf("diff --json: exit %d, %v:\n%s", code, err, out)
	}

	code, out, stderr = runCLI(t, nil, "policy", "replay", "--db", db, "--json", "--as-of", "2000-01-01T00:00:00Z", ten)
	if code != 0 || strings.Contains(out, `"labels"`) || !strings.Contains(out, `"decisions": 1000`) {
		t.Errorf("replay --as-of before the labels: exit %d:\n%s%s", code, out, stderr)
	}
	if code, _, stderr = runCLI(t, nil, "policy", "replay", "--db", db, "--as-of", "yesterday-ish", ten); code == 0 || !strings.Contains(stderr, "--as-of") {
		t.Errorf("a bad --as-of: exit %d, %q", code, stderr)
	}

	_, help, _ := runCLI(t, nil, "policy", "replay", "--help")
	if strings.Contains(help, "not reported") || !strings.Contains(help, "challenge-or-deny") {
		t.Errorf("replay --help:\n%s", help)
	}
}
