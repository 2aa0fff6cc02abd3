package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/store"
)

// exT0 ends every explained window of these tests.
var exT0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

const exUntil = "2026-03-02T12:00:00Z"

// exGen makes decisions of ordinary traffic, deterministic for a seed: a
// few event types, a few hundred /24s (the first ones busier), skewed
// domains and user agents, signals that make a deny likelier.
type exGen struct {
	r *rand.Rand
	n int
}

func newExGen(seed uint64) *exGen { return &exGen{r: rand.New(rand.NewPCG(seed, 7))} }

var (
	exTypes   = []string{"$login", "$login", "$login", "$registration", "$transaction"}
	exUAs     = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "curl/8.5.0"}
	exDomains = []string{"gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "proton.me", "web.de"}
	exSignals = []struct {
		name string
		p    float64
	}{{"new_device", 0.1}, {"proxy_ip", 0.05}, {"bot_behavior", 0.02}, {"credential_stuffing", 0.005}}
)

const exPythonUA = "python-requests/2.31.0"

func (g *exGen) normal(t time.Time) decision.Decision {
	g.n++
	r := g.r
	k := int(300 * r.Float64() * r.Float64())
	d := decision.Decision{
		EventID: fmt.Sprintf("ex-%d", g.n), Source: "test", EventTime: t, ReceivedAt: t,
		Type:      exTypes[r.IntN(len(exTypes))],
		Status:    "$succeeded",
		UserID:    fmt.Sprintf("u%d", r.IntN(3000)),
		IP:        fmt.Sprintf("11.%d.%d.%d", k/256, k%256, 1+r.IntN(60)),
		Country:   []string{"US", "US", "DE", "FR", "BR"}[k%5],
		UserAgent: exUAs[r.IntN(len(exUAs))],
		Policy:    "default",
	}
	d.Email = d.UserID + "@" + exDomains[r.IntN(len(exDomains))]
	deny := 0.03
	for _, s := range exSignals {
		if r.Float64() < s.p {
			d.Signals = append(d.Signals, s.name)
			deny += 0.3
		}
	}
	switch u := r.Float64(); {
	case u < deny:
		d.Action = decision.ActionDeny
	case u < deny+0.05:
		d.Action = decision.ActionChallenge
	default:
		d.Action = decision.ActionAllow
	}
	return d
}

// traffic returns n decisions of ordinary traffic over [from, from+width).
func (g *exGen) traffic(from time.Time, width time.Duration, n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for i := range ds {
		ds[i] = g.normal(from.Add(time.Duration(g.r.Int64N(int64(width)))))
	}
	return ds
}

// spike is traffic from 203.0.113.0/24 with python-requests.
func (g *exGen) spike(from time.Time, width time.Duration, n int) []decision.Decision {
	ds := g.traffic(from, width, n)
	for i := range ds {
		ds[i].IP = fmt.Sprintf("203.0.113.%d", 1+g.r.IntN(254))
		ds[i].UserAgent = exPythonUA
	}
	return ds
}

// stuffing is traffic flagged credential_stuffing and denied.
func (g *exGen) stuffing(from time.Time, width time.Duration, n int) []decision.Decision {
	ds := g.traffic(from, width, n)
	for i := range ds {
		ds[i].Signals = append(ds[i].Signals, "credential_stuffing")
		ds[i].Action = decision.ActionDeny
	}
	return ds
}

