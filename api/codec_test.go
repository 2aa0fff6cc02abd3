package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// decodeAs decodes a request to path (with its query) into a T through
// pattern, as the handler does.
func decodeAs[T any](pattern, target string) (T, error) {
	var q T
	var err error
	mux := http.NewServeMux()
	mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
		err = newCodec(reflect.TypeFor[T](), false).decode(r, reflect.ValueOf(&q).Elem())
	})
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
	return q, err
}

func TestCodecWritesOnlyWhatIsNotTheDefault(t *testing.T) {
	c := newCodec(reflect.TypeFor[LatestQuery](), false)
	cases := []struct {
		q    LatestQuery
		want url.Values
	}{
		{LatestQuery{N: 100}, url.Values{}},
		{LatestQuery{}, url.Values{"n": {"0"}}},
		{LatestQuery{N: 5, Filter: "a b", Before: ZeroID}, url.Values{"n": {"5"}, "filter": {"a b"}, "before": {ZeroID}}},
	}
	for _, tc := range cases {
		_, got, err := c.encode(reflect.ValueOf(tc.q), "/x")
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: %v, %v; want %v", tc.q, got, err, tc.want)
		}
	}
	if q, err := decodeAs[LatestQuery]("/x", "/x"); err != nil || q.N != 100 {
		t.Errorf("absent n: %+v, %v; want the default 100", q, err)
	}
	th := decision.Thresholds{Score: decision.ScoreRisk}
	_, got, err := newCodec(reflect.TypeFor[WhatIfQuery](), false).encode(reflect.ValueOf(WhatIfQuery{Thresholds: th}), "/x")
	if want := (url.Values{"score": {"risk"}, "challenge": {"0"}, "deny": {"0"}}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("required zero values: %v, %v; want %v", got, err, want)
	}
}

func TestCodecReadsAndRefuses(t *testing.T) {
	q, err := decodeAs[FlipsQuery]("/f", "/f?score=bot&challenge=49.5&deny=80&from=2026-11-25T09:00:00.5Z&limit=7")
	want := FlipsQuery{Thresholds: decision.Thresholds{Score: decision.ScoreBot, Challenge: 49.5, Deny: 80},
		From: time.Date(2026, 11, 25, 9, 0, 0, 5e8, time.UTC), Limit: 7}
	if err != nil || !reflect.DeepEqual(q, want) {
		t.Errorf("flips: %+v, %v", q, err)
	}
	j, err := decodeAs[JourneyQuery]("/u/{id}/j", "/u/a%2Fb%2E/j")
	if err != nil || j.User != "a/b." {
		t.Errorf("journey: %+v, %v", j, err)
	}
	u, err := decodeAs[UsersQuery]("/u", "/u?sort=denies&search=x")
	if err != nil || u.Sort != decision.SortDenies || u.Search != "x" {
		t.Errorf("users: %+v, %v", u, err)
	}
	for target, want := range map[string]string{
		"/f?score=bot&challenge=1":                        "deny: required",
		"/f?score=bot&challenge=1&deny=NaN":               `deny: want a finite number such as 70, got "NaN"`,
		"/f?score=karma&challenge=1&deny=2":               `score: unknown score "karma"`,
		"/f?score=bot&challenge=1&deny=2&limit=1.5":       `limit: want a whole number, got "1.5"`,
		"/f?score=bot&challenge=1&deny=2&from=yesterday":  `from: want an RFC 3339 time such as 2026-11-25T10:00:00Z, got "yesterday"`,
		"/f?score=bot&challenge=1&deny=2&limit=1&limit=2": `parameter "limit" given 2 times`,
		"/f?score=bot&challenge=1&deny=2&color=red":       `unknown parameter "color" (/f takes score, challenge, deny, from, to, limit, brief)`,
		"/f?%zz": "bad query string",
		"/f?score=bot&challenge=1&deny=2&reverse=true&x=1": `unknown parameter "reverse"`,
	} {
		_, err := decodeAs[FlipsQuery]("/f", target)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", target, err, want)
		}
	}
	if _, err := decodeAs[healthQuery]("/h", "/h?x=1"); err == nil || !strings.Contains(err.Error(), "/h takes no parameters") {
		t.Errorf("health with a parameter: %v", err)
	}
}

func TestCodecRefusesWhatCannotTravel(t *testing.T) {
	for name, typ := range map[string]reflect.Type{
		"untagged": reflect.TypeFor[struct{ A string }](),
		"slice": reflect.TypeFor[struct {
			A []string `query:"a"`
		}](),
		"bad option": reflect.TypeFor[struct {
			A string `query:"a,sometimes"`
		}](),
		"twice": reflect.TypeFor[struct {
			A, B string `query:"a"`
		}](),
		"bad default": reflect.TypeFor[struct {
			A int `query:"a,default=many"`
		}](),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			newCodec(typ, false)
		}()
	}
}
