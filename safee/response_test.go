package safee

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// specResponse is shaped like Safe-e's documented answer (SPEC section 1).
const specResponse = `{"risk":55,"account_abuse":12.5,"account_takeover":70,"bot":3,` +
	`"signals":["proxy_ip","credential_stuffing"],"policy":{"name":"Block stuffing","action":"Deny"}}`

func TestParseResponseFields(t *testing.T) {
	r, err := ParseResponse([]byte(specResponse))
	if err != nil {
		t.Fatalf("ParseResponse: %v", err)
	}
	want := Response{
		Risk: 55, AccountAbuse: 12.5, AccountTakeover: 70, Bot: 3,
		Signals: []string{"proxy_ip", "credential_stuffing"},
		Policy:  Policy{Name: "Block stuffing", Action: "Deny"},
		Action:  ActionDeny,
		Raw:     []byte(specResponse),
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
}

func TestParseResponseKeepsUnknownFields(t *testing.T) {
	in := []byte(`{"risk":10,"policy":{"name":"p","action":"Allow","rule_id":7},"request_id":"r-1","model":{"version":"2026.1"},"score_v2":[1,2]}` + "\n")
	r, err := ParseResponse(in)
	if err != nil {
		t.Fatalf("ParseResponse: %v", err)
	}
	if !bytes.Equal(r.Raw, in) {
		t.Errorf("Raw = %q, want the input unchanged", r.Raw)
	}
	want := map[string]string{
		"request_id": `"r-1"`, "model": `{"version":"2026.1"}`, "score_v2": `[1,2]`,
	}
	if len(r.Extra) != len(want) {
		t.Errorf("Extra has %d members, want %d: %v", len(r.Extra), len(want), r.Extra)
	}
	for k, v := range want {
		if string(r.Extra[k]) != v {
			t.Errorf("Extra[%q] = %s, want %s", k, r.Extra[k], v)
		}
	}
	in[2] = 'X'
	if r.Raw[2] == 'X' {
		t.Error("Raw aliases the input buffer")
	}
}

func TestParseResponseActions(t *testing.T) {
	tests := map[string]Action{
		`"Allow"`: ActionAllow, `"allow"`: ActionAllow, `"ALLOW"`: ActionAllow,
		`"Challenge"`: ActionChallenge, `"cHaLlEnGe"`: ActionChallenge, `" deny "`: ActionDeny,
		`"DENY"`: ActionDeny, `"block"`: ActionUnknown, `""`: ActionUnknown, `null`: ActionUnknown,
	}
	for action, want := range tests {
		r, err := ParseResponse([]byte(`{"risk":1,"policy":{"name":"p","action":` + action + `}}`))
		if err != nil {
			t.Fatalf("action %s: %v", action, err)
		}
		if r.Action != want {
			t.Errorf("action %s → %q, want %q", action, r.Action, want)
		}
	}
	for _, in := range []string{`{"risk":1}`, `{"risk":1,"policy":null}`, `{"policy":{"name":"p"}}`} {
		r, err := ParseResponse([]byte(in))
		if err != nil || r.Action != ActionUnknown {
			t.Errorf("%s → %q, %v; want unknown, nil", in, r.Action, err)
		}
	}
}

func TestParseResponseScores(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{`{"risk":0}`, 0}, {`{"risk":100}`, 100}, {`{"risk":99.99}`, 99.99},
		{`{"risk":"42"}`, 42}, {`{"risk":"42.5"}`, 42.5}, {`{"risk":"1e1"}`, 10},
		{`{"risk":null}`, 0}, {`{}`, 0}, {`{"risk":-0}`, 0}, {`{"risk":5e-324}`, 5e-324},
	}
	for _, tt := range tests {
		r, err := ParseResponse([]byte(tt.in))
		if err != nil || r.Risk != tt.want {
			t.Errorf("%s → %v, %v; want %v", tt.in, r.Risk, err, tt.want)
		}
	}
}

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		detail   string
	}{
		{"empty", ``, ErrNotJSON, "empty"},
		{"malformed", `{"risk":`, ErrNotJSON, ""},
		{"html", `<html>502 Bad Gateway</html>`, ErrNotJSON, ""},
		{"array", `[]`, ErrNotObject, "array"},
		{"trailing", `{"risk":1}}`, ErrTrailingData, ""},
		{"invalid utf-8", "{\"signals\":[\"\xc3\"]}", ErrInvalidUTF8, ""},
		{"risk above 100", `{"risk":100.5}`, ErrBadScore, "risk"},
		{"bot negative", `{"bot":-1}`, ErrBadScore, "bot"},
		{"huge", `{"account_takeover":1e400}`, ErrBadScore, "account_takeover"},
		{"quoted NaN", `{"risk":"NaN"}`, ErrBadScore, "not a number"},
		{"quoted Inf", `{"risk":"Inf"}`, ErrBadScore, "not a number"},
		{"quoted hex", `{"risk":"0x10"}`, ErrBadScore, "not a number"},
		{"quoted empty", `{"risk":""}`, ErrBadScore, "not a number"},
		{"quoted out of range", `{"risk":"250"}`, ErrBadScore, "outside"},
		{"bool score", `{"account_abuse":true}`, ErrBadScore, "account_abuse"},
		{"object score", `{"risk":{"value":1}}`, ErrBadScore, "risk"},
		{"signals string", `{"signals":"proxy_ip"}`, ErrBadField, "signals"},
		{"signals numbers", `{"signals":[1,2]}`, ErrBadField, "signals"},
		{"policy string", `{"policy":"Deny"}`, ErrBadField, "policy"},
		{"policy action number", `{"policy":{"action":3}}`, ErrBadField, "policy.action"},
		{"policy name array", `{"policy":{"name":[]}}`, ErrBadField, "policy.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("err = %q, want it to mention %q", err, tt.detail)
			}
			if r.Raw != nil {
				t.Errorf("failed parse returned Raw")
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for in, want := range map[string]Action{"Allow": ActionAllow, "\tDENY\n": ActionDeny, "unknown": ActionUnknown, "allowed": ActionUnknown} {
		if got := ParseAction(in); got != want {
			t.Errorf("ParseAction(%q) = %q, want %q", in, got, want)
		}
	}
}
