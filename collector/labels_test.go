package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// TestPostLabels writes labels over HTTP: the ingest token rule, the
// write through Remote, and the labels reads, the decisions' labels and
// the what-if with labels of the same collector.
func TestPostLabels(t *testing.T) {
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, readToken)
	n := postEvents(t, lc.url, readToken, "mixed", 3, 30)
	waitScored(t, lc.db, uint64(n))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	remote, err := api.Dial(lc.url, readToken, api.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	latest, err := remote.Latest(ctx, api.LatestQuery{N: 1})
	if err != nil || len(latest) != 1 {
		t.Fatalf("latest: %v, %v", latest, err)
	}
	user := latest[0].UserID

	body, _ := json.Marshal(api.LabelWrite{Labels: []api.LabelInput{{Kind: decision.SubjectUser, Subject: user, Class: decision.LabelFraud, Reason: "chargeback"}}})
	for _, c := range []struct {
		name, header string
		status       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer not-" + readToken, http.StatusUnauthorized},
		{"right token", "Bearer " + readToken, http.StatusOK},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, lc.url+"/v1/labels", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var res api.LabelResult
		_ = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if c.status == http.StatusOK && (len(res.Recorded) != 1 || res.Recorded[0].Subject != user) {
			t.Fatalf("%s: %+v", c.name, res)
		}
	}
	// Only the write with the token was recorded.
	h, err := remote.LabelHistory(ctx, api.LabelHistoryQuery{Kind: decision.SubjectUser, Subject: user})
	if err != nil || len(h.Entries) != 1 || h.Current == nil || h.Current.Class != decision.LabelFraud {
		t.Fatalf("history: %+v, %v", h, err)
	}
	latest, err = remote.Latest(ctx, api.LatestQuery{N: 1})
	if err != nil || latest[0].Label != decision.LabelFraud {
		t.Fatalf("the labelled user's decision carries %q (%v)", latest[0].Label, err)
	}

	// Unmatched subjects and bad labels: nothing recorded without partial.
	w := api.LabelWrite{RequireMatch: true, Labels: []api.LabelInput{
		{Kind: decision.SubjectIP, Subject: latest[0].IP, Class: decision.LabelLegit},
		{Kind: decision.SubjectUser, Subject: "nobody-has-this-user", Class: decision.LabelFraud},
		{Kind: decision.SubjectUser, Subject: user, Class: "chargeback"},
	}}
	res, err := remote.Label(ctx, w)
	if err != nil || len(res.Recorded) != 0 || res.Unmatched != 1 || len(res.Problems) != 2 || res.Problems[0].Index != 1 || res.Problems[1].Index != 2 {
		t.Fatalf("a write with bad labels: %+v, %v", res, err)
	}
	w.Partial = true
	if res, err = remote.Label(ctx, w); err != nil || len(res.Recorded) != 1 {
		t.Fatalf("a partial write: %+v, %v", res, err)
	}
	stats, err := remote.LabelStats(ctx, api.LabelStatsQuery{})
	if err != nil || stats.Entries != 2 || stats.InForce[decision.LabelFraud][decision.SubjectUser] != 1 || stats.InForce[decision.LabelLegit][decision.SubjectIP] != 1 {
		t.Fatalf("stats: %+v, %v", stats, err)
	}
	wi, err := remote.LabelWhatIf(ctx, api.LabelWhatIfQuery{Thresholds: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}})
	if err != nil {
		t.Fatal(err)
	}
	r := wi.Report()
	if r.Simulated.Labels[decision.ClassFraud] == (decision.ByAction{}) || r.Unlabeled == 0 {
		t.Fatalf("what-if with labels: %+v", r.Simulated)
	}
	// Everything is younger than a day: --mature 24h leaves nothing.
	wi, err = remote.LabelWhatIf(ctx, api.LabelWhatIfQuery{Thresholds: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}, Mature: 24 * time.Hour})
	if r := wi.Report(); err != nil || r.Unlabeled != 0 || r.Matrix != ([3][3]uint64{}) {
		t.Fatalf("mature 24h: %+v, %v", r.Matrix, err)
	}

	fed, err := api.Federate(api.Member{Name: lc.url, Reader: remote})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Label(ctx, w); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "one collector") {
		t.Errorf("a write to a federation: %v", err)
	}
}
