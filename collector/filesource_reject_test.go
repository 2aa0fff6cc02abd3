package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFilePushRejectsKeepsTheNewest(t *testing.T) {
	seq := func(from, to int) []int { // from down to to, or up when to > from
		var s []int
		for i := from; ; {
			s = append(s, i)
			if i == to {
				return s
			}
			if to > from {
				i++
			} else {
				i--
			}
		}
	}
	cases := []struct {
		name            string
		latest, rejects []int
		want            []int
	}{
		{"first rejects", nil, seq(1, 3), seq(3, 1)},
		{"in front of the old ones", seq(2, 1), seq(3, 4), seq(4, 1)},
		{"old ones trimmed", seq(10, 1), seq(11, 13), seq(13, 4)},
		{"a batch over the bound", seq(2, 1), seq(3, 40), seq(40, 31)},
		{"a batch of exactly the bound", seq(5, 1), seq(6, 15), seq(15, 6)},
	}
	str := func(is []int) []string {
		var s []string
		for _, i := range is {
			s = append(s, strconv.Itoa(i))
		}
		return s
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			latest := str(c.latest)
			before := slices.Clone(latest)
			formatted := 0
			got := pushRejects(latest, c.rejects, func(i int) string { formatted++; return strconv.Itoa(i) })
			if !slices.Equal(got, str(c.want)) {
				t.Errorf("got %q, want %q", got, str(c.want))
			}
			if !slices.Equal(latest, before) {
				t.Errorf("the old list changed to %q", latest)
			}
			if formatted > lastRejectsKept {
				t.Errorf("formatted %d rejects, want at most %d", formatted, lastRejectsKept)
			}
		})
	}
}

func TestFileRejectsUnusableLines(t *testing.T) {
	garbage := make([]byte, 0, 255)
	for i := range 256 {
		if b := byte(i*97 + 13); b != '\n' {
			garbage = append(garbage, b)
		}
	}
	cases := []struct {
		name   string
		line   string
		reason string
	}{
		{"binary garbage", string(garbage), "invalid UTF-8"},
		{"invalid UTF-8 in a string", `{"type":"$login","event_id":"bad-` + "\xff\xfe" + `"}`, "invalid UTF-8"},
		{"NUL bytes", "\x00\x00\x00", "not JSON"},
		{"not JSON", "hello world", "not JSON"},
		{"truncated JSON", `{"type":"$login"`, "not JSON"},
		{"array", `[{"type":"$login"}]`, "not a JSON object"},
		{"string", `"$login"`, "not a JSON object"},
		{"no type", `{"event_id":"nt","user":{"user_id":"u"}}`, "missing or empty type"},
		{"empty type", `{"type":""}`, "missing or empty type"},
		{"two objects", `{"type":"$login"}{"type":"$login"}`, "trailing data"},
		{"event_id over 256 bytes", `{"type":"$login","event_id":"` + strings.Repeat("e", 257) + `"}`, "event_id longer than 256 bytes"},
	}
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	var b strings.Builder
	var want []tailReject
	b.WriteString(tailEvLine("ok0"))
	for i, c := range cases {
		want = append(want, tailReject{offset: int64(b.Len()), reason: c.reason, head: c.line[:min(len(c.line), rejectHeadLen)]})
		b.WriteString(c.line + "\n")
		b.WriteString(tailEvLine(fmt.Sprintf("ok%d", i+1)))
	}
	tailWrite(t, path, b.String())
	m := NewMetrics(nil)
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true}, tailOptions{Metrics: m})
	ids := make([]string, len(cases)+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("ok%d", i)
	}
	expectTailInbox(t, db, src, ids)
	expectTailRejects(t, db, src.Name(), want)
	st := src.Stats()
	if st.Rejected != uint64(len(cases)) || st.LinesRead != uint64(2*len(cases)+1) {
		t.Fatalf("stats = %+v, want %d rejected of %d lines", st, len(cases), 2*len(cases)+1)
	}
	if len(st.LastRejects) != lastRejectsKept ||
		!strings.HasPrefix(st.LastRejects[0], fmt.Sprintf("offset %d: ", want[len(want)-1].offset)) {
		t.Fatalf("last rejects, newest first: %q", st.LastRejects)
	}
	expectTailCheckpoint(t, db, src.Name(), tailFileID(t, path), int64(b.Len()))
	// The file source counts in the same metrics as the HTTP ingest.
	if got := testutil.ToFloat64(m.EventsAccepted.WithLabelValues(src.Name())); got != float64(len(ids)) {
		t.Errorf("riskwatch_events_accepted_total{source=%q} = %v, want %d", src.Name(), got, len(ids))
	}
	byClass := map[string]float64{"invalid_utf8": 2, "not_json": 3, "not_object": 2, "missing_type": 2, "trailing_data": 1, "bad_field": 1}
	for class, want := range byClass {
		if got := testutil.ToFloat64(m.EventsRejected.WithLabelValues(src.Name(), class)); got != want {
			t.Errorf("riskwatch_events_rejected_total{reason=%q} = %v, want %v", class, got, want)
		}
	}
}

// TestFileLongLine streams a 5 MiB line in pieces: it is rejected once its
// newline arrives, the lines around it are accepted, and until then the
// checkpoint stays before it.
func TestFileLongLine(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	tailWrite(t, path, "")
	m := NewMetrics(nil)
	src := startTailSource(t, db, FileOptions{Path: path}, tailOptions{Metrics: m})
	waitTailSettled(t, src)

	long := `{"type":"$login","pad":"` + strings.Repeat("x", 5<<20-26) + `"}`
	if len(long) != 5<<20 {
		t.Fatalf("long line is %d bytes", len(long))
	}
	first := tailEvLine("g1")
	tailAppend(t, path, first)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for rest := long; rest != ""; {
		n := min(len(rest), 256<<10)
		if _, err := f.WriteString(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	expectTailInbox(t, db, src, []string{"g1"})
	expectTailCheckpoint(t, db, src.Name(), "", int64(len(first)))
	expectTailRejects(t, db, src.Name(), nil)

	if _, err := f.WriteString("\n" + tailEvLine("g2")); err != nil {
		t.Fatal(err)
	}
	expectTailInbox(t, db, src, []string{"g1", "g2"})
	expectTailRejects(t, db, src.Name(), []tailReject{{
		offset: int64(len(first)),
		reason: "line of 5242880 bytes is over the 1048576-byte limit",
		head:   long[:rejectHeadLen],
	}})
	expectTailCheckpoint(t, db, src.Name(), "", int64(len(first)+len(long)+1+len(tailEvLine("g2"))))
	if got := testutil.ToFloat64(m.EventsRejected.WithLabelValues(src.Name(), "too_long")); got != 1 {
		t.Errorf("riskwatch_events_rejected_total{reason=\"too_long\"} = %v, want 1", got)
	}
}
