package export

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/riskwatch/riskwatch/decision"
)

// parquetSchema is the contract analysts' queries are written against.
const parquetSchema = `message parquetRow {
	required binary id (STRING);
	required binary event_id (STRING);
	optional int64 time (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS));
	optional int64 received_at (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS));
	optional int64 event_time (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS));
	required boolean clock_skew;
	required binary source (STRING);
	required binary type (STRING);
	required binary status (STRING);
	required binary user_id (STRING);
	required binary email (STRING);
	required binary ip (STRING);
	required binary country (STRING);
	required double risk;
	required double account_abuse;
	required double account_takeover;
	required double bot;
	required group signals (LIST) {
		repeated group list {
			required binary element (STRING);
		}
	}
	required binary policy (STRING);
	required binary action (STRING);
	optional binary shadow_action (STRING);
	optional binary shadow_rule (STRING);
	optional binary label (STRING);
	required binary error (STRING);
	required int32 http_status (INT(32,true));
	required double latency_ms;
	required int32 attempts (INT(32,true));
	required binary request (STRING);
	required binary response (STRING);
}`

// readRow is what a reader of the file sees, declared apart from the
// writer's row so that the test checks the file, not the writer's struct.
type readRow struct {
	ID              string     `parquet:"id"`
	EventID         string     `parquet:"event_id"`
	Time            *time.Time `parquet:"time,timestamp(microsecond)"`
	ReceivedAt      *time.Time `parquet:"received_at,timestamp(microsecond)"`
	EventTime       *time.Time `parquet:"event_time,timestamp(microsecond)"`
	ClockSkew       bool       `parquet:"clock_skew"`
	Source          string     `parquet:"source"`
	Type            string     `parquet:"type"`
	Status          string     `parquet:"status"`
	UserID          string     `parquet:"user_id"`
	Email           string     `parquet:"email"`
	IP              string     `parquet:"ip"`
	Country         string     `parquet:"country"`
	Risk            float64    `parquet:"risk"`
	AccountAbuse    float64    `parquet:"account_abuse"`
	AccountTakeover float64    `parquet:"account_takeover"`
	Bot             float64    `parquet:"bot"`
	Signals         []string   `parquet:"signals,list"`
	Policy          string     `parquet:"policy"`
	Action          string     `parquet:"action"`
	ShadowAction    *string    `parquet:"shadow_action,optional"`
	ShadowRule      *string    `parquet:"shadow_rule,optional"`
	Label           *string    `parquet:"label,optional"`
	Error           string     `parquet:"error"`
	HTTPStatus      int32      `parquet:"http_status"`
	LatencyMS       float64    `parquet:"latency_ms"`
	Attempts        int32      `parquet:"attempts"`
	Request         string     `parquet:"request"`
	Response        string     `parquet:"response"`
}

