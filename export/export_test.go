package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func fixtures() []decision.Decision {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return []decision.Decision{
		{ID: "0001", EventID: "e1", Time: t0, ReceivedAt: t0.Add(-time.Second), Source: "http", Type: "$login", Status: "$succeeded",
			UserID: "u1", Email: "a@example.com", IP: "10.0.0.1", Country: "DE", Risk: 91.5, AccountTakeover: 80, Bot: 3, AccountAbuse: 1,
			Signals: []string{"new_device", "proxy_ip"}, Policy: "default", Action: decision.ActionDeny, HTTPStatus: 200,
			Latency: 12500 * time.Microsecond, Attempts: 1,
			Request: json.RawMessage(`{"type":"$login", "user":{"user_id":"u1"}}`), Response: json.RawMessage(`{"risk":91.5,"future":{"x":1}}`)},
		{ID: "0002", EventID: "e2", Time: t0.Add(time.Second), Source: "file:/x", Type: "$login", UserID: "=HYPERLINK(\"http://evil\")",
			Action: decision.ActionError, Error: "Safe-e answered 502", HTTPStatus: 502,
			Request: json.RawMessage(`{"type":"$login"}`), Response: json.RawMessage("<html>Bad Gateway</html>")},
	}
}

func TestNDJSONHasEveryPromisedField(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, NDJSON)
	ds := fixtures()
	for i := range ds {
		if err := w.Write(&ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	for _, k := range []string{"id", "event_id", "received_at", "source", "type", "status", "user_id", "ip", "risk", "account_abuse",
		"account_takeover", "bot", "signals", "policy", "action", "error", "latency_ms", "request", "response"} {
		if _, ok := lines[0][k]; !ok {
			t.Errorf("NDJSON line lacks %q", k)
		}
	}
	if lines[0]["latency_ms"] != 12.5 || lines[0]["action"] != "deny" || lines[0]["risk"] != 91.5 {
		t.Errorf("values wrong: %v", lines[0])
	}
	resp := lines[0]["response"].(map[string]any)
	if _, ok := resp["future"]; !ok {
		t.Error("unknown response fields must be exported as they came")
	}
	if s, ok := lines[1]["response"].(string); !ok || !strings.Contains(s, "Bad Gateway") {
		t.Errorf("non-JSON response must be exported as a string, got %#v", lines[1]["response"])
	}
	if sig, ok := lines[1]["signals"].([]any); !ok || len(sig) != 0 {
		t.Errorf("no signals must export as [], got %#v", lines[1]["signals"])
	}
}

func TestCSVRoundTripAndFormulaDefused(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, CSV)
	ds := fixtures()
	for i := range ds {
		if err := w.Write(&ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("rows = %v", rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if rows[1][col["signals"]] != "new_device proxy_ip" || rows[1][col["risk"]] != "91.5" || rows[1][col["action"]] != "deny" {
		t.Errorf("row 1 = %v", rows[1])
	}
	if got := rows[2][col["user_id"]]; !strings.HasPrefix(got, "'=") {
		t.Errorf("formula not defused: %q", got)
	}
}

func TestEmptyCSVStillHasHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf, CSV).Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "id,event_id,") {
		t.Errorf("got %q", buf.String())
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"ndjson": NDJSON, "CSV": CSV, "parquet": Parquet} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "ndjson, csv or parquet") {
		t.Errorf("bad format error: %v", err)
	}
}

func TestRawBytesStayValidJSON(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "null"},
		{" \n\t", "null"},
		{`{ "a" : [1, 2] }` + "\n", `{"a":[1,2]}`},
		{`{"a":`, `"{\"a\":"`},
		{"<html>\xff</html>", `"\u003chtml\u003e` + "\uFFFD" + `\u003c/html\u003e"`},
		{`"str"`, `"str"`},
		{"null", "null"},
	}
	for _, tc := range cases {
		r := NewRecord(&decision.Decision{Request: json.RawMessage(tc.in), Response: json.RawMessage(tc.in)})
		if string(r.Request) != tc.want || string(r.Response) != tc.want {
			t.Errorf("raw %q exported as %s and %s, want %s", tc.in, r.Request, r.Response, tc.want)
		}
		if !json.Valid(r.Request) {
			t.Errorf("raw %q exported as invalid JSON %s", tc.in, r.Request)
		}
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"":         "",
		"plain":    "plain",
		"-5.5":     "-5.5",
		"+1e3":     "+1e3",
		"-x":       "'-x",
		"=1+1":     "'=1+1",
		"@SUM(A1)": "'@SUM(A1)",
		"\tcmd":    "'\tcmd",
		"\r=x":     "'\r=x",
		"a=b":      "a=b",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestShadowColumns: the shadow policy's action and rule are exported in
// NDJSON and as CSV's last two columns; empty when no shadow policy ran.
func TestShadowColumns(t *testing.T) {
	ds := fixtures()
	ds[0].ShadowAction, ds[0].ShadowRule = decision.ActionChallenge, "=stuffing ip"
	for _, f := range []Format{NDJSON, CSV} {
		var buf bytes.Buffer
		w := NewWriter(&buf, f)
		for i := range ds {
			if err := w.Write(&ds[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var got [][2]string
		if f == NDJSON {
			for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
				var r Record
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				got = append(got, [2]string{string(r.ShadowAction), r.ShadowRule})
			}
		} else {
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				got = append(got, [2]string(row[len(row)-2:]))
			}
			got = got[1:]
			if h := rows[0]; h[len(h)-2] != "shadow_action" || h[len(h)-1] != "shadow_rule" {
				t.Errorf("csv header ends %v", h[len(h)-2:])
			}
		}
		want := [][2]string{{"challenge", "=stuffing ip"}, {"", ""}}
		if f == CSV {
			want[0][1] = "'=stuffing ip"
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: shadow columns %v, want %v", f, got, want)
		}
	}
}
