package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// linkDecisions plant a ring on one IP (r0..r5, each with a decision per
// collector half), a device shared by d0..d2, and 30 users behind one NAT
// address; the ring's r0 also uses the NAT. Decisions alternate between
// the halves, so each user's events split across two collectors.
func linkDecisions(now time.Time) []decision.Decision {
	var out []decision.Decision
	add := func(user, ip, ua string, risk float64) {
		d := decision.Decision{
			EventID: fmt.Sprintf("lk-%03d", len(out)), Source: "test", ReceivedAt: now,
			EventTime: now.Add(-time.Duration(len(out)) * time.Minute), Type: "$login", Status: "$succeeded",
			UserID: user, IP: ip, UserAgent: ua, Risk: risk, Action: decision.ActionAllow,
			Request: []byte(`{}`), Response: []byte(`{}`),
		}
		if risk >= 90 {
			d.Action = decision.ActionDeny
		}
		out = append(out, d)
	}
	for i := range 6 {
		for j := range 2 {
			add(fmt.Sprintf("r%d", i), "198.51.100.7", "", float64(40+i*10+j))
		}
	}
	for i := range 3 {
		add(fmt.Sprintf("d%d", i), fmt.Sprintf("10.1.%d.1", i), "RingBot/1.0", 95)
		add(fmt.Sprintf("d%d", i), fmt.Sprintf("10.2.%d.1", i), "RingBot/1.0", 10)
	}
	for i := range 30 {
		add(fmt.Sprintf("nat%02d", i), "100.64.0.1", "", 5)
	}
	add("r0", "100.64.0.1", "", 1)
	return out
}

// TestLinksFederated compares the links a federation of two collectors
// gives with those of one collector holding every decision.
func TestLinksFederated(t *testing.T) {
	now := time.Now()
	all := linkDecisions(now)
	var evens, odds []decision.Decision
	for i, d := range all {
		if i%2 == 0 {
			evens = append(evens, d)
		} else {
			odds = append(odds, d)
		}
	}
	a, b, whole := holding(t, evens), holding(t, odds), holding(t, all)
	fed := dialAll(t, a.URL, b.URL)
	one := dialOne(t, whole.URL)
	ctx := context.Background()

	// Depth 1 adds up exactly: each member is told the user's values on
	// the others. (Depth 2 follows a linked user's values as each member
	// holds them.)
	for _, q := range []api.LinksQuery{
		{User: "r0", Cap: 50},
		{User: "r3"},
		{User: "d1", Cap: 50, Window: decision.LinkWindow(24 * time.Hour)},
		{User: "nat07", Cap: 100},
		{User: "nat07", Cap: 20}, // 15 on each member, 30 merged: a supernode
		{User: "nobody"},
	} {
		got, want := get(fed.Links(ctx, q))(t), get(one.Links(ctx, q))(t)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v:\nfederation %+v\none collector %+v", q, got, want)
		}
	}

	// The ring as one collector answers it: events added, max risk the
	// highest, denies added across the halves.
	ls := get(fed.Links(ctx, api.LinksQuery{User: "r0"}))(t)
	var ring, nat *decision.Link
	for i := range ls.Links {
		switch ls.Links[i].Value {
		case "198.51.100.7":
			ring = &ls.Links[i]
		case "100.64.0.1":
			nat = &ls.Links[i]
		}
	}
	if ring == nil || len(ring.Users) != 5 || ring.Users[0] != (decision.LinkedUser{UserID: "r5", Events: 2, MaxRisk: 91, Denies: 2}) {
		t.Errorf("the ring: %+v", ring)
	}
	if nat == nil || nat.Supernode || nat.Count != 30 {
		t.Errorf("the NAT with the default cap: %+v", nat)
	}
	// A value that is a supernode on a member cannot be counted exactly
	// across members: at least the largest member's count.
	ls = get(fed.Links(ctx, api.LinksQuery{User: "r0", Cap: 10}))(t)
	for _, l := range ls.Links {
		if l.Value == "100.64.0.1" && (!l.Supernode || !l.CountAtLeast || l.Count < 15 || len(l.Users) != 0) {
			t.Errorf("the NAT with cap 10: %+v", l)
		}
	}

	// One member down: the other still answers.
	a.Stop()
	if _, err := fed.Links(ctx, api.LinksQuery{User: "r0"}); err != nil {
		t.Errorf("links with a member down: %v", err)
	}
}

