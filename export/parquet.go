package export

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/riskwatch/riskwatch/decision"
)

// parquetRow is one decision as a Parquet row; its struct tags are the
// file's schema (TestParquetSchema shows it as readers see it).
//
// Times are TIMESTAMP(MICROS, UTC), null when unknown (a zero time).
// Strings are STRING (UTF-8); columns whose values repeat are
// dictionary-encoded. action and shadow_action are plain STRING with a
// dictionary rather than the ENUM logical type, which pyarrow reads as
// binary. Scores and latency are DOUBLE, counts INT32, signals a LIST of
// STRING (empty, never null, when there are none).
type parquetRow struct {
	ID      string `parquet:"id"`
	EventID string `parquet:"event_id"`
	// Time is when the decision was stored (arrival order), as "time" in
	// NDJSON and CSV.
	Time       *time.Time `parquet:"time,timestamp(microsecond:utc)"`
	ReceivedAt *time.Time `parquet:"received_at,timestamp(microsecond:utc)"`
	EventTime  *time.Time `parquet:"event_time,timestamp(microsecond:utc)"`
	ClockSkew  bool       `parquet:"clock_skew"`
	Source     string     `parquet:"source,dict"`
	Type       string     `parquet:"type,dict"`
	Status     string     `parquet:"status,dict"`
	UserID     string     `parquet:"user_id,dict"`
	Email      string     `parquet:"email,dict"`
	IP         string     `parquet:"ip,dict"`
	Country    string     `parquet:"country,dict"`

	Risk            float64 `parquet:"risk"`
	AccountAbuse    float64 `parquet:"account_abuse"`
	AccountTakeover float64 `parquet:"account_takeover"`
	Bot             float64 `parquet:"bot"`

	Signals []string `parquet:"signals,list" parquet-element:",dict"`
	Policy  string   `parquet:"policy,dict"`
	Action  string   `parquet:"action,dict"`
	// ShadowAction is null when no shadow policy ran; ShadowRule is then
	// null too, and "" when the shadow policy's default decided.
	ShadowAction *string `parquet:"shadow_action,optional,dict"`
	ShadowRule   *string `parquet:"shadow_rule,optional,dict"`

	// Label is the decision's label class in force when exported (SPEC
	// section 12), null when unlabelled.
	Label *string `parquet:"label,optional,dict"`

	Error      string  `parquet:"error,dict"`
	HTTPStatus int32   `parquet:"http_status"`
	LatencyMS  float64 `parquet:"latency_ms"`
	Attempts   int32   `parquet:"attempts"`
	Request    string  `parquet:"request"`
	Response   string  `parquet:"response"`
}

// newParquetRow converts a decision. Every string is valid UTF-8 (see
// utf8Text); the raw request and response are kept byte for byte
// otherwise, even when they are not JSON.
func newParquetRow(d *decision.Decision) parquetRow {
	r := parquetRow{
		ID: utf8Text(d.ID), EventID: utf8Text(d.EventID),
		Time: timestamp(d.Time), ReceivedAt: timestamp(d.ReceivedAt), EventTime: timestamp(d.EventTime), ClockSkew: d.ClockSkew,
		Source: utf8Text(d.Source), Type: utf8Text(d.Type), Status: utf8Text(d.Status),
		UserID: utf8Text(d.UserID), Email: utf8Text(d.Email), IP: utf8Text(d.IP), Country: utf8Text(d.Country),
		Risk: d.Risk, AccountAbuse: d.AccountAbuse, AccountTakeover: d.AccountTakeover, Bot: d.Bot,
		Signals: make([]string, len(d.Signals)), Policy: utf8Text(d.Policy), Action: utf8Text(string(d.Action)),
		Error: utf8Text(d.Error), HTTPStatus: int32(d.HTTPStatus), LatencyMS: float64(d.Latency.Microseconds()) / 1000,
		Attempts: int32(d.Attempts), Request: utf8Text(string(d.Request)), Response: utf8Text(string(d.Response)),
	}
	for i, s := range d.Signals {
		r.Signals[i] = utf8Text(s)
	}
	if d.Label != "" {
		l := utf8Text(string(d.Label))
		r.Label = &l
	}
	if d.ShadowAction != "" {
		a, rule := utf8Text(string(d.ShadowAction)), utf8Text(d.ShadowRule)
		r.ShadowAction, r.ShadowRule = &a, &rule
	}
	return r
}

