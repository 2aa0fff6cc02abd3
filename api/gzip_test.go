package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"":                     false,
		"identity":             false,
		"gzip":                 true,
		"GZIP":                 true,
		"deflate, gzip;q=0.5":  true,
		"gzip;q=0":             false,
		"gzip; q=0.0, br":      false,
		"gzip;q=abc":           false,
		"br, x-gzip":           false,
		"deflate,   gzip  ":    true,
		"gzip;level=1;q=0":     false,
		"gzip;level=1;q=0.001": true,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if h != "" {
			r.Header.Set("Accept-Encoding", h)
		}
		if got := acceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, got, want)
		}
	}
}

// TestAnswersGzippedWhenLargeAndAccepted: a large answer is gzipped for a
// client that accepts it and inflates to the plain answer byte for byte; a
// small one, or one for a client that does not, is plain.
func TestAnswersGzippedWhenLargeAndAccepted(t *testing.T) {
	big := make([]WireDecision, 200)
	for i := range big {
		big[i] = ToWire(decision.Decision{ID: "id", UserID: "user", Type: "$login", Request: []byte(`{"type":"$login"}`)})
	}
	small := map[string]int{"n": 1}
	answer := func(v any, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if accept != "" {
			r.Header.Set("Accept-Encoding", accept)
		}
		w := httptest.NewRecorder()
		writeAnswer(w, r, v)
		return w
	}
	plain := answer(big, "identity")
	if plain.Header().Get("Content-Encoding") != "" || !json.Valid(plain.Body.Bytes()) {
		t.Fatalf("identity: %v", plain.Header())
	}
	zipped := answer(big, "gzip")
	if zipped.Header().Get("Content-Encoding") != "gzip" || zipped.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: headers %v", zipped.Header())
	}
	if zipped.Body.Len()*4 > plain.Body.Len() {
		t.Errorf("gzipped %d bytes of %d", zipped.Body.Len(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	inflated, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(inflated, plain.Body.Bytes()) {
		t.Fatalf("inflated answer differs (%v)", err)
	}
	if s := answer(small, "gzip"); s.Header().Get("Content-Encoding") != "" || strings.TrimSpace(s.Body.String()) != `{"n":1}` {
		t.Errorf("small answer: %v %q", s.Header(), s.Body)
	}
}

// TestRemoteAsksGzipOnlyAcrossHosts: a Remote of a collector on this host
// asks for plain answers; one of another host asks for gzip and reads the
// gzipped answer as the plain one.
func TestRemoteAsksGzipOnlyAcrossHosts(t *testing.T) {
	var asked []string
	journey := make([]decision.Decision, 300)
	for i := range journey {
		journey[i] = decision.Decision{ID: "0000000000000001-0001", UserID: "u1", Type: "$login", Signals: []string{"proxy_ip"},
			Time: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), EventTime: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
			ReceivedAt: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), Request: json.RawMessage(`{"type":"$login"}`)}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Header.Get("Accept-Encoding"))
		writeAnswer(w, r, WireDecisions(journey))
	}))
	defer srv.Close()
	for _, across := range []bool{false, true} {
		asked = nil
		r, err := Dial(srv.URL, "", RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.gzip = across
		got, err := r.Journey(context.Background(), JourneyQuery{User: "u1"})
		r.Close()
		if err != nil || !reflect.DeepEqual(got, journey) {
			t.Fatalf("across hosts %v: %d decisions, %v", across, len(got), err)
		}
		if want := map[bool]string{false: "identity", true: "gzip"}[across]; len(asked) != 1 || asked[0] != want {
			t.Errorf("across hosts %v: asked %q, want %q", across, asked, want)
		}
	}
	for host, want := range map[string]bool{"127.0.0.1": false, "localhost": false, "[::1]": false, "10.0.0.7": true, "collector.internal": true} {
		r, err := Dial("http://"+host+":7676", "", RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.gzip != want {
			t.Errorf("%s: gzip %v, want %v", host, r.gzip, want)
		}
		r.Close()
	}
}
