package collector

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollectorSourcesCommitThroughIntakes: a tailed file and the HTTP
// ingest each commit through their own intake on the collector's metrics;
// health lists them in order with what their intakes counted, and the
// pipeline scores what both accepted.
func TestCollectorSourcesCommitThroughIntakes(t *testing.T) {
	db := openTestStore(t)
	emu := newEmulator(t)
	path := filepath.Join(t.TempDir(), "app.ndjson")
	if err := os.WriteFile(path, []byte(tailEvLine("f1")+"not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c, err := New(Options{DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Listener: ln, Registry: reg,
		Files:  []FileOptions{{Path: path, FromStart: true, Poll: tailPoll}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	stop := runInBackground(t, "collector", 10*time.Second, c.Run)
	resp, err := http.Post("http://"+c.Addr()+"/v1/events", "application/x-ndjson",
		strings.NewReader(srvEvent("h1")+"\n"+`{"status":"$succeeded"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}
	waitFor(t, "both events to be scored", 10*time.Second, func() bool {
		return decisionCount(t, db) == 2 && db.InboxDepth() == 0
	})

	h := c.Health(context.Background())
	if len(h.Sources) != 2 {
		t.Fatalf("health sources %+v, want the file and http", h.Sources)
	}
	file, web := h.Sources[0], h.Sources[1]
	if file.Name != "file:"+path || file.LinesRead != 2 || file.Rejected != 1 || len(file.LastRejects) != 1 {
		t.Errorf("file source %+v", file)
	}
	if web.Name != "http "+c.Addr() || web.State != "listening" || web.LinesRead != 2 || web.Rejected != 1 ||
		len(web.LastRejects) != 1 || !strings.HasPrefix(web.LastRejects[0], "line 2: ") {
		t.Errorf("http source %+v", web)
	}
	m := c.metrics
	for source, class := range map[string]string{"file:" + path: "not_json", "http": "missing_type"} {
		if got := testutil.ToFloat64(m.EventsAccepted.WithLabelValues(source)); got != 1 {
			t.Errorf("accepted{source=%q} = %v, want 1", source, got)
		}
		if got := testutil.ToFloat64(m.EventsRejected.WithLabelValues(source, class)); got != 1 {
			t.Errorf("rejected{source=%q,reason=%q} = %v, want 1", source, class, got)
		}
	}
	stop()
	if st := c.sources[1].Stats(); st.State != "stopped" {
		t.Errorf("http source after Run: %q, want stopped", st.State)
	}
}
