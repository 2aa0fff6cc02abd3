package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

func TestLabelCommands(t *testing.T) {
	db := exportStore(t) // user u1, events ea..ed
	code, out, errs := runCLI(t, nil, "label", "--db", db, "--class", "fraud", "--reason", "chargeback 1", "--user", "u1")
	if code != 0 || !strings.Contains(out, "labelled user u1 fraud") {
		t.Fatalf("label: %d %q %q", code, out, errs)
	}
	if code, _, errs = runCLI(t, nil, "label", "--db", db, "--class", "fraud", "--reason", "x", "--user", "u1", "--ip", "1.2.3.4"); code == 0 || !strings.Contains(errs, "one subject") {
		t.Errorf("two subjects: %d %q", code, errs)
	}
	if code, _, errs = runCLI(t, nil, "label", "--db", db, "--class", "chargeback", "--reason", "x", "--user", "u1"); code == 0 || !strings.Contains(errs, "unknown label") {
		t.Errorf("a bad class: %d %q", code, errs)
	}

	// A file with bad lines imports nothing and names each line.
	bad := writeFile(t, t.TempDir(), "bad.csv", "\ufeffevent_id,user_id,label,reason\r\nea,,legit,ok\r\n,nobody,fraud,x\r\neb,,refund,x\r\nec,u1,fraud,x\r\n")
	code, out, _ = runCLI(t, nil, "labels", "import", bad, "--db", db, "--json")
	var sum api.ImportSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	var lines []int
	for _, e := range sum.Errors {
		lines = append(lines, e.Line)
	}
	if code != 1 || sum.Rows != 4 || sum.Imported != 0 || sum.Unmatched != 1 || !equalInts(lines, []int{3, 4, 5}) {
		t.Fatalf("bad file: %d %+v", code, sum)
	}
	code, out, _ = runCLI(t, nil, "labels", "import", bad, "--db", db, "--partial", "--map", "refund=legit")
	if code != 1 || !strings.Contains(out, "imported 2, unmatched 1, bad lines 2") || !strings.Contains(out, "line 3: no stored decision has user \"nobody\"") {
		t.Fatalf("partial import: %d %q", code, out)
	}
	wrong := writeFile(t, t.TempDir(), "wrong.csv", "user,label\nu1,fraud\n")
	if code, out, _ = runCLI(t, nil, "labels", "import", wrong, "--db", db); code != 1 || !strings.Contains(out, `line 1: header: unknown column "user"`) {
		t.Errorf("wrong columns: %d %q", code, out)
	}
	good := writeFile(t, t.TempDir(), "good.csv", "event_id,label\nec,chargeback\n")
	if code, out, _ = runCLI(t, nil, "labels", "import", good, "--db", db, "--map", "chargeback=fraud", "--dry-run"); code != 0 || !strings.Contains(out, "would import 1") {
		t.Errorf("dry run: %d %q", code, out)
	}

	code, out, _ = runCLI(t, nil, "labels", "list", "--db", db, "--json")
	var inForce []decision.LabelEntry
	if err := json.Unmarshal([]byte(out), &inForce); code != 0 || err != nil || len(inForce) != 3 {
		t.Fatalf("list: %d %v %q", code, err, out)
	}
	code, out, _ = runCLI(t, nil, "labels", "export", "--db", db)
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"source":"import"`) {
		t.Fatalf("export: %d %q", code, out)
	}

	// Decisions carry their label: ea legit (event), eb legit (event,
	// mapped refund), the others fraud (user u1).
	code, out, _ = runCLI(t, nil, "export", "--db", db)
	if code != 0 || strings.Count(out, `"label":"legit"`) != 2 || strings.Count(out, `"label":"fraud"`) != 2 {
		t.Fatalf("export with labels: %d %q", code, out)
	}
	code, out, _ = runCLI(t, nil, "export", "--db", db, "--format", "csv")
	if code != 0 || !strings.Contains(strings.SplitN(out, "\n", 2)[0], ",label,") {
		t.Fatalf("csv header: %q", out)
	}

	// The store: risks 20 allow (legit), 40 deny (legit), 60 deny (fraud),
	// 80 error. Deny from 50: one fraud denied, no legit denied.
	code, out, errs = runCLI(t, nil, "whatif", "--db", db, "--score", "risk", "--challenge", "30", "--deny", "50", "--json", "--fit")
	var r struct {
		Labels    map[string]map[string]uint64 `json:"labels"`
		Unlabeled uint64                       `json:"unlabeled"`
		Metrics   decision.PolicyMetrics       `json:"metrics"`
		Today     struct {
			Metrics decision.PolicyMetrics `json:"metrics"`
		} `json:"today"`
		Curve []decision.CurvePoint `json:"curve"`
		Fit   *struct{}             `json:"fit"`
	}
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("whatif: %d %v %q %q", code, err, out, errs)
	}
	if r.Labels["fraud"]["deny"] != 1 || r.Labels["legit"]["challenge"] != 1 || r.Labels["legit"]["allow"] != 1 || r.Unlabeled != 0 ||
		r.Metrics.Deny.Precision != 1 || r.Today.Metrics.Deny.Precision != 0.5 || len(r.Curve) != 101 || r.Fit == nil {
		t.Fatalf("whatif: %q", out)
	}
	code, out, _ = runCLI(t, nil, "whatif", "--db", db, "--deny", "50")
	if code != 0 || !strings.Contains(out, "simulated deny") || !strings.Contains(out, "label lag") {
		t.Fatalf("whatif text: %d %q", code, out)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// With a collector holding the file, labels go through it (the ingest
// token), a federation refuses them, and whatif reads the same over
// --connect as over the file.
func TestLabelCommandsConnect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	url, stop := runningCollector(t, path)
	env := map[string]string{"RISKWATCH_INGEST_TOKEN": connectToken}
	if code, _, errs := runCLI(t, nil, "label", "--connect", url, "--class", "fraud", "--reason", "x", "--user", "u/1"); code == 0 || !strings.Contains(errs, "ingest token") {
		t.Fatalf("a label without the token: %d %q", code, errs)
	}
	if code, out, errs := runCLI(t, env, "label", "--connect", url, "--class", "fraud", "--reason", "x", "--user", "u/1"); code != 0 || !strings.Contains(out, "labelled user u/1 fraud") {
		t.Fatalf("a label with the token: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, env, "label", "--connect", url+","+strings.Replace(url, "127.0.0.1", "localhost", 1), "--class", "fraud", "--reason", "x", "--user", "u/1"); code == 0 || !strings.Contains(errs, "one collector") {
		t.Errorf("a label to a federation: %d %q", code, errs)
	}
	csv := writeFile(t, t.TempDir(), "l.csv", "event_id,label\nraw,legit\nnope,fraud\n")
	if code, out, _ := runCLI(t, env, "labels", "import", csv, "--connect", url); code != 1 || !strings.Contains(out, "line 3: no stored decision has event") || !strings.Contains(out, "imported 0") {
		t.Fatalf("import over --connect: %d %q", code, out)
	}
	args := []string{"whatif", "--deny", "50", "--json"}
	code, remote, errs := runCLI(t, env, append(args, "--connect", url)...)
	if code != 0 || !strings.Contains(remote, `"fraud"`) {
		t.Fatalf("whatif --connect: %d %q", code, errs)
	}
	stop()
	if code, local, _ := runCLI(t, nil, append(args, "--db", path)...); code != 0 || local != remote {
		t.Errorf("whatif over the file differs:\n%.800s\n%.800s", local, remote)
	}
}
