package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func TestEnqueueDedupAndCheckpoint(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	evs := []InboxEvent{
		{EventID: "a", Source: "file:x", ReceivedAt: t0, Body: []byte(`{"type":"$login"}`)},
		{EventID: "b", Source: "file:x", ReceivedAt: t0},
		{EventID: "a", Source: "file:x"}, // same line twice in one batch
	}
	fresh, err := db.Enqueue(ctx, evs, []Rejected{{Source: "file:x", Position: "offset 40", Reason: "not JSON", Head: []byte("{oops")}}, []Checkpoint{{Source: "file:x", FileID: "1:2", Offset: 64}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false}; fmt.Sprint(fresh) != fmt.Sprint(want) {
		t.Errorf("fresh = %v, want %v", fresh, want)
	}
	if d := db.InboxDepth(); d != 2 {
		t.Errorf("InboxDepth = %d, want 2", d)
	}
	cp, ok, err := db.Checkpoint("file:x")
	if err != nil || !ok || cp != (Checkpoint{Source: "file:x", FileID: "1:2", Offset: 64}) {
		t.Errorf("Checkpoint = %+v %v %v", cp, ok, err)
	}
	if _, ok, _ := db.Checkpoint("file:other"); ok {
		t.Error("checkpoint of an unknown source reported present")
	}

	items, err := db.InboxNext(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].EventID != "a" || items[1].EventID != "b" || items[0].Seq >= items[1].Seq {
		t.Fatalf("InboxNext = %+v", items)
	}
	if !items[0].ReceivedAt.Equal(t0) || string(items[0].Body) != `{"type":"$login"}` || items[0].Source != "file:x" {
		t.Errorf("inbox item does not round-trip: %+v", items[0])
	}
	if more, _ := db.InboxNext(ctx, items[0].Seq, 10); len(more) != 1 || more[0].EventID != "b" {
		t.Errorf("InboxNext after %d = %+v", items[0].Seq, more)
	}
	if none, _ := db.InboxNext(ctx, ^uint64(0), 10); len(none) != 0 {
		t.Errorf("InboxNext after max = %+v", none)
	}

	// Decide a; enqueueing it again is not fresh, b still is queued.
	if _, err := db.Complete(ctx, []Result{{Seq: items[0].Seq, Decision: decision.Decision{EventID: "a", Action: decision.ActionAllow}}}); err != nil {
		t.Fatal(err)
	}
	fresh, err = db.Enqueue(ctx, []InboxEvent{{EventID: "a"}, {EventID: "b"}, {EventID: "c"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, false, true}; fmt.Sprint(fresh) != fmt.Sprint(want) {
		t.Errorf("fresh after completion = %v, want %v", fresh, want)
	}
	if d := db.InboxDepth(); d != 2 {
		t.Errorf("InboxDepth = %d, want 2 (b, c)", d)
	}

	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: ""}}, nil, nil); err == nil {
		t.Error("event without ID accepted")
	}
	if _, err := db.Enqueue(ctx, nil, nil, []Checkpoint{{}}); err == nil {
		t.Error("checkpoint without source accepted")
	}
}