// storeAll stores ds in db.
func storeAll(t testing.TB, db *store.DB, ds []decision.Decision) {
	t.Helper()
	for len(ds) > 0 {
		n := min(len(ds), 2000)
		rs := make([]store.Result, n)
		for i := range rs {
			rs[i] = store.Result{Decision: ds[i]}
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		ds = ds[n:]
	}
}

// spikeDay is an hour of ordinary traffic, then a window of ten minutes
// with a spike from one /24 with one user agent.
func spikeDay(seed uint64) []decision.Decision {
	g := newExGen(seed)
	win := exT0.Add(-10 * time.Minute)
	ds := g.traffic(win.Add(-time.Hour), time.Hour, 3000)
	ds = append(ds, g.traffic(win, 10*time.Minute, 500)...)
	return append(ds, g.spike(win, 10*time.Minute, 150)...)
}

func exReader(t testing.TB, ds []decision.Decision) *Reader {
	t.Helper()
	db := openTestStore(t)
	storeAll(t, db, ds)
	return NewStoreReader(db, func() time.Time { return exT0.Add(time.Hour) })
}

func mustExplain(t *testing.T, r api.Reader, q api.ExplainQuery) api.Explanation {
	t.Helper()
	e, err := r.Explain(context.Background(), q)
	if err != nil {
		t.Fatalf("explain %+v: %v", q, err)
	}
	return e
}

// isSpike reports whether d names the planted /24 (alone or with its
// user agent).
func isSpike(d *api.Driver) bool {
	for _, v := range d.Values() {
		if v.Dim == decision.DimIP24 && v.Value == "203.0.113.0/24" {
			return true
		}
	}
	return false
}

func TestExplainPlantedSpike(t *testing.T) {
	ds := spikeDay(1)
	r := exReader(t, ds)
	e := mustExplain(t, r, api.ExplainQuery{Window: "10m", Baseline: "1h", Until: exUntil})
	if len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) {
		t.Fatalf("drivers %+v, want the planted /24 first", e.Drivers)
	}
	top := e.Drivers[0]
	if len(top.With) != 1 || top.Window < 150 || top.Term == "" {
		t.Errorf("top driver %+v: want the /24 with python-requests, at least 150 events", top.Driver)
	}
	if e.Window.Count != 650 || e.Baseline.Count != 3000 || e.Window.Seconds != 600 || e.Baseline.Seconds != 3600 {
		t.Errorf("sides %+v %+v", e.Window, e.Baseline)
	}
	// The sparkline spans six windows; the last fifth of its bins is the
	// window, which holds all of the driver's window events.
	if len(top.Series) != api.SeriesBins {
		t.Fatalf("series %v", top.Series)
	}
	var last uint64
	for _, n := range top.Series[api.SeriesBins-api.SeriesBins/6:] {
		last += n
	}
	if last != top.Window {
		t.Errorf("the series' last window holds %d, the driver %d", last, top.Window)
	}
	checkRecount(t, ds, e, 1.0/6, nil)

	// The filter narrows both sides.
	e = mustExplain(t, r, api.ExplainQuery{Until: exUntil, Filter: "type:$login"})
	var w uint64
	for i := range ds {
		if ds[i].Type == "$login" && !ds[i].EventTime.Before(exT0.Add(-10*time.Minute)) {
			w++
		}
	}
	if e.Window.Count != w || len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) {
		t.Errorf("type:$login: window %d (want %d), drivers %+v", e.Window.Count, w, e.Drivers)
	}
	e = mustExplain(t, r, api.ExplainQuery{Until: exUntil, Filter: "ip:203.0.113.0/24"})
	if e.Baseline.Count != 0 || e.Window.Count != 150 {
		t.Errorf("only the spike: %+v %+v", e.Window, e.Baseline)
	}
}

// checkRecount recounts every driver over the decisions by brute force:
// its window and baseline counts and its excess. In label mode the
// decisions' Label fields hold their labels.
func checkRecount(t *testing.T, ds []decision.Decision, e api.Explanation, scale float64, inBaseline func(*decision.Decision) bool) {
	t.Helper()
	in := func(s explain.Span, d *decision.Decision) bool {
		return !d.EventTime.Before(s.From) && d.EventTime.Before(s.To)
	}
	if inBaseline == nil {
		inBaseline = func(d *decision.Decision) bool { return in(e.Baseline, d) }
	}
	for _, drv := range e.Drivers {
		var w, b uint64
		for i := range ds {
			d := &ds[i]
			if !drv.Match(d) {
				continue
			}
			switch {
			case e.Mode == explain.ModeDeny && in(e.Window, d) && d.Action == decision.ActionDeny:
				w++
			case e.Mode == explain.ModeDeny && in(e.Window, d) && d.Action == decision.ActionAllow:
				b++
			case e.Mode == explain.ModeLabel && in(e.Window, d) && d.Label == decision.LabelFraud:
				w++
			case e.Mode == explain.ModeLabel && in(e.Window, d) && d.Label == decision.LabelLegit:
				b++
			case e.Mode == explain.ModeVolume && in(e.Window, d):
				w++
			case e.Mode == explain.ModeVolume && inBaseline(d):
				b++
			}
		}
		if e.Mode.Split() {
			scale = float64(e.Window.Count) / float64(e.Baseline.Count)
		}
		if drv.Window != w || drv.Baseline != b || math.Abs(drv.Excess-(float64(w)-float64(b)*scale)) > 1e-6 {
			t.Errorf("%s: window %d baseline %d excess %v; recounted %d %d %v", drv.Term, drv.Window, drv.Baseline, drv.Excess,
				w, b, float64(w)-float64(b)*scale)
		}
	}
}