// TestLinksHTTP reads the route as a script would: the JSON fields of
// SPEC section 14, and 400s for bad parameters.
func TestLinksHTTP(t *testing.T) {
	c := holding(t, linkDecisions(time.Now()))
	client := &http.Client{Timeout: 10 * time.Second}
	fetch := func(target string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, c.URL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fedToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	code, body := fetch("/v1/users/d0/links?window=30d&cap=50&depth=1")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var raw struct {
		User  string           `json:"user"`
		Links []map[string]any `json:"links"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.User != "d0" || len(raw.Links) != 1 {
		t.Fatalf("links of d0: %s", body)
	}
	l := raw.Links[0]
	if l["kind"] != "ua" || l["value"] != decision.DeviceKey("RingBot/1.0") || l["supernode"] != false || l["count"] != 2.0 {
		t.Errorf("the device link: %s", body)
	}
	users := l["users"].([]any)
	u := users[0].(map[string]any)
	for _, k := range []string{"user_id", "events", "max_risk", "denies", "label"} {
		if _, ok := u[k]; !ok {
			t.Errorf("a linked user without %q: %s", k, body)
		}
	}
	if len(u) != 5 {
		t.Errorf("a linked user has fields beyond SPEC's: %v", u)
	}
	for _, target := range []string{
		"/v1/users/d0/links?depth=3", "/v1/users/d0/links?depth=-1", "/v1/users/d0/links?cap=-2",
		"/v1/users/d0/links?values=ip", "/v1/users/d0/links?values=mac:1", "/v1/users/d0/links?values=ip:%25zz",
		"/v1/users/d0/links?cap=100000", "/v1/users/d0/links?window=soon", "/v1/users/d0/links?window=-3d",
		"/v1/users/d0/links?cap=ten", "/v1/users/d0/links?color=red",
	} {
		if code, body := fetch(target); code != http.StatusBadRequest || !strings.Contains(string(body), "error") {
			t.Errorf("GET %s: %d %s, want 400", target, code, body)
		}
	}
}

// TestLinksLabels labels ring members in a real store: each linked user
// carries its current user label, on one collector and through a
// federation whose members hold the label on one side only; a retract
// clears it, and a label of the user's IP is not the user's.
func TestLinksLabels(t *testing.T) {
	all := linkDecisions(time.Now())
	var evens, odds []decision.Decision
	for i, d := range all {
		if i%2 == 0 {
			evens = append(evens, d)
		} else {
			odds = append(odds, d)
		}
	}
	a, b, whole := holding(t, evens), holding(t, odds), holding(t, all)
	ra, one := dialOne(t, a.URL), dialOne(t, whole.URL)
	fed := dialAll(t, a.URL, b.URL)
	ctx := context.Background()
	label := func(w api.Writer, kind decision.SubjectKind, subject string, class decision.LabelClass) {
		t.Helper()
		res, err := w.Label(ctx, api.LabelWrite{Labels: []api.LabelInput{{Kind: kind, Subject: subject, Class: class, Reason: "ring"}}})
		if err != nil || len(res.Recorded) != 1 {
			t.Fatalf("label %s %s %s: %+v, %v", kind, subject, class, res, err)
		}
	}
	labels := func(r api.Reader) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, l := range get(r.Links(ctx, api.LinksQuery{User: "r0"}))(t).Links {
			if l.Value == "198.51.100.7" {
				for _, u := range l.Users {
					out[u.UserID] = u.Label
				}
			}
		}
		return out
	}
	for _, w := range []api.Writer{ra, one} {
		label(w, decision.SubjectUser, "r3", decision.LabelFraud)
		label(w, decision.SubjectUser, "r4", decision.LabelLegit)
		label(w, decision.SubjectIP, "198.51.100.7", decision.LabelFraud)
	}
	want := map[string]string{"r1": "", "r2": "", "r3": "fraud", "r4": "legit", "r5": ""}
	for name, r := range map[string]api.Reader{"one collector": one, "federation": fed} {
		if got := labels(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ring labels %v, want %v", name, got, want)
		}
	}
	for _, w := range []api.Writer{ra, one} {
		label(w, decision.SubjectUser, "r3", decision.LabelRetract)
	}
	want["r3"] = ""
	for name, r := range map[string]api.Reader{"one collector": one, "federation": fed} {
		if got := labels(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s after the retract: ring labels %v, want %v", name, got, want)
		}
	}
}