func TestLongEventIDs(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	long := strings.Repeat("x", 40000) // longer than a bbolt key may be
	fresh, err := db.Enqueue(ctx, []InboxEvent{{EventID: long}, {EventID: long + "y"}, {EventID: long}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fresh) != "[true true false]" {
		t.Errorf("fresh = %v", fresh)
	}
	items, _ := db.InboxNext(ctx, 0, 10)
	ds, err := db.Complete(ctx, []Result{{Seq: items[0].Seq, Decision: decision.Decision{EventID: long, UserID: strings.Repeat("u", 2000), Action: decision.ActionDeny}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(ctx, ds[0].ID)
	if err != nil || got.EventID != long {
		t.Fatalf("Get: %v, event ID of %d bytes", err, len(got.EventID))
	}
	if u, err := db.UserDecisions(ctx, strings.Repeat("u", 2000), 0); err != nil || len(u) != 1 {
		t.Errorf("UserDecisions of a long user ID: %d, %v", len(u), err)
	}
	if u, _ := db.UserDecisions(ctx, strings.Repeat("u", 2001), 0); len(u) != 0 {
		t.Errorf("a user ID sharing the indexed prefix matched: %d", len(u))
	}
}

func TestRejectedAndCheckpoints(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	head := bytes.Repeat([]byte("z"), 1000)
	for i := range 5 {
		rj := Rejected{Time: base.Add(time.Duration(i) * time.Minute), Source: "http", Position: fmt.Sprintf("item %d", i), Reason: "no type", Head: head}
		if err := db.Reject(ctx, []Rejected{rj}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.RecentRejected(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Position != "item 4" || got[2].Position != "item 2" {
		t.Fatalf("RecentRejected = %+v", got)
	}
	if len(got[0].Head) != maxRejectedHead || !got[0].Time.Equal(base.Add(4*time.Minute)) || got[0].Reason != "no type" {
		t.Errorf("rejected record: head %d bytes, %+v", len(got[0].Head), got[0])
	}
	tot, err := db.Totals(ctx, time.Time{}, time.Time{}, nil)
	if err != nil || tot.Rejected != 5 {
		t.Errorf("Totals.Rejected = %d, %v", tot.Rejected, err)
	}
	tot, err = db.Totals(ctx, base.Add(time.Minute), base.Add(3*time.Minute), nil)
	if err != nil || tot.Rejected != 2 {
		t.Errorf("Totals.Rejected in a window = %d, %v; want 2", tot.Rejected, err)
	}

	for _, src := range []string{"file:b", "file:a"} {
		if _, err := db.Enqueue(ctx, nil, nil, []Checkpoint{{Source: src, FileID: "f", Offset: 7}}); err != nil {
			t.Fatal(err)
		}
	}
	cps, err := db.Checkpoints()
	if err != nil || len(cps) != 2 || cps[0].Source != "file:a" || cps[1].Source != "file:b" {
		t.Errorf("Checkpoints = %+v, %v", cps, err)
	}
}

func TestCompleteIdempotent(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "e1"}, {EventID: "e2"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	items, _ := db.InboxNext(ctx, 0, 10)
	d := decision.Decision{EventID: "e1", UserID: "u1", IP: "1.1.1.1", Type: "$login", Action: decision.ActionDeny, Risk: 91}
	rs := []Result{{Seq: items[0].Seq, Decision: d}, {Seq: items[0].Seq, Decision: d}}
	first, err := db.Complete(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Existed || !rs[1].Existed {
		t.Errorf("Existed = %v, %v; want the first stored and the second found", rs[0].Existed, rs[1].Existed)
	}
	if first[0].ID == "" || first[0].ID != first[1].ID {
		t.Errorf("same event twice in one call gave IDs %q and %q", first[0].ID, first[1].ID)
	}
	d.Risk = 5 // a retry with another answer must not replace the stored one
	retry := []Result{{Seq: items[0].Seq, Decision: d}}
	again, err := db.Complete(ctx, retry)
	if err != nil {
		t.Fatal(err)
	}
	if !retry[0].Existed {
		t.Error("a retried completion must report that the event existed")
	}
	if again[0].ID != first[0].ID || again[0].Risk != 91 {
		t.Errorf("second completion returned %+v, want the stored decision %s", again[0], first[0].ID)
	}
	// e2 decided without its Seq (as the proxy would): its inbox entry goes.
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "e2", Action: decision.ActionAllow}}}); err != nil {
		t.Fatal(err)
	}
	if n := db.InboxDepth(); n != 0 {
		t.Errorf("InboxDepth = %d, want 0", n)
	}
	if left, _ := db.InboxNext(ctx, 0, 10); len(left) != 0 {
		t.Errorf("inbox still holds %+v", left)
	}
	tot, _ := db.Totals(ctx, time.Time{}, time.Time{}, nil)
	if tot.Decisions != 2 || tot.ByAction[decision.ActionDeny] != 1 {
		t.Errorf("Totals = %+v, want 2 decisions, 1 deny", tot)
	}
	users, _ := db.Users(ctx, UsersQuery{})
	if len(users) != 1 || users[0].Count != 1 || users[0].Denies != 1 {
		t.Errorf("Users = %+v", users)
	}
	for _, bad := range []decision.Decision{{EventID: "", Action: decision.ActionAllow}, {EventID: "x", Action: "review"}} {
		if _, err := db.Complete(ctx, []Result{{Decision: bad}}); err == nil {
			t.Errorf("Complete accepted %+v", bad)
		}
	}
}

func TestDecisionRoundTrip(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	in := decision.Decision{
		EventID: "ev", ReceivedAt: time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC), EventTime: time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC),
		Source: "http", Type: "$login", Status: "$failed", UserID: "u", Email: "u@example.com", IP: "2001:db8::1",
		UserAgent: "curl/8", Country: "DE", Risk: 12.5, AccountAbuse: 1, AccountTakeover: 99.99, Bot: 100,
		Signals: []string{"proxy_ip", "bot_behavior"}, Policy: "strict", Action: decision.ActionChallenge, Error: "",
		HTTPStatus: 200, Latency: 42 * time.Millisecond, Attempts: 2,
		Request: []byte(`{"type":"$login"}`), Response: []byte(`{"risk":12.5,"new_field":[1,2]}`),
	}
	out, err := db.Complete(ctx, []Result{{Decision: in}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(ctx, out[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID, want.Time = out[0].ID, out[0].Time
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("Get =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := db.Get(ctx, "00000000000000000000000000000000"); !isNotFound(err) {
		t.Errorf("Get of an unknown ID: %v", err)
	}
	if _, err := db.Get(ctx, "nothex"); !isNotFound(err) {
		t.Errorf("Get of a malformed ID: %v", err)
	}
}

func TestInboxDepthSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var evs []InboxEvent
	for i := range 25 {
		evs = append(evs, InboxEvent{EventID: fmt.Sprint(i)})
	}
	if _, err := db.Enqueue(ctx, evs, nil, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d := db.InboxDepth(); d != 25 {
		t.Errorf("InboxDepth after reopen = %d, want 25", d)
	}
}

// TestEnqueueManyCheckpoints writes one checkpoint per partition with the
// events they cover, all or nothing.
func TestEnqueueManyCheckpoints(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	cps := []Checkpoint{{Source: "kafka:t/0", FileID: "g", Offset: 10}, {Source: "kafka:t/1", FileID: "g", Offset: 4}, {Source: "kafka:t/2", FileID: "g", Offset: 0}}
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "k0"}, {EventID: "k1"}}, nil, cps); err != nil {
		t.Fatal(err)
	}
	got, err := db.Checkpoints()
	if err != nil || fmt.Sprint(got) != fmt.Sprint(cps) {
		t.Errorf("Checkpoints = %+v, %v", got, err)
	}
	bad := []Checkpoint{{Source: "kafka:t/0", Offset: 99}, {Offset: 5}}
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "k2"}}, nil, bad); err == nil {
		t.Error("a checkpoint without a source was accepted")
	}
	if cp, _, _ := db.Checkpoint("kafka:t/0"); cp.Offset != 10 || db.InboxDepth() != 2 {
		t.Errorf("a refused Enqueue stored something: checkpoint %+v, inbox %d", cp, db.InboxDepth())
	}
}