// variedDecisions covers what a store holds: a scored decision with
// nanosecond times and a shadow verdict, errors with non-JSON bodies,
// missing and empty signals, unicode, clock skew, a shadow default, zero
// times and empty raw bodies.
func variedDecisions() []decision.Decision {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	return []decision.Decision{
		{ID: "0001", EventID: "e1", Time: t0, ReceivedAt: t0.Add(-time.Second), EventTime: t0.Add(-time.Hour), Source: "http",
			Type: "$login", Status: "$succeeded", UserID: "u1", Email: "a@example.com", IP: "10.0.0.1", Country: "DE",
			Risk: 91.5, AccountAbuse: 1, AccountTakeover: 80, Bot: 3, Signals: []string{"new_device", "proxy_ip"}, Policy: "default",
			Action: decision.ActionDeny, ShadowAction: decision.ActionChallenge, ShadowRule: "stuffing ip", HTTPStatus: 200,
			Latency: 12500 * time.Microsecond, Attempts: 1, Label: decision.LabelFraud,
			Request: json.RawMessage(`{"type":"$login", "user":{"user_id":"u1"}}`), Response: json.RawMessage(`{"risk":91.5,"future":{"x":1}}`)},
		{ID: "0002", EventID: "e2", Time: t0.Add(time.Second), ReceivedAt: t0, EventTime: t0, Source: "file:/var/log/app.ndjson",
			Type: "$login", Status: "$failed", UserID: "u2", Action: decision.ActionError, Error: "Safe-e answered 502", HTTPStatus: 502,
			Latency: 3 * time.Second, Attempts: 4,
			Request: json.RawMessage(`{"type":"$login","status":"$failed"}`), Response: json.RawMessage("<html>Bad Gateway</html>\n")},
		{ID: "0003", EventID: "e3", Time: t0.Add(2 * time.Second), ReceivedAt: t0.Add(time.Second), EventTime: t0.Add(time.Second),
			ClockSkew: true, Source: "kafka:events/3@17", Type: "$profile_update", Status: "$succeeded", UserID: "ユーザー🚀",
			Email: "josé@exämple.com", IP: "2001:db8::1", Country: "JP", Risk: 12, Signals: []string{}, Policy: "défaut",
			Action: decision.ActionAllow, ShadowAction: decision.ActionDeny, ShadowRule: "", HTTPStatus: 200, Attempts: 1,
			Label:    decision.LabelLegit,
			Request:  json.RawMessage(`{"type":"$profile_update","timestamp":"2030-01-01T00:00:00Z","note":"مرحبا"}`),
			Response: json.RawMessage(`{"risk":12,"signals":[]}`)},
		{ID: "0004", EventID: "e4", Time: t0.Add(3 * time.Second), Source: "proxy", Type: "$transaction",
			Action: decision.ActionError, Error: "Safe-e unreachable: dial tcp: i/o timeout", Attempts: 3,
			Request: json.RawMessage(`{"type":`), Response: nil},
		{ID: "0005", EventID: "e5", Time: t0.Add(4 * time.Second), ReceivedAt: t0.Add(4 * time.Second), EventTime: t0.Add(4 * time.Second),
			Source: "http", Type: "$login", Status: "$succeeded", UserID: "u1", IP: "10.0.0.1", Risk: 55.25, AccountTakeover: 55.25,
			Bot: 99.999, Signals: []string{"bot_behavior"}, Policy: "default", Action: decision.ActionChallenge, HTTPStatus: 200,
			Latency: 999 * time.Nanosecond, Attempts: 2, Request: json.RawMessage(""), Response: json.RawMessage("   ")},
	}
}

// writeParquet exports ds through the public Writer, after tune has set
// the Parquet writer's bounds.
func writeParquet(t *testing.T, ds []decision.Decision, tune func(*parquetWriter)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, Parquet)
	if tune != nil {
		tune(w.pq)
	}
	for i := range ds {
		if err := w.Write(&ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readParquet opens b as a Parquet file and reads every row.
func readParquet(t *testing.T, b []byte) (*parquet.File, []readRow) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("open the exported file: %v", err)
	}
	rows, err := parquet.Read[readRow](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("read the exported file: %v", err)
	}
	return f, rows
}

// wantTime is what a timestamp column holds for t: t truncated to the
// microsecond, null for the zero time.
func wantTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.Truncate(time.Microsecond).UTC()
	return &u
}

