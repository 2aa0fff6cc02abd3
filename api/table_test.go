package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/policy"
)

// fakeBackend is a Backend that records each call (the method and what it
// was given after the context) and answers what set gave for the method,
// or err.
type fakeBackend struct {
	mu      sync.Mutex
	calls   []fakeCall
	answers map[string]any
	err     error
}

type fakeCall struct {
	method string
	args   []any
}

func newFakeBackend() *fakeBackend { return &fakeBackend{answers: map[string]any{}} }

func (f *fakeBackend) set(method string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[method] = v
}

func (f *fakeBackend) last() (fakeCall, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return fakeCall{}, false
	}
	return f.calls[len(f.calls)-1], true
}

// answer records the call and returns the answer set for method.
func answer[R any](f *fakeBackend, method string, args ...any) (R, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{method: method, args: args})
	r, _ := f.answers[method].(R)
	return r, f.err
}

func (f *fakeBackend) Latest(_ context.Context, q LatestQuery) ([]decision.Decision, error) {
	return answer[[]decision.Decision](f, "Latest", q)
}
func (f *fakeBackend) Decision(_ context.Context, id string) (decision.Decision, error) {
	return answer[decision.Decision](f, "Decision", id)
}
func (f *fakeBackend) Rates(_ context.Context, q RatesQuery) ([]decision.MinuteCounts, error) {
	return answer[[]decision.MinuteCounts](f, "Rates", q)
}
func (f *fakeBackend) Stats(_ context.Context, q StatsQuery) (decision.Totals, error) {
	return answer[decision.Totals](f, "Stats", q)
}
func (f *fakeBackend) Health(context.Context) (Health, error) { return answer[Health](f, "Health") }
func (f *fakeBackend) Range(_ context.Context, q RangeQuery) (Page, error) {
	return answer[Page](f, "Range", q)
}
func (f *fakeBackend) Journey(_ context.Context, q JourneyQuery) ([]decision.Decision, error) {
	return answer[[]decision.Decision](f, "Journey", q)
}
func (f *fakeBackend) Users(_ context.Context, q UsersQuery) ([]decision.UserSummary, error) {
	return answer[[]decision.UserSummary](f, "Users", q)
}
func (f *fakeBackend) SearchUsers(_ context.Context, q UsersQuery) (UserList, error) {
	return answer[UserList](f, "SearchUsers", q)
}
func (f *fakeBackend) Histogram(_ context.Context, q HistogramQuery) (decision.Histogram, error) {
	return answer[decision.Histogram](f, "Histogram", q)
}
func (f *fakeBackend) WhatIf(_ context.Context, q WhatIfQuery) (decision.WhatIf, error) {
	return answer[decision.WhatIf](f, "WhatIf", q)
}
func (f *fakeBackend) Flips(_ context.Context, q FlipsQuery) ([]decision.Decision, error) {
	return answer[[]decision.Decision](f, "Flips", q)
}
func (f *fakeBackend) Labels(_ context.Context, q LabelsQuery) ([]decision.LabelEntry, error) {
	return answer[[]decision.LabelEntry](f, "Labels", q)
}
func (f *fakeBackend) LabelHistory(_ context.Context, q LabelHistoryQuery) (SubjectLabels, error) {
	return answer[SubjectLabels](f, "LabelHistory", q)
}
func (f *fakeBackend) LabelStats(_ context.Context, q LabelStatsQuery) (decision.LabelStats, error) {
	return answer[decision.LabelStats](f, "LabelStats", q)
}
func (f *fakeBackend) LabelWhatIf(_ context.Context, q LabelWhatIfQuery) (decision.LabelWhatIf, error) {
	return answer[decision.LabelWhatIf](f, "LabelWhatIf", q)
}
func (f *fakeBackend) Label(_ context.Context, w LabelWrite) (LabelResult, error) {
	return answer[LabelResult](f, "Label", w)
}
func (f *fakeBackend) ReloadShadowPolicy(context.Context) (ShadowReload, error) {
	return answer[ShadowReload](f, "ReloadShadowPolicy")
}
func (f *fakeBackend) Explain(_ context.Context, q ExplainQuery) (Explanation, error) {
	return answer[Explanation](f, "Explain", q)
}
func (f *fakeBackend) ExplainCounts(_ context.Context, q ExplainCountsQuery) (ExplainCounts, error) {
	return answer[ExplainCounts](f, "ExplainCounts", q)
}
func (f *fakeBackend) Alerts(_ context.Context, q AlertsQuery) (Alerts, error) {
	return answer[Alerts](f, "Alerts", q)
}
func (f *fakeBackend) Backtest(_ context.Context, q BacktestQuery) (Backtest, error) {
	return answer[Backtest](f, "Backtest", q)
}
func (f *fakeBackend) Links(_ context.Context, q LinksQuery) (decision.Links, error) {
	return answer[decision.Links](f, "Links", q)
}

