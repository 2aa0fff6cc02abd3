package tui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// remoteToken is the token of the test collectors.
const remoteToken = "tui-remote-token"

// testCollector is a real collector on loopback: a bbolt store in
// t.TempDir(), the emulator as Safe-e, and its HTTP ingest and read API.
type testCollector struct {
	*collectortest.Collector
}

// startCollector runs a real collector over a new store holding seed (with
// the times the store gives them), scoring with the emulator, until the
// test ends.
func startCollector(t *testing.T, seed []decision.Decision) *testCollector {
	t.Helper()
	c := collectortest.Start(t, collectortest.Options{Token: remoteToken, Before: func(db *store.DB) error {
		if len(seed) == 0 {
			return nil
		}
		rs := make([]store.Result, len(seed))
		for i, d := range seed {
			rs[i] = store.Result{Decision: d}
		}
		_, err := db.Complete(context.Background(), rs)
		return err
	}})
	return &testCollector{c}
}

// post sends events, one JSON object each, to the collector's ingest as
// NDJSON and fails unless all are accepted.
func (c *testCollector) post(t *testing.T, events ...[]byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.URL+"/v1/events", bytes.NewReader(bytes.Join(events, []byte("\n"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+remoteToken)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("posting %d events: %s", len(events), resp.Status)
	}
}

// waitScored waits until the store holds at least n decisions and nothing
// waits in the inbox.
func (c *testCollector) waitScored(t *testing.T, n uint64) {
	t.Helper()
	c.WaitScored(t, n, flowWait)
}

// loginEvent is a successful login of user, as an application posts it.
func loginEvent(user string) []byte {
	return fmt.Appendf(nil, `{"type":"$login","status":"$succeeded","user":{"user_id":%q,"user_email":"live@example.com","user_ip":"198.51.100.7"}}`, user)
}

// `riskwatch tui --db`: a database read without a collector shows its
// decisions as read-only, with no scoring or Safe-e warnings and no
// disconnection, since nothing was ever live.
func TestFlowReadOnlyDatabase(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "ro.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seed := fixture.Decisions(1, stored, fixture.Now())
	rs := make([]store.Result, len(seed))
	for i, d := range seed {
		rs[i] = store.Result{Decision: d}
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{Data: collector.NewStoreReader(db, nil), Theme: "dark", Source: "database ro.db", Mode: api.ModeReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	f := startFlow(t, m, nil, "usr_006", "read-only")
	f.keys("5")
	f.wait(t, "[5 Health]", "mode read-only")
	s := *f.screen.Load()
	for _, bad := range []string{"Safe-e unreachable", "scoring stopped", "DISCONNECTED", "collector unreachable"} {
		if strings.Contains(s, bad) {
			t.Errorf("a read-only database shows %q:\n%s", bad, s)
		}
	}
}
