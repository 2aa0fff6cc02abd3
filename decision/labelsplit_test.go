package decision

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLabelSplitJSON: the counts round-trip, the metrics are those of
// ClassCounts.Metrics, and the JSON field names are SPEC's snake_case.
func TestLabelSplitJSON(t *testing.T) {
	var s LabelSplit
	for _, p := range []struct {
		l LabelClass
		a Action
	}{{LabelFraud, ActionDeny}, {LabelFraud, ActionDeny}, {LabelFraud, ActionChallenge}, {LabelFraud, ActionAllow},
		{LabelLegit, ActionDeny}, {LabelLegit, ActionAllow}, {LabelLegit, ActionAllow}, {LabelLegit, ActionError}, {"", ActionDeny}, {LabelRetract, ActionDeny}} {
		s.Labels.Count(p.l, p.a)
	}
	if s.Labels != (ClassCounts{{1, 1, 2}, {2, 0, 1}}) {
		t.Fatalf("counts %v", s.Labels)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"labels":{"fraud":{"allow":1,"challenge":1,"deny":2}`, `"legit":{"allow":2,"challenge":0,"deny":1}`,
		`"deny":{"tp":2,"fp":1,"fn":2,"tn":2,"precision":0.6666666666666666,"recall":0.5,"false_positive_rate":0.3333333333333333}`,
		`"challenge_or_deny":{"tp":3,"fp":1,"fn":1,"tn":2,"precision":0.75,"recall":0.75`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s lacks %s", b, key)
		}
	}
	var back LabelSplit
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("round trip: %v, %v", back, err)
	}
	for _, bad := range []string{`{"labels":{"spam":{"deny":1}}}`, `{"labels":{"fraud":{"error":1}}}`,
		`{"labels":{"fraud":{"deny":-1}}}`, `{"labels":[]}`, `[`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzLabelSplitJSON: whatever a collector answers, decoding does not
// panic, and what decodes encodes to counts that decode the same.
func FuzzLabelSplitJSON(f *testing.F) {
	f.Add([]byte(`{"labels":{"fraud":{"allow":1,"challenge":1,"deny":2},"legit":{"deny":3}},"metrics":{}}`))
	f.Add([]byte(`{"labels":{"fraud":{"deny":18446744073709551615}}}`))
	f.Add([]byte(`{"labels":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s LabelSplit
		if json.Unmarshal(data, &s) != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back LabelSplit
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%s: round trip %v, %v", b, back, err)
		}
	})
}
