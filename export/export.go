// Package export writes decisions as NDJSON, CSV or Parquet, the formats
// of `riskwatch export`. NDJSON and CSV carry the same fields; NDJSON embeds
// the raw request and response JSON, CSV quotes them as text. Parquet has
// typed columns for analysts (DuckDB, pandas) and keeps the raw request and
// response as strings (parquet.go).
package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Format is an output format.
type Format string

// The formats.
const (
	NDJSON  Format = "ndjson"
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case NDJSON, CSV, Parquet:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want ndjson, csv or parquet)", s)
}

// Record is one exported decision. Its JSON form is the NDJSON line.
type Record struct {
	ID              string          `json:"id"`
	EventID         string          `json:"event_id"`
	Time            time.Time       `json:"time"`
	ReceivedAt      time.Time       `json:"received_at"`
	EventTime       *time.Time      `json:"event_time,omitempty"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Status          string          `json:"status"`
	UserID          string          `json:"user_id"`
	Email           string          `json:"email"`
	IP              string          `json:"ip"`
	Country         string          `json:"country"`
	Risk            float64         `json:"risk"`
	AccountAbuse    float64         `json:"account_abuse"`
	AccountTakeover float64         `json:"account_takeover"`
	Bot             float64         `json:"bot"`
	Signals         []string        `json:"signals"`
	Policy          string          `json:"policy"`
	Action          decision.Action `json:"action"`
	// Label is the decision's label in force when exported (fraud or
	// legit), "" when it has none.
	Label decision.LabelClass `json:"label"`
	// ShadowAction and ShadowRule are the shadow policy's action and
	// deciding rule ("" for its default); both "" when none ran.
	ShadowAction decision.Action `json:"shadow_action"`
	ShadowRule   string          `json:"shadow_rule"`
	Error        string          `json:"error"`
	HTTPStatus   int             `json:"http_status"`
	LatencyMS    float64         `json:"latency_ms"`
	Attempts     int             `json:"attempts"`
	Request      json.RawMessage `json:"request"`
	Response     json.RawMessage `json:"response"`
}

// NewRecord converts a decision. Raw bytes that are not valid JSON (an
// HTML error page from a proxy in front of Safe-e, say) are exported as a
// JSON string so every line stays valid JSON; empty ones as null.
func NewRecord(d *decision.Decision) Record {
	r := Record{
		ID: d.ID, EventID: d.EventID, Time: d.Time.UTC(), ReceivedAt: d.ReceivedAt.UTC(), Source: d.Source,
		Type: d.Type, Status: d.Status, UserID: d.UserID, Email: d.Email, IP: d.IP, Country: d.Country,
		Risk: d.Risk, AccountAbuse: d.AccountAbuse, AccountTakeover: d.AccountTakeover, Bot: d.Bot,
		Signals: d.Signals, Policy: d.Policy, Action: d.Action, Label: d.Label, ShadowAction: d.ShadowAction, ShadowRule: d.ShadowRule,
		Error: d.Error, HTTPStatus: d.HTTPStatus,
		LatencyMS: float64(d.Latency.Microseconds()) / 1000, Attempts: d.Attempts,
		Request: rawJSON(d.Request), Response: rawJSON(d.Response),
	}
	if !d.EventTime.IsZero() {
		t := d.EventTime.UTC()
		r.EventTime = &t
	}
	if r.Signals == nil {
		r.Signals = []string{}
	}
	return r
}

func rawJSON(b []byte) json.RawMessage {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		return buf.Bytes()
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(b), "\uFFFD"))
	return s
}

// Writer writes decisions in one format. Call Close to flush; a Parquet
// file is only readable once Close has written its footer.
type Writer struct {
	format Format
	bw     *bufio.Writer
	cw     *csv.Writer
	enc    *json.Encoder
	pq     *parquetWriter
	header bool
}

// NewWriter returns a writer of format f to w.
func NewWriter(w io.Writer, f Format) *Writer {
	if f == Parquet {
		return &Writer{format: f, pq: newParquetWriter(w)} // it buffers its own output
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	x := &Writer{format: f, bw: bw}
	if f == CSV {
		x.cw = csv.NewWriter(bw)
	} else {
		x.enc = json.NewEncoder(bw)
		x.enc.SetEscapeHTML(false)
	}
	return x
}

// CSVHeader is the first row of CSV output. Columns added later go at
// its end, so that positions scripts rely on stay.
var CSVHeader = []string{"id", "event_id", "time", "received_at", "event_time", "source", "type", "status", "user_id", "email", "ip", "country",
	"risk", "account_abuse", "account_takeover", "bot", "signals", "policy", "action", "error", "http_status", "latency_ms", "attempts", "request", "response",
	"label", "shadow_action", "shadow_rule"}

// Write writes one decision.
func (x *Writer) Write(d *decision.Decision) error {
	if x.pq != nil {
		return x.pq.Write(d) // batched: an error may concern earlier decisions
	}
	r := NewRecord(d)
	if x.format != CSV {
		if err := x.enc.Encode(r); err != nil {
			return fmt.Errorf("write decision %s: %w", d.ID, err)
		}
		return nil
	}
	if !x.header {
		x.header = true
		if err := x.cw.Write(CSVHeader); err != nil {
			return fmt.Errorf("write csv header: %w", err)
		}
	}
	et := ""
	if r.EventTime != nil {
		et = r.EventTime.Format(time.RFC3339Nano)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	row := []string{r.ID, r.EventID, r.Time.Format(time.RFC3339Nano), r.ReceivedAt.Format(time.RFC3339Nano), et, r.Source, r.Type, r.Status,
		r.UserID, r.Email, r.IP, r.Country, f(r.Risk), f(r.AccountAbuse), f(r.AccountTakeover), f(r.Bot), strings.Join(r.Signals, " "),
		r.Policy, string(r.Action), r.Error, strconv.Itoa(r.HTTPStatus), f(r.LatencyMS), strconv.Itoa(r.Attempts), string(r.Request), string(r.Response),
		string(r.Label), string(r.ShadowAction), r.ShadowRule}
	for i, v := range row {
		row[i] = csvSafe(v)
	}
	if err := x.cw.Write(row); err != nil {
		return fmt.Errorf("write decision %s: %w", d.ID, err)
	}
	return nil
}

// csvSafe defuses cells a spreadsheet would run as a formula: event fields
// are attacker-controlled (user IDs, emails), and analysts open exports in
// spreadsheets.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "'" + v
		}
	}
	return v
}

// Close flushes what is buffered.
func (x *Writer) Close() error {
	if x.pq != nil {
		return x.pq.Close()
	}
	if x.cw != nil {
		if !x.header {
			x.header = true
			if err := x.cw.Write(CSVHeader); err != nil {
				return fmt.Errorf("write csv header: %w", err)
			}
		}
		x.cw.Flush()
		if err := x.cw.Error(); err != nil {
			return fmt.Errorf("flush csv: %w", err)
		}
	}
	if err := x.bw.Flush(); err != nil {
		return fmt.Errorf("flush export: %w", err)
	}
	return nil
}