func (f *fakeBackend) Replay(_ context.Context, q ReplayQuery) (policy.Report, error) {
	return answer[policy.Report](f, "Replay", q)
}
func (f *fakeBackend) PolicyDiff(_ context.Context, q DiffQuery) (policy.DiffReport, error) {
	return answer[policy.DiffReport](f, "PolicyDiff", q)
}
func (f *fakeBackend) After(_ context.Context, after string, n int) ([]decision.Decision, error) {
	return answer[[]decision.Decision](f, "After", after, n)
}

// Subscribe delivers nothing until ctx ends.
func (f *fakeBackend) Subscribe(ctx context.Context) <-chan Batch {
	ch := make(chan Batch)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// routeLog records the method and escaped path of every request.
type routeLog struct {
	mu   sync.Mutex
	reqs []string
	h    http.Handler
}

func (l *routeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.EscapedPath())
	l.mu.Unlock()
	l.h.ServeHTTP(w, r)
}

func (l *routeLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) == 0 {
		return ""
	}
	return l.reqs[len(l.reqs)-1]
}

// fill sets every field of v (recursively, pointers and containers up to
// depth) to a value that is not the zero value and survives the wire:
// strings with characters paths and queries must escape, times in UTC with
// nanoseconds, one element per slice and map. Scores and sorts (ints) get
// small values, which are valid ones.
func fill(v reflect.Value, seed, depth int) {
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 9, seed%60, 7, 123456789, time.UTC)))
		return
	}
	switch v.Type() {
	case reflect.TypeFor[explain.Mode]():
		v.Set(reflect.ValueOf(explain.ModeDeny))
		return
	case reflect.TypeFor[decision.Dimension]():
		v.Set(reflect.ValueOf(decision.Dimension(seed % int(decision.NumDimensions))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("a/b ?&%%.#%d", seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(1 + seed%2))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(3 + seed))
	case reflect.Float64:
		v.SetFloat(float64(seed) + 0.25)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed+i, depth)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), seed+i, depth)
		}
	case reflect.Slice:
		if depth > 0 {
			s := reflect.MakeSlice(v.Type(), 1, 1)
			fill(s.Index(0), seed, depth-1)
			v.Set(s)
		}
	case reflect.Map:
		if depth > 0 {
			m := reflect.MakeMap(v.Type())
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, seed, depth-1)
			fill(e, seed+1, depth-1)
			m.SetMapIndex(k, e)
			v.Set(m)
		}
	case reflect.Pointer:
		if depth > 0 {
			p := reflect.New(v.Type().Elem())
			fill(p.Elem(), seed, depth-1)
			v.Set(p)
		}
	}
}

