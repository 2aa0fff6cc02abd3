package policy

import (
	"encoding/json"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

// TestReportJSONRoundTrip checks a report reads back from its JSON, as a
// remote client of the replay route would read it.
func TestReportJSONRoundTrip(t *testing.T) {
	rep, err := Replay(mustParse(t, tenRules), stream(newSynth(10).decisions(3000)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := mustJSON(t, rep)
	var back Report
	if err := json.Unmarshal([]byte(b), &back); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, &back); got != b {
		t.Errorf("round trip:\n%s\n%s", b, got)
	}
	var c Counts
	if err := json.Unmarshal([]byte(`{"allow":1,"block":2}`), &c); err == nil {
		t.Error("counts with an unknown action read without error")
	}
	var m Matrix
	if err := json.Unmarshal([]byte(`{"block":{"allow":1}}`), &m); err == nil {
		t.Error("matrix with an unknown action read without error")
	}
	m.Add(decision.ActionDeny, decision.ActionAllow)
	m.Add("unknown", decision.ActionAllow)
	if m[2][0] != 1 || (Matrix{})[2][0] != 0 {
		t.Errorf("matrix %v", m)
	}
}
