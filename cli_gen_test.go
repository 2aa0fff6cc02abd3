package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readGenerated reads gen's output: each event's ID and time.
func readGenerated(t *testing.T, path string) (ids []string, times []time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			EventID   string `json:"event_id"`
			Timestamp string `json:"timestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		at, err := time.Parse(time.RFC3339, e.Timestamp)
		if err != nil {
			t.Fatalf("timestamp %q: %v", e.Timestamp, err)
		}
		ids, times = append(ids, e.EventID), append(times, at)
	}
	return ids, times
}

// checkSpan: every event in [from, to), in order, some of them incidents.
func checkSpan(t *testing.T, ids []string, times []time.Time, from, to time.Time) {
	t.Helper()
	incidents := 0
	for i, at := range times {
		if at.Before(from) || !at.Before(to) || (i > 0 && at.Before(times[i-1])) {
			t.Fatalf("event %d at %v: want [%v, %v), in order", i, at, from, to)
		}
		if parts := strings.Split(ids[i], "-"); strings.HasPrefix(parts[len(parts)-2], "i") {
			incidents++
		}
	}
	if len(times) < 1000 || incidents == 0 {
		t.Fatalf("%d events, %d of incidents", len(times), incidents)
	}
}

func TestGenSpanEndsNow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "history.ndjson")
	before := time.Now()
	if code, _, stderr := runCLI(t, nil, "gen", "--span", "30m", "--out", p); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	after := time.Now()
	ids, times := readGenerated(t, p)
	checkSpan(t, ids, times, before.Add(-30*time.Minute).Truncate(time.Millisecond), after)
	if first, last := times[0], times[len(times)-1]; first.After(after.Add(-29*time.Minute)) || last.Before(before.Add(-time.Minute)) {
		t.Errorf("30 minutes of history from %v to %v, written at %v", first, last, before)
	}
}

func TestGenSpanFromStartIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, "span"+string(rune('a'+i)))
		if code, _, stderr := runCLI(t, nil, "gen", "--span", "20m", "--start", start.Format(time.RFC3339), "--seed", "5", "--out", p); code != 0 {
			t.Fatalf("gen: %s", stderr)
		}
		ids, times := readGenerated(t, p)
		checkSpan(t, ids, times, start, start.Add(20*time.Minute))
		outs[i], _ = os.ReadFile(p)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("same seed and --start, different events")
	}
	// --count still bounds a span.
	p := filepath.Join(dir, "counted")
	if code, _, stderr := runCLI(t, nil, "gen", "--span", "20m", "--count", "10", "--out", p); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	if ids, _ := readGenerated(t, p); len(ids) != 10 {
		t.Errorf("--count 10 with --span wrote %d events", len(ids))
	}
}

func TestGenAndEmulatorFlagErrorsSayWhatIsExpected(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"gen", "--rate", "abc"}, `--rate: want events per second, a number >= 0`},
		{[]string{"gen", "--rate", "-1"}, `--rate: want events per second`},
		{[]string{"gen", "--rate", "NaN"}, `--rate: want events per second`},
		{[]string{"gen", "--count", "many"}, `--count: want a number of events >= 0`},
		{[]string{"gen", "--count", "-5"}, `--count: want a number of events >= 0`},
		{[]string{"gen", "--seed", "1.5"}, `--seed: want a whole number`},
		{[]string{"gen", "--span", "a day"}, `--span: want a duration > 0 such as 24h`},
		{[]string{"gen", "--span", "0"}, `--span: want a duration > 0`},
		{[]string{"gen", "--start", "yesterday"}, "--start: want an RFC 3339 time"},
		{[]string{"gen", "--scenario", "ddos"}, "want one of mixed"},
		{[]string{"gen", "--count", "1", "--post", "ftp://collector"}, "want http://host:port"},
		{[]string{"emulator", "--latency", "slow"}, `--latency: want a duration >= 0`},
		{[]string{"emulator", "--error-rate", "2"}, `--error-rate: want a fraction from 0 to 1`},
		{[]string{"emulator", "--throttle-rate", "x"}, `--throttle-rate: want a fraction from 0 to 1`},
		{[]string{"emulator", "--timeout-rate", "-0.1"}, `--timeout-rate: want a fraction from 0 to 1`},
		{[]string{"emulator", "--seed", "x"}, `--seed: want a whole number`},
	}
	for _, tt := range cases {
		code, _, stderr := runCLI(t, nil, tt.args...)
		if code == 0 || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "strconv") || strings.Contains(stderr, "time: ") {
			t.Errorf("%v: code %d, stderr %q, want it to say %q", tt.args, code, stderr, tt.want)
		}
	}
}
