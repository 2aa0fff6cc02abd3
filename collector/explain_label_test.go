package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/store"
)

// fraudCluster is an hour of ordinary traffic, then a ten-minute window of
// it with 120 decisions from 203.0.113.0/24 by thirty users (fr0..fr29).
// Its labels are on users only: the cluster's users are fraud, so are
// thirty ordinary users, and a thousand ordinary users are legit. The
// decisions' Label fields hold their labels, counted by hand.
func fraudCluster(seed uint64) ([]decision.Decision, []decision.LabelEntry) {
	g := newExGen(seed)
	win := exT0.Add(-10 * time.Minute)
	ds := g.traffic(win.Add(-time.Hour), time.Hour, 1500)
	ds = append(ds, g.traffic(win, 10*time.Minute, 2000)...)
	cluster := g.traffic(win, 10*time.Minute, 120)
	for i := range cluster {
		cluster[i].IP = fmt.Sprintf("203.0.113.%d", 1+g.r.IntN(254))
		cluster[i].UserID = fmt.Sprintf("fr%d", i%30)
	}
	ds = append(ds, cluster...)
	label := func(user string, c decision.LabelClass) decision.LabelEntry {
		return decision.LabelEntry{Kind: decision.SubjectUser, Subject: user, Class: c, Reason: "test", Source: decision.SourceImport, Author: "t"}
	}
	classes := map[string]decision.LabelClass{}
	var es []decision.LabelEntry
	for i := range 30 {
		es = append(es, label(fmt.Sprintf("fr%d", i), decision.LabelFraud), label(fmt.Sprintf("u%d", 1000+i), decision.LabelFraud))
	}
	for i := range 1000 {
		es = append(es, label(fmt.Sprintf("u%d", i), decision.LabelLegit))
	}
	for _, e := range es {
		classes[e.Subject] = e.Class
	}
	for i := range ds {
		ds[i].Label = classes[ds[i].UserID]
	}
	return ds, es
}

// labelStore stores ds, without their labels, and the label entries es in
// a new store.
func labelStore(t *testing.T, ds []decision.Decision, es []decision.LabelEntry) *store.DB {
	t.Helper()
	db := openTestStore(t)
	ds = slices.Clone(ds)
	for i := range ds {
		ds[i].Label = ""
	}
	storeAll(t, db, ds)
	if _, err := db.AppendLabels(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	return db
}

// In label mode the /24 of a fraud cluster labelled through its users is
// the top driver: the fraud of the window against its legit decisions,
// with the labels the store holds now, not the ones the decisions had
// when they were stored (none). Every number is a brute-force recount.
func TestExplainLabelFindsFraudCluster(t *testing.T) {
	ds, es := fraudCluster(3)
	r := NewStoreReader(labelStore(t, ds, es), func() time.Time { return exT0.Add(time.Hour) })
	e := mustExplain(t, r, api.ExplainQuery{Window: "10m", Until: exUntil, Mode: explain.ModeLabel})
	if e.Mode != explain.ModeLabel || len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) {
		t.Fatalf("mode %v drivers %+v, want the fraud /24 first", e.Mode, e.Drivers)
	}
	var fraud, legit uint64
	for i := range ds {
		if ds[i].EventTime.Before(exT0.Add(-10 * time.Minute)) {
			continue
		}
		switch ds[i].Label {
		case decision.LabelFraud:
			fraud++
		case decision.LabelLegit:
			legit++
		}
	}
	if e.Window.Count != fraud || e.Baseline.Count != legit || e.FraudRate == nil ||
		*e.FraudRate != float64(fraud)/float64(fraud+legit) || e.DenyRate != nil {
		t.Errorf("sides %+v %+v fraud rate %v; recount %d fraud %d legit", e.Window, e.Baseline, e.FraudRate, fraud, legit)
	}
	top := e.Drivers[0]
	if top.Window < 120 || top.FraudRateWithout == nil || *top.FraudRateWithout >= *e.FraudRate {
		t.Errorf("top %+v: want at least the cluster's 120 and a lower fraud rate without it", top.Driver)
	}
	var series uint64
	for _, n := range top.Series {
		series += n
	}
	if series != top.Window {
		t.Errorf("the sparkline counts %d fraud, the driver %d", series, top.Window)
	}
	checkRecount(t, ds, e, 0, nil)

	// A retract moves the cluster's users out of the fraud side at once.
	var retract []decision.LabelEntry
	for i := range 30 {
		retract = append(retract, decision.LabelEntry{Kind: decision.SubjectUser, Subject: fmt.Sprintf("fr%d", i),
			Class: decision.LabelRetract, Reason: "test", Source: decision.SourceManual, Author: "t"})
	}
	if _, err := r.db.AppendLabels(context.Background(), retract); err != nil {
		t.Fatal(err)
	}
	e = mustExplain(t, r, api.ExplainQuery{Window: "10m", Until: exUntil, Mode: explain.ModeLabel})
	if e.Window.Count != fraud-120 || slices.ContainsFunc(e.Drivers, func(d api.Driver) bool { return isSpike(&d) }) {
		t.Errorf("after the retract: %d fraud (want %d), drivers %+v", e.Window.Count, fraud-120, e.Drivers)
	}
}

// Over HTTP, GET /v1/explain?mode=label answers what the reader does in
// process, and a federation of two collectors holding half the decisions
// each, with the same labels, answers what one collector holding all of
// them does.
func TestExplainLabelOverHTTPAndFederated(t *testing.T) {
	ds, es := fraudCluster(4)
	q := api.ExplainQuery{Until: exUntil, Mode: explain.ModeLabel}
	local := mustExplain(t, NewStoreReader(labelStore(t, ds, es), nil), q)
	if len(local.Drivers) == 0 || !isSpike(&local.Drivers[0]) {
		t.Fatalf("drivers %+v, want the fraud /24 first", local.Drivers)
	}
	serve := func(ds []decision.Decision) (*api.Remote, string) {
		db := labelStore(t, ds, es)
		ts := startTestServerOn(t, db, func(o *ServerOptions) { o.Reader = NewStoreReader(db, nil) })
		return dialRemote(t, ts.url, ""), ts.url
	}
	remote, base := serve(ds)
	if a, b := explainJSON(t, local), explainJSON(t, mustExplain(t, remote, q)); a != b {
		t.Errorf("over HTTP:\n%s\nin process:\n%s", b, a)
	}
	resp, err := http.Get(base + "/v1/explain?mode=label&until=" + exUntil)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Mode      string           `json:"mode"`
		FraudRate *float64         `json:"fraud_rate"`
		Drivers   []map[string]any `json:"drivers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || raw.Mode != "label" || raw.FraudRate == nil ||
		len(raw.Drivers) == 0 || raw.Drivers[0]["fraud_rate_without"] == nil {
		t.Fatalf("GET /v1/explain?mode=label: %d %+v %v", resp.StatusCode, raw, err)
	}

	var parts [2][]decision.Decision
	for i, d := range ds {
		parts[i%2] = append(parts[i%2], d)
	}
	one, _ := serve(parts[0])
	two, _ := serve(parts[1])
	fed, err := api.Federate(api.Member{Name: "one", Reader: one}, api.Member{Name: "two", Reader: two})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := explainJSON(t, local), explainJSON(t, mustExplain(t, fed, q)); a != b {
		t.Errorf("federated:\n%s\none collector:\n%s", b, a)
	}
}
