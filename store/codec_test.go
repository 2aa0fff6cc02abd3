package store

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func TestRecordRoundTrips(t *testing.T) {
	t0 := time.Date(2026, 7, 8, 9, 10, 11, 12, time.UTC)
	ev := InboxEvent{EventID: "id", Source: "http", ReceivedAt: t0, Body: []byte(`{"a":1}`)}
	var gotEv InboxEvent
	if err := decodeInbox(encodeInbox(nil, &ev), &gotEv); err != nil || fmt.Sprint(gotEv) != fmt.Sprint(ev) {
		t.Errorf("inbox event: %+v %v", gotEv, err)
	}
	rj := Rejected{Time: t0, Source: "file:x", Position: "line 3", Reason: "invalid UTF-8", Head: []byte{0xff, 0xfe}}
	var gotRj Rejected
	if err := decodeRejected(encodeRejected(nil, &rj), &gotRj); err != nil || fmt.Sprint(gotRj) != fmt.Sprint(rj) {
		t.Errorf("rejected: %+v %v", gotRj, err)
	}
	cp := Checkpoint{Source: "file:x", FileID: "8:12345", Offset: 1 << 40}
	if got, err := decodeCheckpoint("file:x", encodeCheckpoint(nil, &cp)); err != nil || got != cp {
		t.Errorf("checkpoint: %+v %v", got, err)
	}
	s := decision.UserSummary{UserID: "u", Email: "e", LastIP: "1.2.3.4", LastCountry: "FR", FirstSeen: t0, LastSeen: t0.Add(time.Hour), Count: 9, Denies: 2, Challenges: 3, MaxRisk: 97.5}
	var gotS decision.UserSummary
	if err := decodeSummary("u", encodeSummary(nil, &s), &gotS); err != nil || fmt.Sprint(gotS) != fmt.Sprint(s) {
		t.Errorf("summary: %+v %v", gotS, err)
	}
	for _, tm := range []time.Time{{}, time.Unix(0, 0).UTC(), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)} {
		e := encoder{}
		e.time(tm)
		r := decoder{b: e.b}
		if got := r.time(); !got.Equal(tm) || r.err != nil {
			t.Errorf("time %v decoded as %v (%v)", tm, got, r.err)
		}
	}
}

func TestRollupRoundTrip(t *testing.T) {
	g := newFakeGen(3, 10, 10)
	r := rollup{}
	for i := range 500 {
		d := g.decision(i)
		r.add(&d)
	}
	enc := r.encode(nil)
	back := rollup{}
	if err := back.decodeInto(enc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.encode(nil), enc) {
		t.Error("rollup does not round-trip")
	}
	back.merge(r)
	for name, tr := range back {
		for a, c := range tr.counts {
			if c != 2*r[name].counts[a] {
				t.Fatalf("merge of %s: %d, want %d", name, c, 2*r[name].counts[a])
			}
		}
	}
	totals, err := rollupTotals(enc)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range totals {
		n += c
	}
	if n != 500 {
		t.Errorf("rollup totals count %d decisions, want 500", n)
	}
}

func TestWindowSecs(t *testing.T) {
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to time.Time
		f, t     int64
	}{
		{base, base.Add(time.Hour), base.Unix(), base.Unix() + 3600},
		{base.Add(90 * time.Second), base.Add(150 * time.Second), base.Unix() + 60, base.Unix() + 180},
		{base.Add(time.Nanosecond), base.Add(time.Minute + time.Nanosecond), base.Unix(), base.Unix() + 120},
		{time.Time{}, time.Time{}, 0, maxRollupSec},
		{time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), base, 0, base.Unix()},
	} {
		f, to := windowSecs(c.from, c.to)
		if f != c.f || to != c.t {
			t.Errorf("windowSecs(%s, %s) = %d, %d; want %d, %d", c.from, c.to, f, to, c.f, c.t)
		}
	}
	spans := rollupSpans(base.Unix()-120, base.Unix()+2*3600+60)
	if len(spans) != 3 || string(spans[1].bucket) != string(bktHours) || spans[1].to-spans[1].from != 2*3600 {
		t.Errorf("rollupSpans = %+v, want minutes, two hours, minutes", spans)
	}
}

// FuzzDecodeDecision feeds arbitrary bytes to the decision decoder: it must
// fail cleanly, and whatever it accepts must survive a re-encode.
func FuzzDecodeDecision(f *testing.F) {
	g := newFakeGen(1, 5, 5)
	for i := range 4 {
		d := g.decision(i)
		enc := encodeDecision(nil, &d)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
		f.Add(enc[:len(enc)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{decisionV})
	f.Add([]byte{decisionV, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{2, 0, 0})
	key := makeDecKey(1, 1)
	f.Fuzz(func(t *testing.T, val []byte) {
		var d decision.Decision
		if err := decodeDecision(key[:], val, &d, true); err != nil {
			return
		}
		var again decision.Decision
		if err := decodeDecision(key[:], encodeDecision(nil, &d), &again, true); err != nil {
			t.Fatalf("re-encoded decision does not decode: %v", err)
		}
		if fmt.Sprint(again) != fmt.Sprint(d) {
			t.Fatalf("re-encode changed the decision:\n%+v\n%+v", d, again)
		}
		peekUser(val)
	})
}

// FuzzDecodeRollup feeds arbitrary bytes to the rollup decoders.
func FuzzDecodeRollup(f *testing.F) {
	g := newFakeGen(2, 5, 5)
	r := rollup{}
	for i := range 50 {
		d := g.decision(i)
		r.add(&d)
	}
	enc := r.encode(nil)
	f.Add(enc)
	f.Add(enc[:len(enc)/3])
	f.Add([]byte{rollupV, 0, 0, 0, 0, 1, 1, 'x', 0, 0, 0, 0, 3, 0xff, 0x7f, 1, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, val []byte) {
		_, _ = rollupTotals(val)
		got := rollup{}
		if err := got.decodeInto(val); err != nil {
			return
		}
		again := rollup{}
		if err := again.decodeInto(got.encode(nil)); err != nil {
			t.Fatalf("re-encoded rollup does not decode: %v", err)
		}
	})
}

// FuzzDecodeRecords covers the small record decoders.
func FuzzDecodeRecords(f *testing.F) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Add(encodeInbox(nil, &InboxEvent{EventID: "x", Body: []byte("{}"), ReceivedAt: t0}))
	f.Add(encodeRejected(nil, &Rejected{Time: t0, Reason: "r", Head: []byte("h")}))
	f.Add(encodeCheckpoint(nil, &Checkpoint{FileID: "f", Offset: 3}))
	f.Add(encodeSummary(nil, &decision.UserSummary{Email: "e", Count: 1}))
	f.Add([]byte{1, 1, 0xff})
	f.Fuzz(func(t *testing.T, val []byte) {
		var ev InboxEvent
		_ = decodeInbox(val, &ev)
		_, _ = inboxEventID(val)
		var rj Rejected
		_ = decodeRejected(val, &rj)
		_, _ = decodeCheckpoint("s", val)
		var s decision.UserSummary
		_ = decodeSummary("u", val, &s)
	})
}