// timestamp is t in UTC, or nil for the zero time: year 1 is out of the
// range of pandas' timestamps, and "unknown" is what a zero time means.
func timestamp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// utf8Text returns s unchanged when it is valid UTF-8, which every field
// the collector stores is except, at worst, a raw response from something
// in front of Safe-e; otherwise each invalid sequence becomes U+FFFD, as
// NDJSON does, because Parquet's STRING type is UTF-8 and DuckDB refuses
// a whole file over one invalid value.
func utf8Text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Bounds of the Parquet writer's memory. A row group is closed (written out
// and its buffers released) at parquetRowGroupRows rows or when its
// compressed pages, unwritten values and dictionaries reach
// parquetRowGroupBytes (checked after each batch of parquetBatch rows),
// whichever comes first, so memory stays flat however many decisions are
// exported and however long their values; DuckDB and pyarrow read row
// groups of this size in parallel.
const (
	parquetRowGroupRows  = 64 << 10
	parquetRowGroupBytes = 32 << 20
	parquetPageBytes     = 256 << 10
	parquetBatch         = 256
)

// parquetWriter streams decisions into one Parquet file. Rows are handed to
// parquet-go in batches of parquetBatch and row groups are bounded (see
// parquetRowGroupBytes); nothing else is kept. The output only needs to be
// an io.Writer: the footer, which readers need, is written by Close.
type parquetWriter struct {
	pw    *parquet.GenericWriter[parquetRow]
	batch []parquetRow
	// rows is how many rows the open row group holds; flushed is
	// pw.Size() when the previous one was closed.
	rows    int
	flushed int64
	// maxRows and maxBytes bound a row group: parquetRowGroupRows and
	// parquetRowGroupBytes, smaller in tests.
	maxRows  int
	maxBytes int64
}

// newParquetWriter returns a writer of a Parquet file to w, compressed with
// zstd rather than snappy: the raw JSON bodies are most of a file, and zstd
// makes it about 44% smaller (6.2 against 11.1 MiB for 100k decisions in
// BenchmarkParquetExportMemory) at a speed an export does not notice;
// DuckDB, pyarrow and Spark read both.
func newParquetWriter(w io.Writer) *parquetWriter {
	opts := append(skipStringBounds(),
		parquet.Compression(&pageZstd{}),
		// Version 1 data pages and PLAIN strings outside dictionaries:
		// the layout every Parquet reader has read the longest.
		parquet.DataPageVersion(1),
		parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
		// Page headers carry no statistics: DuckDB and pyarrow prune
		// with the footer's per row group and never read them.
		parquet.DataPageStatistics(false),
		parquet.PageBufferSize(parquetPageBytes),
		parquet.WriteBufferSize(64<<10),
	)
	return &parquetWriter{
		pw:       parquet.NewGenericWriter[parquetRow](w, opts...),
		batch:    make([]parquetRow, 0, parquetBatch),
		maxRows:  parquetRowGroupRows,
		maxBytes: parquetRowGroupBytes,
	}
}

// Write adds one decision.
func (p *parquetWriter) Write(d *decision.Decision) error {
	p.batch = append(p.batch, newParquetRow(d))
	if len(p.batch) < cap(p.batch) && p.rows+len(p.batch) < p.maxRows {
		return nil
	}
	return p.writeBatch()
}

// writeBatch hands the batched rows to parquet-go and closes the row group
// once it holds maxRows rows or maxBytes bytes.
func (p *parquetWriter) writeBatch() error {
	if len(p.batch) == 0 {
		return nil
	}
	if _, err := p.pw.Write(p.batch); err != nil {
		return fmt.Errorf("write parquet rows: %w", err)
	}
	p.rows += len(p.batch)
	clear(p.batch) // drop the references to the strings written
	p.batch = p.batch[:0]
	if p.rows < p.maxRows && p.pw.Size()-p.flushed < p.maxBytes {
		return nil
	}
	if err := p.pw.Flush(); err != nil {
		return fmt.Errorf("write parquet row group: %w", err)
	}
	p.rows, p.flushed = 0, p.pw.Size()
	return nil
}

// Close writes the rows still batched, the last row group and the footer.
// A file with no rows is valid and carries the full schema.
func (p *parquetWriter) Close() error {
	if err := p.writeBatch(); err != nil {
		return err
	}
	if err := p.pw.Close(); err != nil {
		return fmt.Errorf("write parquet footer: %w", err)
	}
	return nil
}

// skipStringBounds leaves the minimum and maximum out of the footer for
// every string column: parquet-go copies them whole, so one hostile
// megabyte value would sit in the footer of each row group, and they prune
// nothing (exports are in time order, so strings spread over every row
// group). Times and numbers keep theirs: event_time and the scores are
// what queries range over.
func skipStringBounds() []parquet.WriterOption {
	schema := parquet.SchemaOf(parquetRow{})
	var opts []parquet.WriterOption
	for _, path := range schema.Columns() {
		if leaf, ok := schema.Lookup(path...); ok && leaf.Node.Type().Kind() == parquet.ByteArray {
			opts = append(opts, parquet.SkipPageBounds(path...))
		}
	}
	return opts
}
