package collector

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// safeeAnswer is one answer Safe-e may give and what riskwatch must store
// for it. The expected values are written out by hand, not computed by the
// code under test.
type safeeAnswer struct {
	name   string
	status int // 0 means 200
	body   string

	action                decision.Action
	risk, abuse, ato, bot float64
	signals               []string // nil and empty are the same: no signals
	policy                string
	country               string
}

// safeeAnswers covers every shape of answer the client accepts. Within a
// case the four scores differ wherever they are given, so that storing one
// in the place of another fails.
var safeeAnswers = []safeeAnswer{
	{
		name:   "Safe-e's own example: Deny at risk 25",
		body:   `{"risk":25,"account_abuse":3,"account_takeover":71,"bot":9,"signals":["proxy_ip","datacenter_ip"],"policy":{"name":"block-ato","action":"Deny"}}`,
		action: decision.ActionDeny, risk: 25, abuse: 3, ato: 71, bot: 9,
		signals: []string{"proxy_ip", "datacenter_ip"}, policy: "block-ato",
	},
	{
		name:   "Challenge",
		body:   `{"risk":55.5,"account_abuse":12.25,"account_takeover":0.5,"bot":88,"signals":["bot_behavior"],"policy":{"name":"step-up","action":"Challenge"}}`,
		action: decision.ActionChallenge, risk: 55.5, abuse: 12.25, ato: 0.5, bot: 88,
		signals: []string{"bot_behavior"}, policy: "step-up",
	},
	{
		name:   "Allow at scores a threshold would deny",
		body:   `{"risk":97,"account_abuse":96,"account_takeover":95,"bot":94,"signals":["high_activity_account"],"policy":{"name":"vip allowlist","action":"Allow"}}`,
		action: decision.ActionAllow, risk: 97, abuse: 96, ato: 95, bot: 94,
		signals: []string{"high_activity_account"}, policy: "vip allowlist",
	},
	{
		name:   "action in lower case",
		body:   `{"risk":31,"account_abuse":32,"account_takeover":33,"bot":34,"signals":[],"policy":{"name":"lc","action":"challenge"}}`,
		action: decision.ActionChallenge, risk: 31, abuse: 32, ato: 33, bot: 34, policy: "lc",
	},
	{
		name:   "action in upper case",
		body:   `{"risk":41,"account_abuse":42,"account_takeover":43,"bot":44,"policy":{"name":"uc","action":"DENY"}}`,
		action: decision.ActionDeny, risk: 41, abuse: 42, ato: 43, bot: 44, policy: "uc",
	},
	{
		name:   "action in mixed case with spaces",
		body:   `{"risk":51,"account_abuse":52,"account_takeover":53,"bot":54,"policy":{"name":"mc","action":" aLLoW "}}`,
		action: decision.ActionAllow, risk: 51, abuse: 52, ato: 53, bot: 54, policy: "mc",
	},
	{
		name:   "Challenge in upper case",
		body:   `{"risk":5,"account_abuse":6,"account_takeover":7,"bot":8,"policy":{"name":"cc","action":"CHALLENGE"}}`,
		action: decision.ActionChallenge, risk: 5, abuse: 6, ato: 7, bot: 8, policy: "cc",
	},
	{
		name:   "numbers with exponents",
		body:   `{"risk":1e1,"account_abuse":2.5E1,"account_takeover":0.35e2,"bot":4.5e+1,"policy":{"name":"exp","action":"Challenge"}}`,
		action: decision.ActionChallenge, risk: 10, abuse: 25, ato: 35, bot: 45, policy: "exp",
	},
	{
		name:   "integers written as floats",
		body:   `{"risk":42.0,"account_abuse":13.000,"account_takeover":64.50,"bot":1.0,"policy":{"name":"f","action":"Deny"}}`,
		action: decision.ActionDeny, risk: 42, abuse: 13, ato: 64.5, bot: 1, policy: "f",
	},
	{
		name:   "numbers as strings",
		body:   `{"risk":"61.5","account_abuse":"7","account_takeover":"33","bot":"0.5","policy":{"name":"s","action":"Allow"}}`,
		action: decision.ActionAllow, risk: 61.5, abuse: 7, ato: 33, bot: 0.5, policy: "s",
	},
	{
		name:   "the ends of the scale",
		body:   `{"risk":100,"account_abuse":0,"account_takeover":0.001,"bot":99.999,"policy":{"name":"ends","action":"Deny"}}`,
		action: decision.ActionDeny, risk: 100, abuse: 0, ato: 0.001, bot: 99.999, policy: "ends",
	},
	{
		name:   "only risk and policy",
		body:   `{"risk":40,"policy":{"name":"p","action":"Deny"}}`,
		action: decision.ActionDeny, risk: 40, policy: "p",
	},
	{
		name:   "only the takeover score",
		body:   `{"account_takeover":77,"policy":{"name":"ato-only","action":"Challenge"}}`,
		action: decision.ActionChallenge, ato: 77, policy: "ato-only",
	},
	{
		name:   "only the abuse score",
		body:   `{"account_abuse":66,"policy":{"name":"abuse-only","action":"Deny"}}`,
		action: decision.ActionDeny, abuse: 66, policy: "abuse-only",
	},
	{
		name:   "null scores and signals",
		body:   `{"risk":null,"account_abuse":null,"account_takeover":12,"bot":null,"signals":null,"policy":{"name":"n","action":"Challenge"}}`,
		action: decision.ActionChallenge, ato: 12, policy: "n",
	},
	{
		name:   "signals absent, policy without a name",
		body:   `{"risk":12,"account_abuse":34,"account_takeover":56,"bot":78,"policy":{"action":"Deny"}}`,
		action: decision.ActionDeny, risk: 12, abuse: 34, ato: 56, bot: 78,
	},
	{
		name:   "policy name null",
		body:   `{"risk":2,"account_abuse":4,"account_takeover":6,"bot":8,"policy":{"name":null,"action":"Allow"}}`,
		action: decision.ActionAllow, risk: 2, abuse: 4, ato: 6, bot: 8,
	},
	{
		name: "unknown fields everywhere",
		body: `{"request_id":"r-1","risk":21,"model":{"version":3,"features":[1,2]},"account_abuse":22,"account_takeover":23,` +
			`"bot":24,"signals":["generated_email"],"policy":{"name":"x","action":"Challenge","rule_id":17,"tags":["a"]},` +
			`"ip_country":"DE","score_v2":99}`,
		action: decision.ActionChallenge, risk: 21, abuse: 22, ato: 23, bot: 24,
		signals: []string{"generated_email"}, policy: "x", country: "DE",
	},
	{
		name:   "keys in another order",
		body:   `{"policy":{"action":"Deny","name":"rev"},"signals":["credential_stuffing"],"bot":4,"account_takeover":3,"account_abuse":2,"risk":1}`,
		action: decision.ActionDeny, risk: 1, abuse: 2, ato: 3, bot: 4,
		signals: []string{"credential_stuffing"}, policy: "rev",
	},
	{
		name:   "repeated keys: the last one counts",
		body:   `{"risk":10,"account_abuse":11,"risk":20,"policy":{"action":"Allow","name":"a","action":"Deny","name":"b"}}`,
		action: decision.ActionDeny, risk: 20, abuse: 11, policy: "b",
	},
	{
		name:   "escaped strings and keys",
		body:   `{"r\u0069sk":33,"account_abuse":44,"signals":["proxy\u005fip","caf\u00e9"],"policy":{"name":"r\u00e8gle \"A\"","action":"D\u0065ny"}}`,
		action: decision.ActionDeny, risk: 33, abuse: 44,
		signals: []string{"proxy_ip", "café"}, policy: `règle "A"`,
	},
	{
		name:   "signals with a null and a repeat",
		body:   `{"risk":14,"bot":15,"signals":["proxy_ip","proxy_ip",null,"bot_behavior"],"policy":{"name":"dup","action":"Challenge"}}`,
		action: decision.ActionChallenge, risk: 14, bot: 15,
		signals: []string{"proxy_ip", "proxy_ip", "", "bot_behavior"}, policy: "dup",
	},
	{
		name:   "pretty-printed",
		body:   "{\n\t\"risk\": 72,\n\t\"account_abuse\": 18,\n\t\"account_takeover\": 27,\n\t\"bot\": 36,\n\t\"signals\": [\n\t\t\"datacenter_ip\"\n\t],\n\t\"policy\": {\"name\": \"pp\", \"action\": \"Deny\"}\n}\n",
		action: decision.ActionDeny, risk: 72, abuse: 18, ato: 27, bot: 36,
		signals: []string{"datacenter_ip"}, policy: "pp",
	},
	{
		name:   "201 Created",
		status: http.StatusCreated,
		body:   `{"risk":3,"account_abuse":1,"account_takeover":4,"bot":1.5,"policy":{"name":"created","action":"Allow"}}`,
		action: decision.ActionAllow, risk: 3, abuse: 1, ato: 4, bot: 1.5, policy: "created",
	},
	{
		name:   "no policy: an error decision that keeps the scores",
		body:   `{"risk":81,"account_abuse":82,"account_takeover":83,"bot":84,"signals":["proxy_ip"]}`,
		action: decision.ActionError, risk: 81, abuse: 82, ato: 83, bot: 84, signals: []string{"proxy_ip"},
	},
	{
		name:   "an action riskwatch does not know: an error decision",
		body:   `{"risk":61,"account_abuse":62,"account_takeover":63,"bot":64,"policy":{"name":"manual","action":"Review"}}`,
		action: decision.ActionError, risk: 61, abuse: 62, ato: 63, bot: 64, policy: "manual",
	},
	{
		name:   "policy null",
		body:   `{"risk":91,"account_abuse":92,"account_takeover":93,"bot":94,"policy":null}`,
		action: decision.ActionError, risk: 91, abuse: 92, ato: 93, bot: 94,
	},
}

