package safee

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// hostileSeeds are inputs every parser in this package must survive.
var hostileSeeds = []string{
	"",
	"\x00",
	"{\"type\":\"$login\"}\x00",
	"{\"type\":\"$lo\\u0000gin\"}",
	"{\"type\":\"\xff\xfe\"}",
	"\xef\xbb\xbf{\"type\":\"$login\"}",
	`{"type":"$login","type":7}`,
	`{"type":7,"type":"$login"}`,
	`{"risk":1,"risk":"x"}`,
	`{"type":"$login","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	`{"a":` + strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat("}", 501),
	`{"risk":1e309,"bot":-1e309}`,
	`{"risk":123456789012345678901234567890}`,
	`{"type":"$login","event_id":1e999999}`,
	`{"risk":"1e2","bot":"-0","account_abuse":"0.0000001"}`,
	`{"type":"$../../admin?x=1#y"}`,
	`{"type":"$login"}{"type":"$login"}`,
	`{"type":"$login"} // comment`,
	`{"type":"$login",}`,
	`{'type':'$login'}`,
	`{"type":"$login","timestamp":"2026-02-30T25:61:61Z"}`,
	`{"signals":[null,"proxy_ip",""],"policy":{"action":"DeNy"}}`,
	`[]`, `null`, `"str"`, `-0`,
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		specLogin,
		`{"type":"$login","status":"$failed","user":{"user_id":"u1","user_ip":"198.51.100.4"}}`,
		`{"type":"$registration","status":"$attempted","event_id":"e-9","timestamp":"2026-01-02T03:04:05Z","user":{"user_id":7,"user_email":"x@y.z"}}`,
		`{"type":"$profile_update","status":"$succeeded","user_headers":{"user_agent":"curl/8.0"}}`,
		`{"type":"$transaction","amount":12.5,"currency":"EUR"}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		ev, err := ParseEvent(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("ParseEvent modified its input")
		}
		if err != nil {
			if ev.Raw != nil || ev.Type != "" {
				t.Fatalf("error %v with a non-zero event", err)
			}
			if !isParseReason(err) {
				t.Fatalf("error %v wraps no Err* reason", err)
			}
			return
		}
		if !bytes.Equal(ev.Raw, b) {
			t.Fatal("Raw differs from the input")
		}
		name := ev.Name()
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Fatalf("accepted type %q gives an unsafe name %q", ev.Type, name)
		}
		if r := ev.Route(); r != RouteRisk && r != RouteFilter {
			t.Fatalf("route %q", r)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		specResponse,
		`{"risk":25,"account_abuse":0,"account_takeover":0,"bot":0,"signals":[],"policy":{"name":"default","action":"Deny"}}`,
		`{"risk":"42","signals":["bot_behavior"],"policy":{"name":"p","action":"challenge"},"new_field":{"nested":[1,2,3]}}`,
		`{"risk":100,"bot":99.5,"policy":{"action":"ALLOW"}}`,
		`{"error":"invalid key"}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		r, err := ParseResponse(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("ParseResponse modified its input")
		}
		if err != nil {
			if r.Raw != nil {
				t.Fatalf("error %v with Raw set", err)
			}
			if !isParseReason(err) {
				t.Fatalf("error %v wraps no Err* reason", err)
			}
			return
		}
		if !bytes.Equal(r.Raw, b) {
			t.Fatal("Raw differs from the input")
		}
		for _, s := range []float64{r.Risk, r.AccountAbuse, r.AccountTakeover, r.Bot} {
			if math.IsNaN(s) || s < 0 || s > 100 {
				t.Fatalf("score %v outside 0-100 accepted", s)
			}
		}
		switch r.Action {
		case ActionAllow, ActionChallenge, ActionDeny, ActionUnknown:
		default:
			t.Fatalf("action %q not normalised", r.Action)
		}
		for k := range r.Extra {
			if knownResponseFields[k] {
				t.Fatalf("known field %q in Extra", k)
			}
		}
	})
}

func isParseReason(err error) bool {
	for _, reason := range []error{
		ErrInvalidUTF8, ErrNotJSON, ErrNotObject, ErrTrailingData, ErrMissingType,
		ErrBadType, ErrBadTimestamp, ErrBadField, ErrBadScore,
	} {
		if errors.Is(err, reason) {
			return true
		}
	}
	return false
}
