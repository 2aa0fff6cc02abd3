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
	s := summary{email: "e", ip: "1.2.3.4", country: "FR", first: t0.UnixNano(), last: t0.Add(time.Hour).UnixNano(), count: 9, denies: 2, challenges: 3, maxRisk: 97.5,
		emailAt: 5, ipAt: t0.UnixNano(), countryAt: 7}
	var gotS summary
	if err := decodeSummary("u", encodeSummary(nil, &s), &gotS); err != nil || gotS != s {
		t.Errorf("summary: %+v %v", gotS, err)
	}
	// A round-1 summary reads with its last-seen time for its values.
	v1 := summaryV1Of{email: "e", ip: "1.2.3.4", country: "FR", first: 1, last: 9, count: 3, denies: 1, maxRisk: 40}
	if err := decodeSummary("u", v1.encode(), &gotS); err != nil ||
		gotS != (summary{email: "e", ip: "1.2.3.4", country: "FR", first: 1, last: 9, count: 3, denies: 1, maxRisk: 40, emailAt: 9, ipAt: 9, countryAt: 9}) {
		t.Errorf("round-1 summary: %+v %v", gotS, err)
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
	var cs []rollContrib
	v1 := rollupV1{}
	for i := range 500 {
		d := g.decision(i)
		c := contribOf(d.ReceivedAt.UnixNano(), &d)
		cs = append(cs, c)
		r.apply(&c)
		v1.add(&d)
	}
	enc := r.encode(nil)
	if !bytes.Equal(enc, v1.encode()) {
		t.Error("a rollup record differs from round 1's for the same decisions")
	}
	back := rollup{}
	if err := back.decodeInto(enc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.encode(nil), enc) {
		t.Error("rollup does not round-trip")
	}
	for i := range cs {
		back.apply(&cs[i])
	}
	for name, tr := range back {
		for a, c := range tr.counts {
			if c != 2*r[name].counts[a] {
				t.Fatalf("apply to %s: %d, want %d", name, c, 2*r[name].counts[a])
			}
		}
	}
	// Taking the contributions out again leaves the record as it was;
	// taking out more than is there leaves zeros, and no empty types.
	for i := range cs {
		cs[i].neg = true
		back.apply(&cs[i])
	}
	back.clean()
	if !bytes.Equal(back.encode(nil), enc) {
		t.Error("adding and taking out contributions changed the record")
	}
	for i := range cs {
		back.apply(&cs[i])
		back.apply(&cs[i])
	}
	back.clean()
	if len(back) != 0 {
		t.Errorf("after taking out everything twice %d types are left", len(back))
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
// FuzzDecodeDecision feeds arbitrary bytes to the decision decoders: they
// must fail cleanly, and whatever they accept must survive a re-encode.
func FuzzDecodeDecision(f *testing.F) {
	g := newFakeGen(1, 5, 5)
	for i := range 4 {
		d := g.decision(i)
		d.EventTime = d.ReceivedAt.Add(-time.Duration(i) * time.Hour)
		d.ClockSkew = i == 2
		if i == 1 {
			d.ShadowAction, d.ShadowRule = decision.ActionDeny, "stuffing ip"
		}
		for _, enc := range [][]byte{encodeDecision(nil, &d, nil, nil), encodeDecisionV1(nil, &d)} {
			f.Add(enc)
			f.Add(enc[:len(enc)/2])
			f.Add(enc[:len(enc)-1])
		}
		// Records of versions 2 and 3 with tail fields this release does
		// not know.
		f.Add(append(encodeDecision(nil, &d, nil, nil), 7, 3, 'a', 'b', 'c', 200, 0))
		f.Add(append(encodeDecisionV2(&d), 7, 3, 'a', 'b', 'c', 200, 0))
	}
	f.Add([]byte{})
	f.Add([]byte{decisionV1})
	f.Add([]byte{decisionV2})
	f.Add([]byte{decisionV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{3, 0, 0})
	key := makeDecKey(1, 1)
	f.Fuzz(func(t *testing.T, val []byte) {
		peekUser(val)
		_, ev, peekErr := peekEvent(key, val)
		var d decision.Decision
		if err := decodeDecision(key[:], val, &d, recCodec{raw: &rawCodec{}}); err != nil {
			return
		}
		if peekErr != nil || ev != clampNanos(d.EventTime) {
			t.Fatalf("peekEvent = %d, %v; the decoder says %s", ev, peekErr, d.EventTime)
		}
		var again decision.Decision
		if err := decodeDecision(key[:], encodeDecision(nil, &d, nil, nil), &again, recCodec{raw: &rawCodec{}}); err != nil {
			t.Fatalf("re-encoded decision does not decode: %v", err)
		}
		if fmt.Sprint(again) != fmt.Sprint(d) {
			t.Fatalf("re-encode changed the decision:\n%+v\n%+v", d, again)
		}
	})
}

func TestDecodeRound1Decision(t *testing.T) {
	g := newFakeGen(4, 5, 5)
	d := g.decision(1)
	k := makeDecKey(d.ReceivedAt.Add(time.Second).UnixNano(), 9)
	for _, c := range []struct {
		raw, want time.Time
		skew      bool
	}{
		{d.ReceivedAt.Add(-3 * time.Hour), d.ReceivedAt.Add(-3 * time.Hour), false},
		{time.Time{}, d.ReceivedAt, false},
		{d.ReceivedAt.Add(2 * time.Hour), d.ReceivedAt, true},
	} {
		d.EventTime = c.raw
		var got decision.Decision
		if err := decodeDecision(k[:], encodeDecisionV1(nil, &d), &got, recCodec{raw: &rawCodec{}}); err != nil {
			t.Fatal(err)
		}
		if !got.EventTime.Equal(c.want) || got.ClockSkew != c.skew || got.ShadowAction != "" || !bytes.Equal(got.Request, d.Request) {
			t.Errorf("round-1 record with timestamp %s: event time %s skew %v", c.raw, got.EventTime, got.ClockSkew)
		}
		if _, ev, err := peekEvent(k, encodeDecisionV1(nil, &d)); err != nil || ev != c.want.UnixNano() {
			t.Errorf("peekEvent = %d, %v", ev, err)
		}
	}
	// Without a received time either, the stored time stands in.
	d.EventTime, d.ReceivedAt = time.Time{}, time.Time{}
	var got decision.Decision
	if err := decodeDecision(k[:], encodeDecisionV1(nil, &d), &got, recCodec{}); err != nil || !got.EventTime.Equal(k.time()) {
		t.Errorf("event time %s, want the stored %s (%v)", got.EventTime, k.time(), err)
	}
}

// FuzzDecodeRollup feeds arbitrary bytes to the rollup decoders.
func FuzzDecodeRollup(f *testing.F) {
	g := newFakeGen(2, 5, 5)
	r := rollup{}
	for i := range 50 {
		d := g.decision(i)
		c := contribOf(d.ReceivedAt.UnixNano(), &d)
		r.apply(&c)
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
	f.Add(encodeSummary(nil, &summary{email: "e", count: 1}))
	f.Add((&summaryV1Of{email: "e", count: 1}).encode())
	f.Add([]byte{1, 1, 0xff})
	f.Fuzz(func(t *testing.T, val []byte) {
		var ev InboxEvent
		_ = decodeInbox(val, &ev)
		_, _ = inboxEventID(val)
		var rj Rejected
		_ = decodeRejected(val, &rj)
		_, _ = decodeCheckpoint("s", val)
		var s summary
		_ = decodeSummary("u", val, &s)
	})
}
