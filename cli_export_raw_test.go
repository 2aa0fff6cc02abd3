package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/export"
	"github.com/riskwatch/riskwatch/store"
)

// rawBodyCases are request and response bodies the export must give back
// as the store received them: JSON with its own spacing, empty, not JSON,
// not UTF-8, and large.
func rawBodyCases() [][2][]byte {
	big := bytes.Repeat([]byte(`{"k":"v","n":12345},`), 40_000)
	return [][2][]byte{
		{[]byte("{ \"type\" : \"$login\",\n \"user\": {\"user_id\": \"u1\"} }"), []byte(`{"risk":3.5}`)},
		{nil, nil},
		{[]byte("<html>502 Bad Gateway</html>"), nil},
		{[]byte{'{', '"', 'a', '"', ':', '"', 0xff, 0xfe, '"', '}'}, []byte{0xc3, 0x28, 0x00}},
		{append(append([]byte("["), big...), `{}]`...), []byte(`=cmd|' /C calc'!A0`)},
	}
}

// compressedExportStore writes enough decisions for the store to train a
// raw body dictionary, waits for it, then writes decisions with every body
// of rawBodyCases (compressed where that saves space), and returns the
// path and every decision as stored, oldest first.
func compressedExportStore(t *testing.T) (string, []decision.Decision) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	mk := func(i int, req, resp []byte) store.Result {
		return store.Result{Decision: decision.Decision{EventID: fmt.Sprintf("ev-%05d", i), Source: "test", Type: "$login", Status: "$succeeded",
			UserID: fmt.Sprintf("u%d", i%97), IP: fmt.Sprintf("10.0.%d.%d", i%7, i%199), Action: decision.ActionAllow, Risk: float64(i % 100),
			ReceivedAt: base.Add(time.Duration(i) * time.Millisecond), Request: req, Response: resp}}
	}
	var stored []decision.Decision
	complete := func(rs []store.Result) {
		got, err := db.Complete(context.Background(), rs)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, got...)
	}
	var rs []store.Result
	for i := range 4200 {
		rs = append(rs, mk(i, fmt.Appendf(nil, `{"type":"$login","status":"$succeeded","user":{"user_id":"u%d","user_ip":"10.0.%d.%d"}}`, i%97, i%7, i%199),
			fmt.Appendf(nil, `{"risk":%d,"signals":[],"policy":{"name":"default","action":"Allow"}}`, i%100)))
		if len(rs) == 700 {
			complete(rs)
			rs = nil
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := db.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.RawDict != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store trained no raw body dictionary")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, c := range rawBodyCases() {
		rs = append(rs, mk(4200+i, c[0], c[1]))
	}
	for i := range 50 {
		rs = append(rs, mk(4300+i, fmt.Appendf(nil, `{"type":"$login","user":{"user_id":"u%d"}}`, i), []byte(`{"risk":1}`)))
	}
	complete(rs)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, stored
}

// TestExportFromCompressedStore exports a store whose raw bodies are kept
// compressed: NDJSON and CSV are byte for byte what the export writer makes
// of the decisions as they went in, and Parquet's raw columns hold the
// same text.
func TestExportFromCompressedStore(t *testing.T) {
	path, stored := compressedExportStore(t)
	for _, f := range []export.Format{export.NDJSON, export.CSV} {
		var want bytes.Buffer
		w := export.NewWriter(&want, f)
		for i := range stored {
			if err := w.Write(&stored[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, nil, "export", "--db", path, "--format", string(f))
		if code != 0 {
			t.Fatalf("export %s: code %d, %s", f, code, stderr)
		}
		if stdout != want.String() {
			t.Errorf("export %s of the compressed store differs from the decisions as stored (%d bytes, want %d)", f, len(stdout), want.Len())
		}
	}
	code, stdout, stderr := runCLI(t, nil, "export", "--db", path, "--format", "parquet", "--out", "-")
	if code != 0 {
		t.Fatalf("export parquet: code %d, %s", code, stderr)
	}
	type raw struct {
		Request  string `parquet:"request"`
		Response string `parquet:"response"`
	}
	rows, err := parquet.Read[raw](bytes.NewReader([]byte(stdout)), int64(len(stdout)))
	if err != nil || len(rows) != len(stored) {
		t.Fatalf("parquet: %d rows, %v", len(rows), err)
	}
	var want bytes.Buffer
	w := export.NewWriter(&want, export.Parquet)
	for i := range stored {
		if err := w.Write(&stored[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantRows, err := parquet.Read[raw](bytes.NewReader(want.Bytes()), int64(want.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if rows[i] != wantRows[i] {
			t.Fatalf("parquet row %d: request/response differ from the decision as stored", i)
		}
	}
}