// TestEveryReaderMethodIsAnOp walks the Reader interface and the table:
// each method but Subscribe must be an op, and each op a method; Remote
// must ask each op's route, the handler must serve it from the backend,
// and the query and the answer must arrive as they were sent. The
// federation must reach the backend through the same op.
func TestEveryReaderMethodIsAnOp(t *testing.T) {
	fb := newFakeBackend()
	log := &routeLog{h: Handler(fb, HandlerOptions{Guard: Guard{Token: testToken}})}
	srv := httptest.NewServer(log)
	defer srv.Close()
	remote := dial(t, srv.URL, RemoteOptions{})
	fed, err := Federate(Member{Name: "one", Reader: remote})
	if err != nil {
		t.Fatal(err)
	}

	ops := map[string]RouteInfo{}
	for _, in := range Routes() {
		if _, dup := ops[in.Name]; dup {
			t.Errorf("two routes serve %s", in.Name)
		}
		ops[in.Name] = in
	}
	rt, wt := reflect.TypeFor[Reader](), reflect.TypeFor[Writer]()
	for in := range ops {
		_, isRead := rt.MethodByName(in)
		_, isWrite := wt.MethodByName(in)
		if !isRead && !isWrite {
			t.Errorf("route %s %s serves %s, which neither Reader nor Writer has", ops[in].Method, ops[in].Path, in)
		}
	}
	var methods []reflect.Method
	for i := range rt.NumMethod() {
		methods = append(methods, rt.Method(i))
	}
	for i := range wt.NumMethod() {
		methods = append(methods, wt.Method(i))
	}
	for _, m := range methods {
		_, write := wt.MethodByName(m.Name)
		in, ok := ops[m.Name]
		switch {
		case !ok:
			t.Errorf("%s has no op in the table", m.Name)
			continue
		case m.Name == "Subscribe":
			if in.Path != "/v1/stream" || in.Query != nil {
				t.Errorf("Subscribe is served at %s", in.Path)
			}
			continue // the stream has its own tests
		}
		t.Run(m.Name, func(t *testing.T) {
			args := []reflect.Value{reflect.ValueOf(context.Background())}
			var sent []any
			for p := 1; p < m.Type.NumIn(); p++ {
				v := reflect.New(m.Type.In(p)).Elem()
				fill(v, 10*p, 3)
				args = append(args, v)
				sent = append(sent, v.Interface())
			}
			want := reflect.New(m.Type.Out(0)).Elem()
			fill(want, 1, 3)
			fb.set(m.Name, want.Interface())

			out := reflect.ValueOf(remote).MethodByName(m.Name).Call(args)
			if err, _ := out[1].Interface().(error); err != nil {
				t.Fatalf("Remote.%s: %v", m.Name, err)
			}
			call, ok := fb.last()
			if !ok || call.method != m.Name {
				t.Fatalf("Remote.%s reached the backend's %q", m.Name, call.method)
			}
			if !reflect.DeepEqual(call.args, sent) {
				t.Errorf("sent %#v, the backend got %#v", sent, call.args)
			}
			if got := out[0].Interface(); !reflect.DeepEqual(got, want.Interface()) {
				t.Errorf("answered %#v, Remote returned %#v", want.Interface(), got)
			}
			// The request matched the op's route and no other.
			mux := http.NewServeMux()
			mux.Handle(in.Path, http.NotFoundHandler())
			method, path, _ := strings.Cut(log.last(), " ")
			req := httptest.NewRequest(method, path, nil)
			if _, pattern := mux.Handler(req); pattern != in.Path || method != in.Method {
				t.Errorf("Remote.%s asked %s, want %s %s", m.Name, log.last(), in.Method, in.Path)
			}

			if write {
				// A federation refuses writes (see Federation.Label).
				out = reflect.ValueOf(fed).MethodByName(m.Name).Call(args)
				if err, _ := out[1].Interface().(error); !errors.Is(err, ErrInvalid) {
					t.Errorf("Federation.%s: %v, want a refusal", m.Name, err)
				}
				return
			}
			if m.Name == "Range" {
				// A federation's cursor is its own: start at the first page.
				q := sent[0].(RangeQuery)
				q.Cursor = ""
				args[1], sent[0] = reflect.ValueOf(q), q
			}
			if m.Name == "Links" {
				// A federation sends the user's values on every member
				// (from Journey); none lie in a window of 2ns.
				q := sent[0].(LinksQuery)
				q.Values = ""
				sent[0] = q
			}
			if m.Name == "Users" || m.Name == "SearchUsers" {
				// A federation pages its members and looks users up
				// itself (federation_topn_test.go).
				return
			}
			if m.Name == "Explain" {
				// A federation analyses the sum of its members'
				// ExplainCounts itself (TestFederatedExplainIsExact).
				return
			}
			out = reflect.ValueOf(fed).MethodByName(m.Name).Call(args)
			if err, _ := out[1].Interface().(error); err != nil {
				t.Fatalf("Federation.%s: %v", m.Name, err)
			}
			if call, _ := fb.last(); call.method != m.Name || !reflect.DeepEqual(call.args, sent) {
				t.Errorf("Federation.%s reached the backend's %s with %#v", m.Name, call.method, call.args)
			}
		})
	}
}

