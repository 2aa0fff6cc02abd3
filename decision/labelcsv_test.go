package decision

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseLabelCSV(t *testing.T) {
	in := "\ufeffevent_id,user_id,ip,email,label,reason,time\r\n" +
		"ev-1,,,,fraud,chargeback 123,2026-11-02\r\n" +
		",u1,,,LEGIT,,\r\n" +
		",,::ffff:10.0.0.1,,retract,oops,2026-11-02T10:00:00+01:00\r\n" +
		",,,Bob@Example.COM,chargeback,,\r\n"
	got := ParseLabelCSV(strings.NewReader(in), map[string]LabelClass{"chargeback": LabelFraud})
	if len(got.Errors) != 0 || got.Total != 4 {
		t.Fatalf("errors %v, total %d", got.Errors, got.Total)
	}
	want := []LabelRow{
		{Line: 2, Kind: SubjectEvent, Subject: "ev-1", Class: LabelFraud, Reason: "chargeback 123", From: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{Line: 3, Kind: SubjectUser, Subject: "u1", Class: LabelLegit},
		{Line: 4, Kind: SubjectIP, Subject: "10.0.0.1", Class: LabelRetract, Reason: "oops", From: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)},
		{Line: 5, Kind: SubjectEmail, Subject: "bob@example.com", Class: LabelFraud},
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("rows %+v", got.Rows)
	}
	for i := range want {
		if got.Rows[i] != want[i] {
			t.Errorf("row %d: got %+v, want %+v", i, got.Rows[i], want[i])
		}
	}
}

func TestParseLabelCSVHostile(t *testing.T) {
	cases := []struct {
		name, in string
		// lines are the lines with errors (0: the whole file)
		lines []int
		rows  int
		msg   string
	}{
		{"empty", "", []int{0}, 0, "empty file"},
		{"unknown column", "user_id,label,amount\nu1,fraud,3\n", []int{1}, 0, `unknown column "amount"`},
		{"no label column", "user_id,reason\nu1,x\n", []int{1}, 0, "no label column"},
		{"no subject column", "label,reason\nfraud,x\n", []int{1}, 0, "no subject column"},
		{"twice", "user_id,label,User_ID\nu1,fraud,u2\n", []int{1}, 0, "named twice"},
		{"unknown label", "user_id,label\nu1,fraud\nu2,chargeback\nu3,legit\n", []int{3}, 2, "--map chargeback=fraud"},
		{"two subjects", "user_id,ip,label\nu1,10.0.0.1,fraud\n", []int{2}, 0, "one subject per row"},
		{"no subject", "user_id,ip,label\n,,fraud\n", []int{2}, 0, "no subject"},
		{"field count", "user_id,label\nu1,fraud,extra\nu2\nu3,legit\n", []int{2, 3}, 1, "wrong number of fields"},
		{"bad time", "user_id,label,time\nu1,fraud,yesterday\n", []int{2}, 0, "RFC 3339"},
		{"bad utf8", "user_id,label\nu\xff1,fraud\n", []int{2}, 0, "UTF-8"},
		{"bare quote", "user_id,label\nu\"1,fraud\nu2,legit\n", []int{2}, 1, "bare"},
		{"open quote", "user_id,label\n\"u1,fraud\nu2,legit\n", []int{2}, 0, "quote"},
		{"crlf and bom header only", "\ufeffuser_id,label\r\n", nil, 0, ""},
		{"long subject", "user_id,label\n" + strings.Repeat("x", MaxSubjectLen+1) + ",fraud\n", []int{2}, 0, "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseLabelCSV(strings.NewReader(c.in), nil)
			var lines []int
			var text []string
			for _, e := range got.Errors {
				lines = append(lines, e.Line)
				text = append(text, e.Error())
			}
			if !equalInts(lines, c.lines) || len(got.Rows) != c.rows {
				t.Fatalf("error lines %v (want %v), rows %d (want %d): %v", lines, c.lines, len(got.Rows), c.rows, text)
			}
			if c.msg != "" && !strings.Contains(strings.Join(text, "\n"), c.msg) {
				t.Errorf("errors %q do not say %q", text, c.msg)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseLabelCSVLimits(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("user_id,label\n")
	row := "u1,fraud\n"
	for b.Len() <= 4096 {
		b.WriteString(row)
	}
	got := parseLabelCSV(&b, nil, 4096)
	if len(got.Rows) != 0 || len(got.Errors) != 1 || got.Errors[0].Line != 0 || !strings.Contains(got.Errors[0].Err, "larger than") {
		t.Fatalf("huge file: %d rows, %v", len(got.Rows), got.Errors)
	}
	b.Reset()
	b.WriteString("user_id,label\n")
	for range maxLineErrors + 5 {
		b.WriteString("u1,nope\n")
	}
	got = ParseLabelCSV(&b, nil)
	if !got.Truncated || len(got.Errors) != maxLineErrors+1 {
		t.Fatalf("many bad lines: %d errors, truncated %v", len(got.Errors), got.Truncated)
	}
}

func FuzzParseLabelCSV(f *testing.F) {
	for _, s := range []string{
		"event_id,user_id,ip,email,label,reason,time\nev-1,,,,fraud,x,2026-11-02\n",
		"\ufeffuser_id,label\r\nu1,legit\r\n",
		"user_id,label\n\"u1,fraud\n",
		"user_id,label,time\nu1,chargeback,2026-11-02T10:00:00Z\n",
		"ip,label\n::ffff:1.2.3.4,retract\n",
		"label\nfraud\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := ParseLabelCSV(bytes.NewReader(data), map[string]LabelClass{"chargeback": LabelFraud})
		if len(got.Rows)+len(got.Errors) > got.Total+2 {
			t.Fatalf("%d rows and %d errors from %d rows", len(got.Rows), len(got.Errors), got.Total)
		}
		prev := 1
		for _, r := range got.Rows {
			e := LabelEntry{Kind: r.Kind, Subject: r.Subject, Class: r.Class, Reason: r.Reason, Source: SourceImport}
			if err := e.Check(); err != nil {
				t.Fatalf("row %+v does not pass Check: %v", r, err)
			}
			if e.Subject != r.Subject {
				t.Fatalf("row subject %q not normalised (%q)", r.Subject, e.Subject)
			}
			if r.Line <= prev {
				t.Fatalf("row lines out of order: %d after %d", r.Line, prev)
			}
			prev = r.Line
		}
	})
}
