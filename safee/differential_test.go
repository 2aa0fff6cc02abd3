package safee

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/riskwatch/riskwatch/safee/emulator"
)

// parseReasons are the reasons a parse can fail with.
var parseReasons = []error{
	ErrInvalidUTF8, ErrNotJSON, ErrNotObject, ErrTrailingData, ErrMissingType,
	ErrBadType, ErrBadTimestamp, ErrBadField, ErrBadScore,
}

// differentialSeeds reach the corners where a hand-written scanner could
// part ways with encoding/json: every syntax error it words, escapes in keys
// and values, surrogates, nesting at the depth limit, repeated keys.
var differentialSeeds = []string{
	`{"typ\u0065":"$login","\u0075ser":{"user_\u0069d":"a\"b\\c\/d\b\f\n\r\t"}}`,
	`{"type":"$login","user":{"user_email":"\ud83d\ude00 \ud800 \udc00\ud800 \ud800\u0041 \ud800\ud800\udc00 \uD83D\uDE00"}}`,
	`{"type":"$login","user":{"user_id":1},"user":{"user_email":"x"}}`,
	`{"type":"$login","user":{"user_id":1},"user":null}`,
	`{"type":"$login","user":{"user_id":1},"user":"u"}`,
	`{"type":"$login","user":{"user_id":1,"user_id":"two"},"user_headers":{"user_agent":"a","user_agent":null}}`,
	`{"type":"$login","user_headers":{"user_agent":"a"},"user_headers":{}}`,
	`{"type":"$login","event_id":-0.5e+10,"user":{"user_id":-0}}`,
	`{"type":"$login","event_id":1E-2,"user":{"user_id":123456789012345678901234567890}}`,
	`{"type":"$login","status":"$failed","status":null}`,
	`{"type":"$login","timestamp":"2026-03-01T10:20:30.123456789+05:30"}`,
	`{"type":"$login","timestamp":"2026-03-01t10:20:30z"}`,
	`{"type":"$login","timestamp":"2026-03-01T10:20:30Z","timestamp":7}`,
	`{"type":"$LOGIN","product":"\u00e9\u0000"}`,
	" \t\r\n{ \"type\" \t:\r\n\"$login\" , \"user\" : { \"user_id\" : 7 } } \t\r\n",
	`{}`, `{ }`, `{"type":"$login","a":{},"b":[],"c":[{}],"d":{"e":[[]]}}`,
	`{"type":"$login","a":[1,true,false,null,"s",{"k":[-1.5e3]}]}`,
	`{"type":"$login",}`, `{"type":"$login" "x":1}`, `{"type" "$login"}`, `{"type":}`,
	`{,}`, `{"a":1,,}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":[1}`, `{"a":{]}`,
	`{"a":tru}`, `{"a":trux}`, `{"a":fals}`, `{"a":falsy}`, `{"a":nul}`, `{"a":nil}`, `{"a":nULL}`,
	`{"a":-}`, `{"a":-x}`, `{"a":01}`, `{"a":1.}`, `{"a":1.e5}`, `{"a":1e}`, `{"a":1e+}`, `{"a":1ex}`,
	`{"a":.5}`, `{"a":+1}`, `{"a":1_000}`, `{"a":0x10}`, `{"a":Infinity}`, `{"a":NaN}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, `{"a":"\U0041"}`, `{"a":"\'"}`,
	"{\"a\":\"tab\there\"}", "{\"a\":\"\x1f\"}", "{\"a\x01\":1}", "{\"a\":1}\x7f",
	`{"a":"é€😀"}`, "{\"a\":1\u00a0}", "{\u00a0\"a\":1}",
	`{"a":1`, `{"a":`, `{"a"`, `{"a`, `{"a\`, `{"a\u00`, `{`, `{"a":[`, `{"a":"x`, `{"a":-`, `{"a":1.`, `{"a":1e`,
	`{"a":t`, `{"a":[{"b":{`,
	`{"type":"$login"}  `, `{"type":"$login"} {`, "{\"type\":\"$login\"}\n\n\xff",
	`{"risk":"42 ","bot":"4\u0032","account_abuse":" 1"}`, `{"risk":"42\n"}`, `{"risk":"1e2 x"}`,
	`{"risk":"-","bot":"--1"}`, `{"risk":"0.0","bot":"100.0000000000000000001"}`, `{"risk":1e-400}`,
	`{"risk":-0.0,"bot":100,"account_abuse":100.0,"account_takeover":1e2}`, `{"risk":false}`, `{"risk":[]}`,
	`{"ris\u006b":200}`, `{"signals":["a"],"signals":null}`, `{"signals":["a"],"signals":[]}`,
	`{"signals":[],"signals":["b",null]}`, `{"signals":["a"],"signals":"x"}`, `{"signals":[["a"]]}`,
	`{"signals":[{"a":1},"x"]}`, `{"signals":["x",1e999]}`, `{"signals":[` + strings.Repeat(`"s",`, 40) + `"t"]}`,
	`{"policy":{"name":"a","action":"Deny"},"policy":{"name":"b"}}`, `{"policy":{"action":"DENY","action":7}}`,
	`{"policy":{"action":" \u0041llow\t"}}`, `{"policy":{"action":"ſ"}}`, `{"policy":{"action":"deny\u00a0"}}`,
	`{"policy":[]}`, `{"policy":{"name":{"x":1}}}`,
	`{"x":1,"x":2,"y":{"z":[1]},"\u0078":3,"risk":1,"":null}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`,
}

// depthSeeds nest to just within and just past the depth limit, at the top
// level and inside each object and array the parsers walk themselves. They
// run as a table, not as fuzz seeds: mutating 20 kB inputs would eat the
// fuzzing time.
var depthSeeds = []string{
	`{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `,"type":"$login"}`,
	`{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `,"type":"$login"}`,
	`{"x":` + strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat("}", 9999) + `,"type":"$login"}`,
	`{"x":` + strings.Repeat("[", 10001),
	`{"type":"$login","user":{"a":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}}`,
	`{"type":"$login","user":{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}}`,
	`{"signals":[` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `]}`,
	`{"signals":[` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `]}`,
	`{"policy":{"name":` + strings.Repeat(`{"a":`, 9998) + `1` + strings.Repeat("}", 9998) + `}}`,
	`{"policy":{"name":` + strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat("}", 9999) + `}}`,
}

func TestParsersAgreeAtDepthLimit(t *testing.T) {
	for _, s := range depthSeeds {
		sameEvent(t, []byte(s))
		sameResponse(t, []byte(s))
	}
}

// differentialTraffic returns real traffic: generated events from every
// scenario and the emulator's answers to them.
func differentialTraffic(tb testing.TB) (events, responses [][]byte) {
	tb.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return start }
	emu := emulator.New(emulator.Options{Seed: 3, Now: clock})
	for _, scenario := range []string{"mixed", "stuffing", "ato", "bots", "cardtesting"} {
		gen, err := emulator.NewGenerator(scenario, 3, clock)
		if err != nil {
			tb.Fatalf("generator %s: %v", scenario, err)
		}
		for range 4 {
			body := gen.Next()
			ev, err := ParseEvent(body)
			if err != nil {
				tb.Fatalf("generated event %s: %v", body, err)
			}
			events = append(events, body)
			responses = append(responses, emulatorAnswer(tb, emu, ev))
		}
	}
	return events, responses
}

// emulatorAnswer returns the emulator's 200 answer to ev.
func emulatorAnswer(tb testing.TB, emu *emulator.Emulator, ev Event) []byte {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/"+string(ev.Route())+"/"+ev.Name(), bytes.NewReader(ev.Raw))
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("emulator answered %d %s to %s", rec.Code, rec.Body, ev.Raw)
	}
	return rec.Body.Bytes()
}

func addSeeds(f *testing.F, extra [][]byte) {
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	for _, s := range differentialSeeds {
		f.Add([]byte(s))
	}
	for _, b := range extra {
		f.Add(b)
	}
}

func FuzzParseEventDifferential(f *testing.F) {
	events, _ := differentialTraffic(f)
	addSeeds(f, append(events, []byte(specLogin)))
	f.Fuzz(sameEvent)
}

func FuzzParseResponseDifferential(f *testing.F) {
	_, responses := differentialTraffic(f)
	addSeeds(f, append(responses, []byte(specResponse)))
	f.Fuzz(sameResponse)
}

// sameEvent fails t unless ParseEvent and the reference agree on b.
func sameEvent(t *testing.T, b []byte) {
	t.Helper()
	orig := bytes.Clone(b)
	got, err := ParseEvent(b)
	want, wantErr := refParseEvent(orig)
	sameError(t, err, wantErr)
	if !bytes.Equal(b, orig) {
		t.Fatal("ParseEvent modified its input")
	}
	if !got.Timestamp.Equal(want.Timestamp) || got.Timestamp.String() != want.Timestamp.String() {
		t.Errorf("Timestamp = %v, reference %v", got.Timestamp, want.Timestamp)
	}
	got.Timestamp, want.Timestamp = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseEvent(%q)\n  = %+v\nreference %+v", b, got, want)
	}
}

// sameResponse fails t unless ParseResponse and the reference agree on b.
func sameResponse(t *testing.T, b []byte) {
	t.Helper()
	orig := bytes.Clone(b)
	got, err := ParseResponse(b)
	want, wantErr := refParseResponse(orig)
	sameError(t, err, wantErr)
	if !bytes.Equal(b, orig) {
		t.Fatal("ParseResponse modified its input")
	}
	for _, s := range [][2]float64{
		{got.Risk, want.Risk}, {got.AccountAbuse, want.AccountAbuse},
		{got.AccountTakeover, want.AccountTakeover}, {got.Bot, want.Bot},
	} {
		if math.Float64bits(s[0]) != math.Float64bits(s[1]) {
			t.Errorf("score %v, reference %v", s[0], s[1])
		}
	}
	if !reflect.DeepEqual(got.Signals, want.Signals) {
		t.Errorf("Signals = %#v, reference %#v", got.Signals, want.Signals)
	}
	if got.Policy != want.Policy || got.Action != want.Action {
		t.Errorf("Policy, Action = %+v, %q; reference %+v, %q", got.Policy, got.Action, want.Policy, want.Action)
	}
	if (got.Extra == nil) != (want.Extra == nil) || !maps.EqualFunc(got.Extra, want.Extra, sameRaw) {
		t.Errorf("Extra = %q, reference %q", got.Extra, want.Extra)
	}
	if !bytes.Equal(got.Raw, want.Raw) || (got.Raw == nil) != (want.Raw == nil) {
		t.Errorf("Raw = %q, reference %q", got.Raw, want.Raw)
	}
}

func sameRaw(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

// sameError fails t unless err and the reference's wantErr agree: both nil,
// or the same text wrapping the same reason.
func sameError(t *testing.T, err, wantErr error) {
	t.Helper()
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("error %v, reference %v", err, wantErr)
	}
	if err == nil {
		return
	}
	if err.Error() != wantErr.Error() {
		t.Errorf("error %q, reference %q", err, wantErr)
	}
	for _, reason := range parseReasons {
		if errors.Is(err, reason) != errors.Is(wantErr, reason) {
			t.Errorf("error %q and reference %q disagree on %v", err, wantErr, reason)
		}
	}
}

// TestParseActionMatchesReference checks the allocation-free ParseAction
// against the ToLower-based one for every rune that folds or lowercases to
// ASCII, in every position of every action.
func TestParseActionMatchesReference(t *testing.T) {
	var runes []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.ToLower(r) < 0x80 || unicode.SimpleFold(r) < 0x80 {
			runes = append(runes, r)
		}
	}
	for _, a := range []Action{ActionAllow, ActionChallenge, ActionDeny} {
		word := string(a)
		for i := range word {
			for _, r := range runes {
				s := " " + word[:i] + string(r) + word[i+1:] + "\t"
				if got, want := ParseAction(s), refParseAction(s); got != want {
					t.Errorf("ParseAction(%q) = %q, reference %q", s, got, want)
				}
			}
		}
	}
}

// TestParsersAgreeOnTruncations cuts real traffic at every byte and checks
// each prefix against the reference: every place an input can end.
func TestParsersAgreeOnTruncations(t *testing.T) {
	events, responses := differentialTraffic(t)
	for _, b := range [][]byte{events[0], events[len(events)-1], responses[0], responses[len(responses)-1]} {
		for n := range len(b) + 1 {
			sameEvent(t, b[:n])
			sameResponse(t, b[:n])
		}
	}
}