// checkRow compares every column of got with the decision d.
func checkRow(t *testing.T, i int, got readRow, d *decision.Decision) {
	t.Helper()
	errorf := func(col string, g, w any) {
		t.Helper()
		t.Errorf("row %d (%s) column %s = %#v, want %#v", i, d.ID, col, g, w)
	}
	str := func(col, g, w string) {
		t.Helper()
		if g != w {
			errorf(col, g, w)
		}
	}
	tm := func(col string, g *time.Time, w time.Time) {
		t.Helper()
		want := wantTime(w)
		if (g == nil) != (want == nil) || g != nil && (!g.Equal(*want) || g.Location() != time.UTC) {
			errorf(col, g, want)
		}
	}
	f64 := func(col string, g, w float64) {
		t.Helper()
		if g != w && !(math.IsNaN(g) && math.IsNaN(w)) || math.Signbit(g) != math.Signbit(w) {
			errorf(col, g, w)
		}
	}
	str("id", got.ID, d.ID)
	str("event_id", got.EventID, d.EventID)
	tm("time", got.Time, d.Time)
	tm("received_at", got.ReceivedAt, d.ReceivedAt)
	tm("event_time", got.EventTime, d.EventTime)
	if got.ClockSkew != d.ClockSkew {
		errorf("clock_skew", got.ClockSkew, d.ClockSkew)
	}
	str("source", got.Source, d.Source)
	str("type", got.Type, d.Type)
	str("status", got.Status, d.Status)
	str("user_id", got.UserID, d.UserID)
	str("email", got.Email, d.Email)
	str("ip", got.IP, d.IP)
	str("country", got.Country, d.Country)
	f64("risk", got.Risk, d.Risk)
	f64("account_abuse", got.AccountAbuse, d.AccountAbuse)
	f64("account_takeover", got.AccountTakeover, d.AccountTakeover)
	f64("bot", got.Bot, d.Bot)
	if got.Signals == nil {
		got.Signals = []string{} // an empty list reads back as nil
	}
	if wantSig := append([]string{}, d.Signals...); !slices.Equal(got.Signals, wantSig) {
		errorf("signals", got.Signals, wantSig)
	}
	str("policy", got.Policy, d.Policy)
	str("action", got.Action, string(d.Action))
	if d.ShadowAction == "" {
		if got.ShadowAction != nil || got.ShadowRule != nil {
			errorf("shadow_action, shadow_rule", []*string{got.ShadowAction, got.ShadowRule}, "null, null")
		}
	} else if got.ShadowAction == nil || got.ShadowRule == nil {
		errorf("shadow_action, shadow_rule", []*string{got.ShadowAction, got.ShadowRule}, []string{string(d.ShadowAction), d.ShadowRule})
	} else {
		str("shadow_action", *got.ShadowAction, string(d.ShadowAction))
		str("shadow_rule", *got.ShadowRule, d.ShadowRule)
	}
	switch {
	case d.Label == "" && got.Label != nil:
		errorf("label", *got.Label, "null")
	case d.Label != "" && (got.Label == nil || *got.Label != string(d.Label)):
		errorf("label", got.Label, string(d.Label))
	}
	str("error", got.Error, d.Error)
	if int(got.HTTPStatus) != d.HTTPStatus {
		errorf("http_status", got.HTTPStatus, d.HTTPStatus)
	}
	f64("latency_ms", got.LatencyMS, float64(d.Latency.Microseconds())/1000)
	if int(got.Attempts) != d.Attempts {
		errorf("attempts", got.Attempts, d.Attempts)
	}
	str("request", got.Request, string(d.Request))
	str("response", got.Response, string(d.Response))
}

func TestParquetRoundTripEveryColumn(t *testing.T) {
	ds := variedDecisions()
	// Row groups of two rows: the read crosses row group boundaries.
	b := writeParquet(t, ds, func(p *parquetWriter) { p.maxRows = 2 })
	f, rows := readParquet(t, b)
	if len(rows) != len(ds) || f.NumRows() != int64(len(ds)) {
		t.Fatalf("read %d rows (metadata says %d), wrote %d", len(rows), f.NumRows(), len(ds))
	}
	for i := range rows {
		checkRow(t, i, rows[i], &ds[i])
	}
	if n := len(f.RowGroups()); n != 3 {
		t.Errorf("%d row groups, want 3 of at most 2 rows", n)
	}
}

func TestParquetSchema(t *testing.T) {
	f, _ := readParquet(t, writeParquet(t, variedDecisions(), nil))
	if got := f.Schema().String(); got != parquetSchema {
		t.Errorf("schema changed:\n%s\nwant:\n%s", got, parquetSchema)
	}
	dict := map[string]bool{"source": true, "type": true, "status": true, "user_id": true, "email": true, "ip": true,
		"country": true, "signals.list.element": true, "policy": true, "action": true, "shadow_action": true, "label": true,
		"shadow_rule": true, "error": true}
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			path := strings.Join(c.MetaData.PathInSchema, ".")
			if c.MetaData.Codec != format.Zstd {
				t.Errorf("column %s is compressed with %s, want ZSTD", path, c.MetaData.Codec)
			}
			if got := slices.Contains(c.MetaData.Encoding, format.RLEDictionary); got != dict[path] {
				t.Errorf("column %s: dictionary-encoded %v, want %v (encodings %v)", path, got, dict[path], c.MetaData.Encoding)
			}
		}
	}
}

func TestParquetEmptyExportHasTheSchema(t *testing.T) {
	b := writeParquet(t, nil, nil)
	f, rows := readParquet(t, b)
	if len(rows) != 0 || f.NumRows() != 0 {
		t.Errorf("empty export has %d rows", len(rows))
	}
	if got := f.Schema().String(); got != parquetSchema {
		t.Errorf("empty export's schema:\n%s", got)
	}
}