func TestExplainDenyRiseFromOneSignal(t *testing.T) {
	g := newExGen(2)
	win := exT0.Add(-10 * time.Minute)
	ds := append(g.traffic(win, 10*time.Minute, 3000), g.stuffing(win, 10*time.Minute, 150)...)
	r := exReader(t, ds)
	e := mustExplain(t, r, api.ExplainQuery{Window: "10m", Until: exUntil, Mode: explain.ModeDeny})
	if len(e.Drivers) == 0 || e.Drivers[0].Dimension != decision.DimSignal || e.Drivers[0].Value != "credential_stuffing" {
		t.Fatalf("drivers %+v, want signal=credential_stuffing first", e.Drivers)
	}
	if e.DenyRate == nil || e.Drivers[0].DenyRateWithout == nil || *e.Drivers[0].DenyRateWithout >= *e.DenyRate {
		t.Errorf("leave-one-out: deny rate %v, without the driver %v", e.DenyRate, e.Drivers[0].DenyRateWithout)
	}
	checkRecount(t, ds, e, 0, nil)
}

func TestExplainEvenSpikeHasNoDriver(t *testing.T) {
	g := newExGen(3)
	win := exT0.Add(-10 * time.Minute)
	// Three times the baseline's rate, drawn from the same traffic.
	ds := append(g.traffic(win.Add(-time.Hour), time.Hour, 3000), g.traffic(win, 10*time.Minute, 1500)...)
	e := mustExplain(t, exReader(t, ds), api.ExplainQuery{Until: exUntil})
	if e.Excess < 900 || len(e.Drivers) != 0 {
		t.Errorf("excess %v, drivers %+v: want a spike and no driver", e.Excess, e.Drivers)
	}
}

func TestExplainNoiseYieldsNothing(t *testing.T) {
	g := newExGen(10)
	// Two hours of the same traffic: every window is noise against the
	// hour before it. (Not in deny mode: this traffic's signals do drive
	// its denies.)
	r := exReader(t, g.traffic(exT0.Add(-2*time.Hour), 2*time.Hour, 6000))
	for ago := range 6 {
		until := exT0.Add(-time.Duration(ago) * 10 * time.Minute).Format(time.RFC3339)
		if e := mustExplain(t, r, api.ExplainQuery{Until: until}); len(e.Drivers) != 0 {
			t.Errorf("until %s: drivers %+v in noise", until, e.Drivers)
		}
	}
}

// The same ten minutes of each of the last seven days as the baseline.
func TestExplainSameTimeOfDay(t *testing.T) {
	g := newExGen(4)
	win := exT0.Add(-10 * time.Minute)
	var ds []decision.Decision
	for k := 1; k <= 7; k++ {
		day := time.Duration(k) * 24 * time.Hour
		ds = append(ds, g.traffic(win.Add(-day), 10*time.Minute, 400)...)
		// Traffic outside the same ten minutes is not in the baseline.
		ds = append(ds, g.spike(win.Add(-day-time.Hour), 10*time.Minute, 50)...)
	}
	ds = append(ds, g.traffic(win, 10*time.Minute, 400)...)
	ds = append(ds, g.spike(win, 10*time.Minute, 100)...)
	e := mustExplain(t, exReader(t, ds), api.ExplainQuery{Baseline: "7d", Until: exUntil})
	if e.Baseline.Count != 2800 || e.Baseline.Seconds != 7*600 {
		t.Errorf("baseline %+v: want the 2800 decisions of 70 minutes", e.Baseline)
	}
	if len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) || e.Drivers[0].Baseline != 0 {
		t.Fatalf("drivers %+v, want the planted /24 first, never seen at this time", e.Drivers)
	}
	checkRecount(t, ds, e, 1.0/7, func(d *decision.Decision) bool {
		for k := 1; k <= 7; k++ {
			day := time.Duration(k) * 24 * time.Hour
			if !d.EventTime.Before(win.Add(-day)) && d.EventTime.Before(exT0.Add(-day)) {
				return true
			}
		}
		return false
	})
}

// exServer serves r's store over HTTP and returns a Remote of it.
func exServer(t *testing.T, ds []decision.Decision) (*api.Remote, string) {
	t.Helper()
	db := openTestStore(t)
	storeAll(t, db, ds)
	ts := startTestServerOn(t, db, func(o *ServerOptions) { o.Reader = NewStoreReader(db, nil) })
	return dialRemote(t, ts.url, ""), ts.url
}

