package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"golang.org/x/sys/unix"
)

// The query benchmarks share one store of benchDecisions decisions, built
// once per benchmark process (in about a minute) into a temporary directory
// that TestMain removes. The data spans a little over 24 hours, one commit
// group of 500 every 43 seconds, from 50,000 users on 20,000 addresses; user
// "journey" has exactly 1000 decisions spread over the whole span.
const (
	benchDecisions = 1_000_000
	benchGroup     = 500
	benchStep      = 43 * time.Second
	journeyUser    = "journey"
)

var fixture struct {
	once sync.Once
	dir  string
	path string
	end  time.Time // clock after the last decision
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// benchStore returns the path of the 1M-decision fixture, building it on
// first use.
func benchStore(b *testing.B) (string, time.Time) {
	b.Helper()
	fixture.once.Do(func() {
		start := time.Now()
		fixture.dir, fixture.err = os.MkdirTemp("", "riskwatch-bench-")
		if fixture.err != nil {
			return
		}
		fixture.path = filepath.Join(fixture.dir, "1m.db")
		fixture.end, fixture.err = buildFixture(fixture.path)
		b.Logf("built the %d-decision fixture in %s", benchDecisions, time.Since(start).Round(time.Second))
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.path, fixture.end
}

func buildFixture(path string) (time.Time, error) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	db, err := Open(path, Options{NoSync: true, Now: clock.Now, MaxBatch: benchGroup, MaxDelay: time.Microsecond, mergeEvery: 100_000})
	if err != nil {
		return time.Time{}, err
	}
	g := newFakeGen(42, 50_000, 20_000)
	batches := make(chan []Result, 4)
	go func() {
		defer close(batches)
		for i := 0; i < benchDecisions; i += benchGroup {
			rs := make([]Result, benchGroup)
			// Event times: the group's arrival minus up to two minutes.
			at := start.Add(time.Duration(i/benchGroup) * benchStep)
			for j := range rs {
				d := g.decision(i + j)
				if (i+j)%(benchDecisions/1000) == 0 {
					d.UserID = journeyUser
				}
				d.ReceivedAt = at
				d.EventTime = at.Add(-time.Duration((i+j)%120) * time.Second)
				rs[j] = Result{Decision: d}
			}
			batches <- rs
		}
	}()
	ctx := context.Background()
	for rs := range batches {
		if _, err := db.Complete(ctx, rs); err != nil {
			db.Close()
			return time.Time{}, err
		}
		clock.Add(benchStep)
	}
	return clock.Now(), db.Close()
}

// BenchmarkQueries measures the reads the dashboard makes, on the 1M store
// (SPEC section 8: histogram of 24h and what-if < 10 ms, journey of 1k
// events < 10 ms).
func BenchmarkQueries(b *testing.B) {
	path, end := benchStore(b)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	day := end.Add(-24 * time.Hour)
	deny, err := decision.ParseFilter("action:deny", end)
	if err != nil {
		b.Fatal(err)
	}
	rare, err := decision.ParseFilter("risk>=99.5 type:$login since:1h", end)
	if err != nil {
		b.Fatal(err)
	}
	byUser, err := decision.ParseFilter("user:"+journeyUser, end)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		run  func() (int, error)
	}{
		{"Latest100", func() (int, error) { l, err := db.Latest(ctx, nil, 100, ""); return len(l), err }},
		{"Latest100/action:deny", func() (int, error) { l, err := db.Latest(ctx, deny, 100, ""); return len(l), err }},
		{"Latest100/rare-filter-1h", func() (int, error) { l, err := db.Latest(ctx, rare, 100, ""); return len(l), err }},
		{"Latest100/user-filter", func() (int, error) { l, err := db.Latest(ctx, byUser, 100, ""); return len(l), err }},
		{"UserJourney1k", func() (int, error) { l, err := db.UserDecisions(ctx, journeyUser, 0); return len(l), err }},
		{"Histogram24h", func() (int, error) {
			h, err := db.Histogram(ctx, decision.ScoreRisk, day, end)
			return int(h.Total), err
		}},
		{"HistogramAll", func() (int, error) {
			h, err := db.Histogram(ctx, decision.ScoreRisk, time.Time{}, time.Time{})
			return int(h.Total), err
		}},
		{"WhatIf24h", func() (int, error) {
			w, err := db.WhatIf(ctx, decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 70}, day, end)
			return len(w.ByType), err
		}},
		{"Flips100", func() (int, error) {
			l, err := db.Flips(ctx, decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 70}, day, end, 100)
			return len(l), err
		}},
		{"Rates24h", func() (int, error) { r, err := db.Rates(ctx, day, end); return len(r), err }},
		{"Rates1h", func() (int, error) { r, err := db.Rates(ctx, end.Add(-time.Hour), end); return len(r), err }},
		{"Totals", func() (int, error) {
			t, err := db.Totals(ctx, time.Time{}, time.Time{}, nil)
			return int(t.Decisions), err
		}},
		{"UsersByRisk50", func() (int, error) {
			u, err := db.Users(ctx, UsersQuery{Sort: decision.SortMaxRisk, Limit: 50})
			return len(u), err
		}},
		{"RangePage1000", func() (int, error) {
			p, err := db.Range(ctx, RangeQuery{From: day, Limit: 1000})
			return len(p.Decisions), err
		}},
		{"DimensionCounts/ip-24h", func() (int, error) {
			c, err := db.DimensionCounts(ctx, KindIP, "10.0.0.1", day, end)
			return c.Decisions, err
		}},
		{"DimensionCounts/email_domain-10m", func() (int, error) {
			c, err := db.DimensionCounts(ctx, KindEmailDomain, "example.com", end.Add(-10*time.Minute), end)
			return c.Users, err
		}},
		{"UserValues/journey-ip-all", func() (int, error) {
			v, err := db.UserValues(ctx, journeyUser, KindIP, time.Time{}, time.Time{})
			return len(v), err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			n, err := c.run()
			if err != nil || n == 0 {
				b.Fatalf("%s: %d results, %v", c.name, n, err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "results")
		})
	}
}