func TestParquetHostileValuesRoundTrip(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var ds []decision.Decision
	// Unique half-megabyte user IDs in a dictionary-encoded column.
	for i := range 3 {
		ds = append(ds, decision.Decision{ID: string(rune('a' + i)), Time: t0, UserID: long("u", 512<<10) + string(rune('a'+i)),
			Action: decision.ActionAllow, Signals: []string{long("s", 10_000) + string(rune('a'+i))}})
	}
	many := make([]string, 1000)
	for i := range many {
		many[i] = "signal\x00" + string(rune('A'+i%26))
	}
	ds = append(ds, decision.Decision{ID: "nul\x00id", EventID: "\x00", Time: t0, Source: "a\x00b", Type: "$lo\x00gin",
		Status: "\x00\x01\x02\x7f", UserID: "\x00", Email: "\u202eevil@example.com", IP: "\x00", Country: "\x00",
		Risk: math.NaN(), AccountAbuse: math.Inf(1), AccountTakeover: math.Inf(-1), Bot: math.Copysign(0, -1),
		Signals: many, Policy: long("p", 100_000), Action: decision.ActionError, ShadowAction: decision.ActionDeny,
		ShadowRule: "rule\x00name", Error: "err\x00or\n\r\t", HTTPStatus: 599, Latency: time.Duration(math.MaxInt64),
		Attempts: math.MaxInt32, Request: json.RawMessage("{\"a\":\"\x00\"}\x00trailing"),
		Response: json.RawMessage(`{"x":"` + long("y", 1<<20) + `"}`)}) // four times a page
	b := writeParquet(t, ds, nil)
	_, rows := readParquet(t, b)
	if len(rows) != len(ds) {
		t.Fatalf("read %d rows, wrote %d", len(rows), len(ds))
	}
	for i := range rows {
		checkRow(t, i, rows[i], &ds[i])
	}
	if footer := binary.LittleEndian.Uint32(b[len(b)-8:]); footer > 16<<10 {
		t.Errorf("footer of %d bytes: long values were copied into it", footer)
	}
}

// readBack writes ds and reads the rows back, checking the count.
func readBack(t *testing.T, ds []decision.Decision) []readRow {
	t.Helper()
	_, rows := readParquet(t, writeParquet(t, ds, nil))
	if len(rows) != len(ds) {
		t.Fatalf("read %d rows, wrote %d", len(rows), len(ds))
	}
	return rows
}

func TestParquetInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	ds := []decision.Decision{{ID: "1", Time: time.Unix(1, 0), UserID: "u\xff", Signals: []string{"s\xfe"},
		Action: decision.ActionError, Request: json.RawMessage(`{"type":"$login"}`), Response: json.RawMessage("<html>\xff\xfe</html>")}}
	got := readBack(t, ds)[0]
	if got.UserID != "u\uFFFD" || got.Signals[0] != "s\uFFFD" || got.Response != "<html>\uFFFD</html>" {
		t.Errorf("invalid UTF-8 exported as %q %q %q", got.UserID, got.Signals, got.Response)
	}
	if got.Request != `{"type":"$login"}` {
		t.Errorf("a valid request changed: %q", got.Request)
	}
}

func TestParquetRowGroupsAreBounded(t *testing.T) {
	ds := make([]decision.Decision, 600)
	for i := range ds {
		ds[i] = decision.Decision{ID: string(rune('a' + i%26)), Time: time.Unix(int64(i), 0), Action: decision.ActionAllow}
	}
	for _, tc := range []struct {
		name  string
		tune  func(*parquetWriter)
		sizes []int64
	}{
		{"by rows", func(p *parquetWriter) { p.maxRows = 250 }, []int64{250, 250, 100}},
		// A byte bound is checked after each batch of parquetBatch rows.
		{"by bytes", func(p *parquetWriter) { p.maxBytes = 1 }, []int64{parquetBatch, parquetBatch, 600 - 2*parquetBatch}},
	} {
		f, rows := readParquet(t, writeParquet(t, ds, tc.tune))
		var sizes []int64
		for _, rg := range f.RowGroups() {
			sizes = append(sizes, rg.NumRows())
		}
		if !slices.Equal(sizes, tc.sizes) || len(rows) != len(ds) {
			t.Errorf("%s: row groups of %v rows (%d in all), want %v", tc.name, sizes, len(rows), tc.sizes)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestParquetWriteErrorsAreReported(t *testing.T) {
	w := NewWriter(failingWriter{}, Parquet)
	ds := variedDecisions()
	for i := range ds {
		if err := w.Write(&ds[i]); err != nil {
			t.Fatalf("write %d: %v (rows are batched, nothing is written yet)", i, err)
		}
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "parquet") {
		t.Errorf("Close = %v, want the write error with context", err)
	}
}