func explainJSON(t *testing.T, e api.Explanation) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExplainOverHTTP(t *testing.T) {
	ds := spikeDay(6)
	local := mustExplain(t, exReader(t, ds), api.ExplainQuery{Until: exUntil})
	remote, base := exServer(t, ds)
	got := mustExplain(t, remote, api.ExplainQuery{Until: exUntil})
	if a, b := explainJSON(t, local), explainJSON(t, got); a != b {
		t.Errorf("over HTTP:\n%s\nin process:\n%s", b, a)
	}

	// SPEC section 11's fields, as a script reads them.
	resp, err := http.Get(base + "/v1/explain?until=" + exUntil)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Window   struct{ From, To, Count any } `json:"window"`
		Baseline struct{ From, To, Count any } `json:"baseline"`
		Drivers  []map[string]any              `json:"drivers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(raw.Drivers) == 0 || raw.Window.Count == nil || raw.Baseline.From == nil {
		t.Fatalf("GET /v1/explain: %d %+v %v", resp.StatusCode, raw, err)
	}
	for _, f := range []string{"dimension", "value", "window", "baseline", "ratio", "excess", "p", "with", "series"} {
		if _, ok := raw.Drivers[0][f]; !ok {
			t.Errorf("a driver lacks %q: %v", f, raw.Drivers[0])
		}
	}

	for _, c := range []struct{ query, want string }{
		{"window=abc", `window: "abc": want a positive duration`},
		{"window=-5m", `window: "-5m": want a positive duration`},
		{"window=40d", `window: "40d": want a number of days from 1 to 28`},
		{"baseline=0d", `baseline: "0d": want a number of days`},
		{"window=2d&baseline=7d", "needs a window of at most a day"},
		{"mode=spike", `mode: unknown mode "spike" (want volume, deny or label)`},
		{"until=soon", `until: "soon" is neither a duration ago`},
		{"filter=risk>=x", "filter:"},
		{"colour=red", `unknown parameter "colour"`},
	} {
		resp, err := http.Get(base + "/v1/explain?" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		var we api.WireError
		err = json.NewDecoder(resp.Body).Decode(&we)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(we.Error, c.want) {
			t.Errorf("%s: %d %q, want 400 with %q", c.query, resp.StatusCode, we.Error, c.want)
		}
	}
	// A counts round asking too much is refused too.
	many := make(api.Values, 65)
	for i := range many {
		many[i] = explain.Value{Dim: decision.DimIP, Value: fmt.Sprintf("10.0.0.%d", i)}
	}
	text, _ := many.MarshalText()
	resp, err = http.Get(base + "/v1/explain/counts?until=" + exUntil + "&pairs=" + url.QueryEscape(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("65 pair values: %d, want 400", resp.StatusCode)
	}
	_, err = remote.ExplainCounts(context.Background(), api.ExplainCountsQuery{Until: exT0, Window: "10m", Baseline: "1h", Series: api.Drivers{{}}})
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("a driver without values: %v", err)
	}
}

// A federation of two collectors that split the decisions between them
// answers exactly what one collector holding all of them does.
func TestFederatedExplainIsExact(t *testing.T) {
	ds := spikeDay(7)
	var parts [2][]decision.Decision
	for i, d := range ds {
		parts[i%2] = append(parts[i%2], d)
	}
	one, _ := exServer(t, parts[0])
	two, _ := exServer(t, parts[1])
	fed, err := api.Federate(api.Member{Name: "one", Reader: one}, api.Member{Name: "two", Reader: two})
	if err != nil {
		t.Fatal(err)
	}
	all := exReader(t, ds)
	for _, q := range []api.ExplainQuery{
		{Until: exUntil},
		{Until: exUntil, Mode: explain.ModeDeny},
		{Until: exUntil, Window: "5m", Baseline: "30m", Filter: "-type:$transaction"},
	} {
		want := mustExplain(t, all, q)
		got := mustExplain(t, fed, q)
		if a, b := explainJSON(t, want), explainJSON(t, got); a != b {
			t.Errorf("%+v federated:\n%s\none collector:\n%s", q, b, a)
		}
		if q.Mode == explain.ModeVolume && len(want.Drivers) == 0 {
			t.Errorf("%+v: no driver to compare", q)
		}
	}
}