// TestStoredDecisionIsWhatSafeeSaid runs every answer in safeeAnswers
// through a real collector, twice: as an event posted to /v1/events (inbox,
// pipeline, store) and as a call through the Safe-e-compatible proxy. A
// stand-in Safe-e on loopback answers each event with its case's body.
// Reading the decisions back from the store, the action, the four scores,
// the signals, the policy, the country and the raw answer must be what
// Safe-e said.
func TestStoredDecisionIsWhatSafeeSaid(t *testing.T) {
	db := openTestStore(t)
	safe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			EventID string `json:"event_id"`
		}
		body, _ := io.ReadAll(r.Body)
		var i int
		if r.Header.Get("Authorization-API") != testKey || json.Unmarshal(body, &ev) != nil ||
			!scanCase(ev.EventID, &i) {
			http.Error(w, `{"error":"unexpected request"}`, http.StatusBadRequest)
			return
		}
		c := safeeAnswers[i]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(cmp.Or(c.status, http.StatusOK))
		_, _ = io.WriteString(w, c.body)
	}))
	defer safe.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col, err := New(Options{DB: db, Client: testClient(t, safe.URL, testKey), Listener: ln,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	stop := runInBackground(t, "collector", 10*time.Second, col.Run)
	base := "http://" + col.Addr()

	var posted bytes.Buffer
	for i := range safeeAnswers {
		fmt.Fprintf(&posted, "%s\n", caseEvent("in", i))
	}
	resp, err := http.Post(base+"/v1/events", "application/x-ndjson", &posted)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}
	for i, c := range safeeAnswers {
		resp, err := http.Post(base+"/api/v1/risk/login", "application/json", strings.NewReader(caseEvent("px", i)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != cmp.Or(c.status, http.StatusOK) || string(got) != c.body {
			t.Errorf("%s: the proxy answered %d %q, want Safe-e's %d %q", c.name, resp.StatusCode, got, cmp.Or(c.status, http.StatusOK), c.body)
		}
	}
	waitFor(t, "every decision to be stored", 10*time.Second, func() bool {
		return decisionCount(t, db) >= uint64(2*len(safeeAnswers))
	})
	stop()

	stored := storedByEvent(t, db)
	for i, c := range safeeAnswers {
		for _, path := range []string{"in", "px"} {
			id := fmt.Sprintf("%s-%d", path, i)
			d, ok := stored[id]
			if !ok {
				t.Errorf("%s (%s): no decision stored", c.name, path)
				continue
			}
			if diff := diffDecision(d, c); diff != "" {
				t.Errorf("%s (%s): stored %s", c.name, path, diff)
			}
		}
	}
}

// caseEvent is the event of case i, sent by path "in" (posted) or "px"
// (proxied); each has its own user so that none waits for another.
func caseEvent(path string, i int) string {
	return fmt.Sprintf(`{"type":"$login","status":"$succeeded","event_id":"%s-%d","user":{"user_id":"u-%s-%d"}}`, path, i, path, i)
}

// scanCase reads the case number out of an event ID made by caseEvent.
func scanCase(id string, i *int) bool {
	_, after, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err := fmt.Sscan(after, i)
	return err == nil && *i >= 0 && *i < len(safeeAnswers)
}

// diffDecision describes how d differs from what Safe-e said in c, "" if
// it does not.
func diffDecision(d decision.Decision, c safeeAnswer) string {
	var diffs []string
	add := func(field string, got, want any) {
		diffs = append(diffs, fmt.Sprintf("%s %v, Safe-e said %v", field, got, want))
	}
	if d.Action != c.action {
		add("action", d.Action, c.action)
	}
	for _, s := range []struct {
		name      string
		got, want float64
	}{
		{"risk", d.Risk, c.risk}, {"account_abuse", d.AccountAbuse, c.abuse},
		{"account_takeover", d.AccountTakeover, c.ato}, {"bot", d.Bot, c.bot},
	} {
		if s.got != s.want {
			add(s.name, s.got, s.want)
		}
	}
	if !slices.Equal(d.Signals, c.signals) && len(d.Signals)+len(c.signals) > 0 {
		add("signals", fmt.Sprintf("%q", d.Signals), fmt.Sprintf("%q", c.signals))
	}
	if d.Policy != c.policy {
		add("policy", fmt.Sprintf("%q", d.Policy), fmt.Sprintf("%q", c.policy))
	}
	if d.Country != c.country {
		add("country", fmt.Sprintf("%q", d.Country), fmt.Sprintf("%q", c.country))
	}
	if (d.Error != "") != (c.action == decision.ActionError) {
		add("error", fmt.Sprintf("%q", d.Error), "an error only for an error decision")
	}
	if string(d.Response) != c.body || d.HTTPStatus != cmp.Or(c.status, http.StatusOK) {
		add("answer", fmt.Sprintf("%d %q", d.HTTPStatus, d.Response), fmt.Sprintf("%d %q", cmp.Or(c.status, http.StatusOK), c.body))
	}
	return strings.Join(diffs, "; ")
}
