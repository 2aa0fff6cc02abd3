package decision

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a label CSV file.
const (
	// MaxLabelCSVBytes bounds the file.
	MaxLabelCSVBytes = 64 << 20
	// MaxLabelCSVRows bounds its rows (without the header).
	MaxLabelCSVRows = 1_000_000
	// maxLineErrors bounds the errors reported; beyond it parsing stops.
	maxLineErrors = 1000
)

// The columns of a label CSV file.
var labelCSVColumns = []string{"event_id", "user_id", "ip", "email", "label", "reason", "time"}

// subjectColumns maps the subject columns to their kinds.
var subjectColumns = map[string]SubjectKind{"event_id": SubjectEvent, "user_id": SubjectUser, "ip": SubjectIP, "email": SubjectEmail}

// LabelRow is one usable row of a label CSV file.
type LabelRow struct {
	// Line is the row's line number in the file (the header is line 1).
	Line    int
	Kind    SubjectKind
	Subject string
	Class   LabelClass
	Reason  string
	// From is the row's time, zero when it had none.
	From time.Time
}

// LineError is what is wrong with one line of a label CSV file (line 0:
// the file as a whole).
type LineError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

func (e LineError) Error() string {
	if e.Line == 0 {
		return e.Err
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Err)
}

// LabelCSV is a parsed label CSV file: its usable rows, what was wrong
// with the others, and how many data rows it had in all.
type LabelCSV struct {
	Rows   []LabelRow
	Errors []LineError
	Total  int
	// Truncated is set when parsing stopped early (too many errors, or a
	// limit); Errors says why.
	Truncated bool
}

// ParseLabelCSV reads a label CSV file: a header row naming some of the
// columns event_id, user_id, ip, email, label, reason, time (in any order,
// label and at least one subject column required, nothing else), then one
// row per label naming exactly one subject. A UTF-8 byte-order mark and
// CRLF line ends are accepted. label is fraud, legit or retract (any
// case), or a value mapped to one by classMap (keys compared lower-cased,
// e.g. chargeback -> fraud). time, when present, is an RFC 3339 time or a
// YYYY-MM-DD date (UTC) from which the label applies.
//
// A wrong header or an input beyond the limits is an error of the whole
// file (line 0) and no row is returned; each bad row is a LineError and
// the other rows are still returned, so that a caller can report every
// problem at once and decide whether to import partially.
func ParseLabelCSV(r io.Reader, classMap map[string]LabelClass) LabelCSV {
	return parseLabelCSV(r, classMap, MaxLabelCSVBytes)
}

// parseLabelCSV is ParseLabelCSV with a limit of maxBytes.
func parseLabelCSV(r io.Reader, classMap map[string]LabelClass, maxBytes int) LabelCSV {
	var out LabelCSV
	fail := func(line int, format string, args ...any) {
		out.Errors = append(out.Errors, LineError{Line: line, Err: fmt.Sprintf(format, args...)})
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	switch {
	case err != nil:
		fail(0, "read: %v", err)
		return out
	case len(data) > maxBytes:
		fail(0, "file larger than %d bytes: split it", maxBytes)
		out.Truncated = true
		return out
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			fail(0, "empty file: want a header row naming %s", strings.Join(labelCSVColumns, ","))
		} else {
			fail(1, "header: %v", csvErr(err))
		}
		return out
	}
	cols, err := labelColumns(header)
	if err != nil {
		fail(1, "header: %v", err)
		return out
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		var line int
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			line = pe.StartLine
		case err != nil:
			fail(0, "read: %v", err)
			out.Truncated = true
			return out
		default:
			line, _ = cr.FieldPos(0)
		}
		out.Total++
		if out.Total > MaxLabelCSVRows {
			fail(0, "more than %d rows: split the file", MaxLabelCSVRows)
			out.Truncated, out.Rows = true, nil
			return out
		}
		if err == nil {
			var row LabelRow
			row, err = labelRow(rec, cols, classMap)
			row.Line = line
			if err == nil {
				out.Rows = append(out.Rows, row)
				continue
			}
		}
		if len(out.Errors) == maxLineErrors {
			fail(0, "more than %d bad lines: stopped reading", maxLineErrors)
			out.Truncated = true
			return out
		}
		fail(line, "%v", csvErr(err))
		if pe != nil && errors.Is(pe.Err, csv.ErrQuote) {
			// A stray quote makes the rest of the file one field: stop
			// rather than report a confusing cascade.
			out.Truncated = true
			return out
		}
	}
}

// csvErr says a csv error without the package's line prefix.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return errors.New("wrong number of fields (want one per header column)")
		}
		return pe.Err
	}
	return err
}

// labelColumns maps the header to column positions (-1: absent).
func labelColumns(header []string) (map[string]int, error) {
	cols := map[string]int{}
	for _, c := range labelCSVColumns {
		cols[c] = -1
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		pos, known := cols[name]
		switch {
		case !known:
			return nil, fmt.Errorf("unknown column %q (want some of %s)", clip(h), strings.Join(labelCSVColumns, ","))
		case pos >= 0:
			return nil, fmt.Errorf("column %q named twice", name)
		}
		cols[name] = i
	}
	if cols["label"] < 0 {
		return nil, errors.New("no label column")
	}
	if cols["event_id"] < 0 && cols["user_id"] < 0 && cols["ip"] < 0 && cols["email"] < 0 {
		return nil, errors.New("no subject column (want event_id, user_id, ip or email)")
	}
	return cols, nil
}

// labelRow reads one data row.
func labelRow(rec []string, cols map[string]int, classMap map[string]LabelClass) (LabelRow, error) {
	field := func(name string) string {
		if i := cols[name]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return LabelRow{}, errors.New("not valid UTF-8")
		}
	}
	var row LabelRow
	var named []string
	for _, c := range labelCSVColumns[:4] {
		if v := field(c); v != "" {
			named = append(named, c)
			row.Kind, row.Subject = subjectColumns[c], v
		}
	}
	switch len(named) {
	case 0:
		return LabelRow{}, errors.New("no subject: fill one of event_id, user_id, ip, email")
	case 1:
	default:
		return LabelRow{}, fmt.Errorf("several subjects (%s): one subject per row", strings.Join(named, ", "))
	}
	raw := field("label")
	class, ok := classMap[strings.ToLower(raw)]
	if !ok {
		c, err := ParseLabelClass(raw)
		if err != nil {
			return LabelRow{}, fmt.Errorf("unknown label %q (want fraud, legit or retract, or map it with --map %s=fraud)", clip(raw), clip(strings.ToLower(raw)))
		}
		class = c
	}
	row.Class, row.Reason = class, field("reason")
	if t := field("time"); t != "" {
		from, err := ParseLabelTime(t)
		if err != nil {
			return LabelRow{}, err
		}
		row.From = from
	}
	e := LabelEntry{Kind: row.Kind, Subject: row.Subject, Class: row.Class, Reason: row.Reason, Source: SourceImport}
	if err := e.Check(); err != nil {
		return LabelRow{}, err
	}
	row.Subject = e.Subject
	return row, nil
}

// ParseLabelTime reads when a label applies from: an RFC 3339 time or a
// YYYY-MM-DD date (midnight UTC).
func ParseLabelTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want an RFC 3339 time (2026-11-25T10:00:00Z) or a date (2026-11-25)", clip(s))
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return strings.ToValidUTF8(s[:40], "") + "..."
}