// TestHandlerAnswersEachKindOfError maps backend errors to statuses and
// Remote maps them back, text and kind intact.
func TestHandlerAnswersEachKindOfError(t *testing.T) {
	fb := newFakeBackend()
	srv := httptest.NewServer(Handler(fb, HandlerOptions{Guard: Guard{Token: testToken}, QueryTimeout: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	remote := dial(t, srv.URL, RemoteOptions{})
	cases := []struct {
		err    error
		status int
		kind   error
	}{
		{Invalid(fmt.Errorf("filter: bad")), http.StatusBadRequest, ErrInvalid},
		{NotFound(fmt.Errorf("decision x: not found")), http.StatusNotFound, ErrNotFound},
		{Unavailable(fmt.Errorf("store closed")), http.StatusServiceUnavailable, ErrUnavailable},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, ErrUnavailable},
		{fmt.Errorf("disk on fire"), http.StatusInternalServerError, nil},
	}
	for _, tc := range cases {
		fb.err = tc.err
		_, err := remote.Stats(context.Background(), StatsQuery{})
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != tc.status {
			t.Errorf("%v: %v, want status %d", tc.err, err, tc.status)
			continue
		}
		if tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("%v: %v does not wrap %v", tc.err, err, tc.kind)
		}
		if tc.status != http.StatusServiceUnavailable || tc.kind != ErrUnavailable || errors.Is(tc.err, ErrUnavailable) {
			if err.Error() != tc.err.Error() {
				t.Errorf("text %q, want %q", err, tc.err)
			}
		}
	}
}

// The test op of a write: it echoes its body and its path value, through
// an interface of its own, as the labels write will.
type echoer interface {
	Echo(ctx context.Context, q echoWrite) (echoResult, error)
}

type echoWrite struct {
	Subject string   `path:"id" json:"-"`
	Text    string   `json:"text"`
	N       int      `json:"n"`
	Tags    []string `json:"tags"`
}

type echoResult struct {
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	N       int      `json:"n"`
	Tags    []string `json:"tags"`
}

var opEcho = newOp(op[echoer, echoWrite, echoResult]{
	name: "Echo", route: "echo", method: http.MethodPost, path: "/v1/test/{id}/echo",
	call: echoer.Echo,
})

type echoBackend struct{ *fakeBackend }

func (echoBackend) Echo(_ context.Context, q echoWrite) (echoResult, error) {
	return echoResult{Subject: q.Subject, Text: "echo: " + q.Text, N: q.N, Tags: q.Tags}, nil
}

// TestWritePlumbing serves a write op beside the table: a POST with a JSON
// body, under the same guard as every route, called through Remote.
func TestWritePlumbing(t *testing.T) {
	mux := http.NewServeMux()
	register(mux, append(slices.Clone(table), opEcho), echoBackend{newFakeBackend()},
		HandlerOptions{Guard: Guard{Token: testToken}, MaxWriteBody: 256})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	remote := dial(t, srv.URL, RemoteOptions{})
	ctx := context.Background()

	got, err := call(ctx, remote, opEcho, echoWrite{Subject: "u/1 ..", Text: "hi", N: 3, Tags: []string{"a"}})
	if err != nil || !reflect.DeepEqual(got, echoResult{Subject: "u/1 ..", Text: "echo: hi", N: 3, Tags: []string{"a"}}) {
		t.Fatalf("echo: %+v, %v", got, err)
	}

	wrong, err := Dial(srv.URL, "not-the-token", RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = call(ctx, wrong, opEcho, echoWrite{Subject: "u", Text: "hi"})
	var ae *Error
	if !errors.As(err, &ae) || !ae.Unauthorized() {
		t.Errorf("a write with a wrong token: %v", err)
	}

	_, err = call(ctx, remote, opEcho, echoWrite{Subject: "u", Text: string(make([]byte, 300))})
	if !errors.As(err, &ae) || ae.Status != http.StatusRequestEntityTooLarge || ae.Message != "body larger than 256 bytes" {
		t.Errorf("a write over the body limit: %v", err)
	}

	post := func(path, body string) (int, WireError) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var we WireError
		_ = json.NewDecoder(resp.Body).Decode(&we)
		return resp.StatusCode, we
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/test/u/echo", `{"text":"a","color":"red"}`, `body: json: unknown field "color"`},
		{"/v1/test/u/echo", `{"text":"a"} {"text":"b"}`, "body: more than one JSON value"},
		{"/v1/test/u/echo", `{"n":"three"}`, "body: json: cannot unmarshal"},
		{"/v1/test/u/echo?n=3", `{"text":"a"}`, `unknown parameter "n" (/v1/test/u/echo takes no parameters)`},
	} {
		if code, we := post(tc.path, tc.body); code != http.StatusBadRequest || !strings.Contains(we.Error, tc.want) {
			t.Errorf("POST %s %s: %d %q, want 400 with %q", tc.path, tc.body, code, we.Error, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/test/u/echo", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET a write: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
