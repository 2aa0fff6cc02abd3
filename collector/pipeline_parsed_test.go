package collector

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

func mustParse(t *testing.T, body string) safee.Event {
	t.Helper()
	ev, err := safee.ParseEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestParsedEventsCache: an event is taken once, only with the exact bytes
// it was parsed from; the budget keeps the oldest; forget drops what was put
// up to its mark and nothing after.
func TestParsedEventsCache(t *testing.T) {
	a := mustParse(t, `{"type":"$login","user":{"user_id":"a"}}`)
	b := mustParse(t, `{"type":"$login","user":{"user_id":"b"}}`)
	q := func(id string, ev safee.Event) QueuedEvent {
		return QueuedEvent{ID: id, Event: ev}
	}
	c := newParsedEvents(1 << 20)
	c.put([]QueuedEvent{q("a", a), q("b", b)})
	in := store.InboxEvent{EventID: "a", Body: []byte(`{"type":"$login","user":{"user_id":"a"}}`)}
	if ev, ok := c.take(&in); !ok || ev.UserID != "a" {
		t.Fatalf("take a = %+v, %v", ev, ok)
	}
	if _, ok := c.take(&in); ok {
		t.Fatal("a taken twice")
	}
	other := store.InboxEvent{EventID: "b", Body: []byte(`{"type":"$login","user":{"user_id":"B"}}`)}
	if _, ok := c.take(&other); ok {
		t.Fatal("b taken for different bytes")
	}
	if c.bytes != 0 || len(c.m) != 0 {
		t.Fatalf("after taking everything: %d bytes, %d events held", c.bytes, len(c.m))
	}

	small := newParsedEvents(len(a.Raw) + parsedOverhead)
	small.put([]QueuedEvent{q("a", a), q("b", b)})
	if _, ok := small.m["a"]; !ok || len(small.m) != 1 {
		t.Fatalf("budget of one event holds %v, want only a", small.m)
	}

	c.put([]QueuedEvent{q("a", a)})
	mark := c.mark()
	c.put([]QueuedEvent{q("b", b)})
	c.forget(mark)
	if _, ok := c.m["a"]; ok {
		t.Error("a put before the mark was kept")
	}
	if _, ok := c.m["b"]; !ok {
		t.Error("b put after the mark was dropped")
	}
	if want := len(b.Raw) + parsedOverhead; c.bytes != want {
		t.Errorf("bytes = %d, want %d", c.bytes, want)
	}
}

// TestPipelineUsesRememberedEvents: an event an intake handed over is
// scored and recorded as its source parsed it, not parsed again; one whose
// inbox bytes differ from what was remembered is parsed from the inbox.
func TestPipelineUsesRememberedEvents(t *testing.T) {
	db := openTestStore(t)
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1"))
	defer emu.Close()
	p := NewPipeline(fastPipeline(db, testClient(t, emu.URL+"/api/v1", testKey)))
	in := testIntake(t, db, "test", func(o *IntakeOptions) { o.Notify, o.Queued = p.Notify, p.Remember })

	kept := mustParse(t, `{"type":"$login","event_id":"kept","user":{"user_id":"u1"}}`)
	kept.UserAgent = "remembered" // only the remembered form has it
	changed := mustParse(t, `{"type":"$login","event_id":"changed","user":{"user_id":"u2"}}`)
	changed.UserAgent = "remembered"
	b := in.Batch()
	b.AcceptEvent("kept", kept)
	b.AcceptEvent("changed", changed)
	if _, err := in.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// The inbox now holds other bytes for "changed" than were remembered.
	p.parsed.m["changed"].q.Event = mustParse(t, `{"type":"$login","event_id":"changed","user":{"user_id":"other"}}`)

	runPipeline(t, p)
	waitFor(t, "two decisions", 10*time.Second, func() bool { return decisionCount(t, db) == 2 })
	got := storedByEvent(t, db)
	if d := got["kept"]; d.UserAgent != "remembered" || d.UserID != "u1" || string(d.Request) != string(kept.Raw) {
		t.Errorf("kept: user agent %q, user %q, request %s: not the remembered event", d.UserAgent, d.UserID, d.Request)
	}
	if d := got["changed"]; d.UserAgent != "" || d.UserID != "u2" {
		t.Errorf("changed: user agent %q, user %q: want the inbox's bytes parsed again", d.UserAgent, d.UserID)
	}
}

// BenchmarkParsedEvents compares, per event, what the loader pays to take
// a remembered event (with the intake's hand-over) against parsing the
// inbox's bytes again.
func BenchmarkParsedEvents(b *testing.B) {
	bodies := benchEvents(b, 1000)
	q := make([]QueuedEvent, len(bodies))
	ins := make([]store.InboxEvent, len(bodies))
	for i, body := range bodies {
		ev, err := safee.ParseEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		q[i] = QueuedEvent{ID: ev.EventID, Event: ev}
		ins[i] = store.InboxEvent{EventID: ev.EventID, Body: body}
	}
	b.Run("remembered", func(b *testing.B) {
		c := newParsedEvents(parsedBudget)
		b.ReportAllocs()
		for b.Loop() {
			c.put(append([]QueuedEvent(nil), q...))
			for i := range ins {
				if _, ok := c.take(&ins[i]); !ok {
					b.Fatal("miss")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ins)), "ns/event")
	})
	b.Run("parsed-again", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range ins {
				if _, err := safee.ParseEvent(ins[i].Body); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ins)), "ns/event")
	})
}
