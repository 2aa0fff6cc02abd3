package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

const crashSource = "file:/var/log/crash.ndjson"

// crashLoop is the helper process of TestCrashSafety: it continues from the
// stored checkpoint, enqueueing events e-<n> with the checkpoint at the
// last n ("enq <n>" is printed after each commit) while a second goroutine
// completes inbox events, sometimes twice, until it is killed.
func crashLoop(path string) {
	db, err := Open(path, Options{MaxDelay: time.Millisecond, mergeEvery: 50})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	go func() {
		rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 2))
		for {
			items, err := db.InboxNext(ctx, 0, 1+rng.IntN(30))
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			var rs []Result
			for _, it := range items {
				d := decision.Decision{EventID: it.EventID, UserID: "u" + strconv.Itoa(rng.IntN(7)), IP: "10.0.0." + strconv.Itoa(rng.IntN(3)),
					Type: "$login", Action: decision.Actions[rng.IntN(decision.NumActions)], Risk: float64(rng.IntN(101)), Request: it.Body}
				seq := it.Seq
				if rng.IntN(5) == 0 {
					seq = 0 // as if it came from elsewhere: the inbox entry must go anyway
				}
				rs = append(rs, Result{Seq: seq, Decision: d})
				if rng.IntN(4) == 0 {
					rs = append(rs, Result{Seq: it.Seq, Decision: d}) // a duplicate completion
				}
			}
			if _, err := db.Complete(ctx, rs); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
	}()
	cp, _, err := db.Checkpoint(crashSource)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	next := cp.Offset + 1
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	for {
		n := int64(1 + rng.IntN(20))
		var evs []InboxEvent
		for i := range n {
			evs = append(evs, InboxEvent{EventID: fmt.Sprintf("e-%d", next+i), Source: crashSource, ReceivedAt: time.Now(), Body: []byte(`{"type":"$login"}`)})
		}
		if next > 1 && rng.IntN(3) == 0 {
			evs = append(evs, InboxEvent{EventID: fmt.Sprintf("e-%d", 1+rng.Int64N(next-1)), Source: crashSource}) // re-read line
		}
		last := next + n - 1
		if _, err := db.Enqueue(ctx, evs, nil, []Checkpoint{{Source: crashSource, FileID: "dev1:ino2", Offset: last}}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("enq %d\n", last)
		next = last + 1
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	var reported int64
	for round := range 4 {
		cmd, out := startHelper(t, "crash", path)
		lines := 20 + rng.IntN(300)
		for i := 0; i < lines; i++ {
			if !out.Scan() {
				t.Fatalf("round %d: helper stopped: %v", round, out.Err())
			}
			f := strings.Fields(out.Text())
			if len(f) != 2 || f[0] != "enq" {
				t.Fatalf("round %d: helper said %q", round, out.Text())
			}
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			reported = max(reported, n)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		checkCrashStore(t, path, reported)
	}
}

// checkCrashStore verifies the invariants after a crash: every event up to
// the checkpoint is either in the inbox or decided (never both, never
// twice), nothing after the checkpoint exists, everything the helper
// reported committed is covered, and the counters and user state agree
// with the records.
func checkCrashStore(t *testing.T, path string, reported int64) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	cp, ok, err := db.Checkpoint(crashSource)
	if err != nil || !ok {
		t.Fatalf("checkpoint: %v %v", ok, err)
	}
	if cp.Offset < reported || cp.FileID != "dev1:ino2" {
		t.Fatalf("checkpoint %+v is behind the %d events reported committed", cp, reported)
	}
	where := map[string]string{}
	items, err := db.InboxNext(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if where[it.EventID] != "" {
			t.Errorf("%s twice in the inbox", it.EventID)
		}
		where[it.EventID] = "inbox"
	}
	all := allDecisions(t, db)
	withUser := 0
	for _, d := range all {
		switch where[d.EventID] {
		case "inbox":
			t.Errorf("%s both in the inbox and decided", d.EventID)
		case "decided":
			t.Errorf("%s decided twice", d.EventID)
		}
		where[d.EventID] = "decided"
		if d.UserID != "" {
			withUser++
		}
	}
	for i := int64(1); i <= cp.Offset; i++ {
		if where[fmt.Sprintf("e-%d", i)] == "" {
			t.Errorf("e-%d (before checkpoint %d) is lost", i, cp.Offset)
		}
	}
	if len(where) != int(cp.Offset) {
		t.Errorf("%d events stored, checkpoint says %d: events after the checkpoint exist", len(where), cp.Offset)
	}
	if got := db.InboxDepth(); got != uint64(len(items)) {
		t.Errorf("InboxDepth %d, inbox holds %d", got, len(items))
	}
	in, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if in.Decisions != uint64(len(all)) {
		t.Errorf("Info.Decisions %d, stored %d", in.Decisions, len(all))
	}
	err = db.view(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bktEvents).Stats().KeyN; n != len(where) {
			t.Errorf("event index has %d entries, want %d", n, len(where))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	users, err := db.Users(ctx, UsersQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var counted uint64
	for _, u := range users {
		counted += u.Count
	}
	if counted != uint64(withUser) {
		t.Errorf("user summaries count %d decisions, %d stored have a user", counted, withUser)
	}
}

// allDecisions reads every decision, oldest first, through Range pages.
func allDecisions(t *testing.T, db *DB) []decision.Decision {
	t.Helper()
	var out []decision.Decision
	q := RangeQuery{Limit: 500}
	for {
		p, err := db.Range(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Decisions...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}