// BenchmarkOpen measures opening the 1M store and reading the first screen
// of the Live view (SPEC: < 300 ms to the first frame).
func BenchmarkOpen(b *testing.B) {
	path, end := benchStore(b)
	ctx := context.Background()
	firstFrame := func() error {
		db, err := Open(path, Options{})
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.Latest(ctx, nil, 100, ""); err != nil {
			return err
		}
		if _, err := db.Rates(ctx, end.Add(-time.Hour), end); err != nil {
			return err
		}
		return db.Close()
	}
	for b.Loop() {
		if err := firstFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSS opens the 1M store in a fresh process, runs the dashboard's
// queries and reports that process's resident memory (SPEC: < 150 MB):
// "cold" first evicts the file from the page cache, as after a reboot;
// "warm" keeps it cached as the fixture build left it, where the kernel
// maps whole cached folios around each page read, so file-backed RSS
// grows far beyond the pages the queries touch.
func BenchmarkRSS(b *testing.B) {
	path, _ := benchStore(b)
	for _, mode := range []string{"warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
				cmd.Env = append(os.Environ(), helperEnv+"=rss-"+mode, "RISKWATCH_STORE_PATH="+path)
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				var rss, anon, openMs float64
				if _, err := fmt.Sscanf(string(out), "rss %g anon %g open %g", &rss, &anon, &openMs); err != nil {
					b.Fatalf("helper said %q: %v", out, err)
				}
				b.ReportMetric(rss/1024, "MB-RSS")
				b.ReportMetric(anon/1024, "MB-anon")
				b.ReportMetric(openMs, "ms-open")
			}
		})
	}
}

// measureRSS is the helper process of BenchmarkRSS.
func measureRSS(path string, cold bool) {
	if cold {
		if err := evictFile(path); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	start := time.Now()
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	_, _ = db.Latest(ctx, nil, 100, "")
	open := time.Since(start)
	now := time.Now()
	for range 3 {
		_, _ = db.Latest(ctx, nil, 1000, "")
		_, _ = db.UserDecisions(ctx, journeyUser, 0)
		for s := range decision.NumScores {
			_, _ = db.Histogram(ctx, s, time.Time{}, now)
		}
		_, _ = db.WhatIf(ctx, decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 70}, time.Time{}, now)
		_, _ = db.Flips(ctx, decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 70}, time.Time{}, now, 100)
		_, _ = db.Rates(ctx, time.Time{}, time.Time{})
		_, _ = db.Totals(ctx, time.Time{}, time.Time{}, nil)
		_, _ = db.Users(ctx, UsersQuery{Sort: decision.SortMaxRisk, Limit: 100})
	}
	fmt.Printf("rss %d anon %d open %.1f\n", procStatus("VmRSS:"), procStatus("RssAnon:"), float64(open.Microseconds())/1000)
	db.Close()
}

// evictFile drops the file's clean pages from the page cache (only this
// file's: other processes are unaffected).
func evictFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// procStatus returns a kB field of /proc/self/status, -1 if missing.
func procStatus(field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return -1
}

// BenchmarkPendingOverlay measures user queries and Open when the most user
// state can be pending: mergeEvery decisions written since the last merge
// (what readers overlay and what Open replays after a crash).
func BenchmarkPendingOverlay(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "pending.db")
	ctx := context.Background()
	g := newFakeGen(7, 50_000, 20_000)
	write := func(db *DB, from, n int) {
		for i := from; i < from+n; i += benchGroup {
			rs := make([]Result, min(benchGroup, from+n-i))
			for j := range rs {
				d := g.decision(i + j)
				if (i+j)%100 == 0 {
					d.UserID = journeyUser
				}
				rs[j] = Result{Decision: d}
			}
			if _, err := db.Complete(ctx, rs); err != nil {
				b.Fatal(err)
			}
		}
	}
	noMerge := Options{NoSync: true, MaxDelay: time.Microsecond, mergeEvery: 1 << 30, mergeIdle: time.Hour}
	db, err := Open(path, noMerge)
	if err != nil {
		b.Fatal(err)
	}
	write(db, 0, 100_000)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	db, err = Open(path, noMerge)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	write(db, 100_000, mergeEvery-1)
	if n := len(db.w.pend); n < mergeEvery*9/10 {
		b.Fatalf("only %d decisions pending", n)
	}
	b.Run("UserJourney", func(b *testing.B) {
		for b.Loop() {
			if l, err := db.UserDecisions(ctx, journeyUser, 0); err != nil || len(l) < 1000 {
				b.Fatal(len(l), err)
			}
		}
	})
	b.Run("UsersByRisk50", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Users(ctx, UsersQuery{Sort: decision.SortMaxRisk, Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A copy of the live file holds the pending state, as after a crash;
	// each iteration opens a fresh copy of it (which replays the pending
	// decisions) and only Open is timed.
	snapshot := filepath.Join(dir, "snapshot.db")
	if err := db.Compact(ctx, snapshot); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(snapshot)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("OpenAfterCrash", func(b *testing.B) {
		for i := range b.N {
			b.StopTimer()
			crashed := filepath.Join(dir, fmt.Sprintf("crashed-%d.db", i))
			if err := os.WriteFile(crashed, data, 0o600); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			c, err := Open(crashed, Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if len(c.w.pend) == 0 {
				b.Fatal("nothing pending after reopening")
			}
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
			os.Remove(crashed)
			b.StartTimer()
		}
	})
}
