package decision

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// filterNow is the clock every filter test parses with.
var filterNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// filterFixtures returns decisions covering every field a filter reads.
func filterFixtures() []Decision {
	return []Decision{
		{
			ID: "a", EventTime: filterNow.Add(-time.Minute), Source: "file:/var/log/app.ndjson",
			Type: "$login", Status: "$succeeded", UserID: "alice", Email: "Alice@Example.com",
			IP: "203.0.113.7", Country: "DE", Risk: 20, AccountTakeover: 10, Bot: 5,
			Policy: "Default", Action: ActionAllow, ShadowAction: ActionDeny, ShadowRule: "tor",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
		},
		{
			ID: "b", EventTime: filterNow.Add(-10 * time.Minute), Source: "http",
			Type: "$login", Status: "$failed", UserID: "bob", Email: "bob@corp.example",
			IP: "10.1.2.3", Country: "US", Risk: 60, AccountTakeover: 75.5, Bot: 90, AccountAbuse: 30,
			Signals: []string{"proxy_ip", "credential_stuffing"}, Policy: "High risk", Action: ActionDeny,
			UserAgent: "curl/8.5.0", ShadowAction: ActionChallenge, ShadowRule: "Stuffing IP",
		},
		{
			ID: "c", EventTime: filterNow.Add(-2 * time.Hour), Source: "proxy",
			Type: "$transaction", Status: "$succeeded", UserID: "carol",
			IP: "2001:db8::42", Country: "FR", Risk: 59.99,
			Signals: []string{"datacenter_ip"}, Policy: "Step up", Action: ActionChallenge,
		},
		{
			ID: "d", EventTime: filterNow.Add(-72 * time.Hour), Source: "http",
			Type: "$profile_update", UserID: "Alice2", Email: "a2@example.com",
			IP: "::ffff:10.9.8.7", Risk: 100, Signals: []string{"Proxy_IP"}, Action: ActionDeny,
		},
		{
			ID: "e", EventTime: filterNow.Add(-30 * time.Second), Source: "http",
			Type: "$login", Status: "$attempted", UserID: "dave", IP: "not-an-ip",
			Action: ActionError, Error: "timeout",
		},
	}
}

// matchIDs returns the IDs of the fixtures f matches, in fixture order.
func matchIDs(f *Filter, ds []Decision) string {
	var ids []string
	for i := range ds {
		if f.Match(&ds[i]) {
			ids = append(ids, ds[i].ID)
		}
	}
	return strings.Join(ids, ",")
}

func mustParse(t testing.TB, expr string) *Filter {
	t.Helper()
	f, err := ParseFilter(expr, filterNow)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", expr, err)
	}
	return f
}

func TestFilterMatch(t *testing.T) {
	ds := filterFixtures()
	tests := []struct {
		expr string
		want string // IDs of matching fixtures
	}{
		{"", "a,b,c,d,e"},
		{" \t ", "a,b,c,d,e"},
		{"type:login", "a,b,e"},
		{"type:$LOGIN", "a,b,e"},
		{"TYPE:Login", "a,b,e"},
		{"-type:login", "c,d"},
		{"status:$failed", "b"},
		{"status:succeeded", "a,c"},
		{"action:deny", "b,d"},
		{"action:DENY", "b,d"},
		{"action:error", "e"},
		{"-action:allow -action:error", "b,c,d"},
		{"user:alice", "a"},
		{"user:Alice", ""},
		{"-user:alice", "b,c,d,e"},
		{"ip:10.0.0.0/8", "b,d"},
		{"ip:10.1.2.3", "b"},
		{"ip:10.9.8.7", "d"},
		{"ip:::ffff:203.0.113.7", "a"},
		{"ip:2001:db8::/32", "c"},
		{"ip:2001:DB8::42", "c"},
		{"ip:0.0.0.0/0", "a,b,d"},
		{"ip:::/0", "c,d"}, // an IPv4-mapped address is an IPv6 address too
		{"-ip:10.0.0.0/8", "a,c,e"},
		{"signal:proxy_ip", "b,d"},
		{"signal:CREDENTIAL_STUFFING", "b"},
		{"-signal:proxy_ip", "a,c,e"},
		{`policy:"high risk"`, "b"},
		{`policy:"High Risk"`, "b"},
		{"policy:default", "a"},
		{"country:de", "a"},
		{"country:FR", "c"},
		{"email:@example.com", "a,d"},
		{"email:BOB", "b"},
		{"source:http", "b,d,e"},
		{"source:FILE:", "a"},
		{"source:file:/var/log/app.ndjson", "a"},
		{"risk>=60", "b,d"},
		{"risk<60", "a,c"},
		{"-risk>=60", "a,c,e"},
		{"risk<=0", ""},
		{"ato>75", "b"},
		{"account_takeover>75", "b"},
		{"bot=90", "b"},
		{"abuse>0", "b"},
		{"account_abuse>=30", "b"},
		{"since:15m", "a,b,e"},
		{"since:3h", "a,b,c,e"},
		{"-since:1h", "c,d"},
		{"since:4d", "a,b,c,d,e"},
		{"alice", "a,d"},
		{"ALICE", "a,d"},
		{"example", "a,b,d"},
		{`"bob@corp"`, "b"},
		{"10.1.", "b"},
		{"10.9.8.7", "d"},
		{"0.1", ""},
		{"10.0.0.0/8", "b,d"},
		{"2001:db8::42", "c"},
		{"-alice", "b,c,e"},
		{"type:login action:deny risk>=60", "b"},
		{"type:login -action:error since:5m", "a"},
		{"type:login type:transaction", ""},
		{"until:15m", "c,d"},
		{"until:2026-01-01T00:00:00Z", "a,b,c,d,e"},
		{"until:2025-06-01T11:55:00Z", "b,c,d"},
		{"since:3h until:5m", "b,c"},
		{"-until:1h", "a,b,e"},
		{"ua:curl", "b"},
		{`ua:"headless chrome"`, "a"},
		{"ua:linux", "a"},
		{"domain:example.com", "a,d"},
		{"domain:@EXAMPLE.COM", "a,d"},
		{"domain:corp.example", "b"},
		{"domain:example", ""},
		{"shadow:deny", "a"},
		{"shadow:challenge", "b"},
		{"-shadow:deny", "b,c,d,e"},
		{"rule:tor", "a"},
		{`rule:"stuffing ip"`, "b"},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.expr, filterNow)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.expr, err)
			continue
		}
		if got := matchIDs(f, ds); got != tc.want {
			t.Errorf("%q matched [%s], want [%s]", tc.expr, got, tc.want)
		}
	}
}

func TestFilterNil(t *testing.T) {
	var f *Filter
	d := filterFixtures()[0]
	if !f.Match(&d) || f.String() != "" || !f.Since().IsZero() || f.UserID() != "" || !f.Empty() {
		t.Errorf("nil filter: Match=%v String=%q Since=%v UserID=%q Empty=%v",
			f.Match(&d), f.String(), f.Since(), f.UserID(), f.Empty())
	}
}

func TestFilterEmpty(t *testing.T) {
	for expr, want := range map[string]bool{"": true, "   ": true, "\t\n\u00a0": true, "x": false, "-x": false} {
		if got := mustParse(t, expr).Empty(); got != want {
			t.Errorf("ParseFilter(%q).Empty() = %v, want %v", expr, got, want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		expr string
		msg  string // the whole Error()
		term string
		pos  int
	}{
		{"risk>=abc", `risk>=abc: "abc" is not a number`, "risk>=abc", 0},
		{"type:login action:deny foo:bar",
			`term 3 "foo:bar": unknown field "foo" (want type, status, action, user, ip, signal, policy, country, email, domain, ua, source, shadow, rule, since, until, risk, ato, bot, abuse)`,
			"foo:bar", 23},
		{"ip:300.1.1.1", "ip:300.1.1.1: not an IP address or CIDR prefix", "ip:300.1.1.1", 0},
		{"since:-5m", "since:-5m: duration must be positive", "since:-5m", 0},
		{`policy:"high risk`, `policy:"high risk: unterminated quote (opened at offset 7)`, `policy:"high risk`, 0},
		{`action:deny  policy:"x y`, `term 2 "policy:\"x y": unterminated quote (opened at offset 20)`, `policy:"x y`, 13},
		{`"`, `": unterminated quote (opened at offset 0)`, `"`, 0},
		{`a"b"c"`, `a"b"c": unterminated quote (opened at offset 5)`, `a"b"c"`, 0},
		{"-", `-: nothing after "-"`, "-", 0},
		{"--risk>=1", `--risk>=1: more than one "-" (negate a term with a single leading -; quote a word that starts with -)`, "--risk>=1", 0},
		{`""`, `"": empty term ("")`, `""`, 0},
		{`x -""`, `term 2 "-\"\"": empty term ("")`, `-""`, 2},
		{"risk>=1e309", `risk>=1e309: "1e309" is not a number`, "risk>=1e309", 0},
		{"risk>=NaN", `risk>=NaN: "NaN" is not a number`, "risk>=NaN", 0},
		{"risk>=Inf", `risk>=Inf: "Inf" is not a number`, "risk>=Inf", 0},
		{"risk>=-1", `risk>=-1: "-1" is not a number`, "risk>=-1", 0},
		{"risk>=0x10", `risk>=0x10: "0x10" is not a number`, "risk>=0x10", 0},
		{"risk>=1.2.3", `risk>=1.2.3: "1.2.3" is not a number`, "risk>=1.2.3", 0},
		{"risk>=.", `risk>=.: "." is not a number`, "risk>=.", 0},
		{"risk>=100.01", `risk>=100.01: "100.01" is out of range (want 0 to 100)`, "risk>=100.01", 0},
		{"risk<" + strings.Repeat("9", 400), `risk<` + strings.Repeat("9", 55) + `…: "` + strings.Repeat("9", 400) + `" is out of range (want 0 to 100)`, "risk<" + strings.Repeat("9", 400), 0},
		{"risk>=", "risk>=: missing number after >=", "risk>=", 0},
		{"risk=>5", `risk=>5: ">5" is not a number`, "risk=>5", 0},
		{"risk:60", "risk:60: risk is compared with <, <=, >, >= or =, as in risk>=60", "risk:60", 0},
		{"foo>3", `foo>3: unknown score "foo" (want risk, ato, bot or abuse)`, "foo>3", 0},
		{">3", `>3: unknown score "" (want risk, ato, bot or abuse)`, ">3", 0},
		{":x", `:x: unknown field "" (want type, status, action, user, ip, signal, policy, country, email, domain, ua, source, shadow, rule, since, until, risk, ato, bot, abuse)`, ":x", 0},
		{"action:block", `action:block: unknown action "block" (want allow, challenge, deny or error)`, "action:block", 0},
		{"ip:", "ip:: missing value, as in ip:10.0.0.0/8", "ip:", 0},
		{"type:", "type:: missing value, as in type:$login", "type:", 0},
		{"type:$", "type:$: missing value, as in type:$login", "type:$", 0},
		{`policy:""`, `policy:"": missing value, as in policy:"high risk"`, `policy:""`, 0},
		{"ip:10.0.0.0/33", "ip:10.0.0.0/33: not an IP address or CIDR prefix", "ip:10.0.0.0/33", 0},
		{"ip:fe80::1%eth0", "ip:fe80::1%eth0: not an IP address or CIDR prefix", "ip:fe80::1%eth0", 0},
		{"ip:10.1", "ip:10.1: not an IP address or CIDR prefix", "ip:10.1", 0},
		{"since:abc", `since:abc: "abc" is not a duration (want e.g. 15m, 2h or 7d)`, "since:abc", 0},
		{"since:0s", "since:0s: duration must be positive", "since:0s", 0},
		{"since:0d", "since:0d: duration must be positive", "since:0d", 0},
		{"since:1d-5m", `since:1d-5m: "1d-5m" is not a duration (want e.g. 15m, 2h or 7d)`, "since:1d-5m", 0},
		{"since:5h2d", `since:5h2d: "5h2d" is not a duration (want e.g. 15m, 2h or 7d)`, "since:5h2d", 0},
		{"since:999999999d", "since:999999999d: duration too long", "since:999999999d", 0},
		{"since:106751d23h48m", "since:106751d23h48m: duration too long", "since:106751d23h48m", 0},
		{"until:soon", `until:soon: "soon" is neither a duration ago (15m, 2h, 7d) nor an RFC 3339 time (2026-11-25T02:00:00Z)`, "until:soon", 0},
		{"until:", "until:: missing value, as in until:1h", "until:", 0},
		{"shadow:block", `shadow:block: unknown shadow action "block" (want allow, challenge or deny)`, "shadow:block", 0},
		{"shadow:error", `shadow:error: unknown shadow action "error" (want allow, challenge or deny)`, "shadow:error", 0},
		{"domain:@", "domain:@: missing value, as in domain:example.com", "domain:@", 0},
		{"a\x00b:c", `"a\x00b:c": unknown field "a\x00b" (want type, status, action, user, ip, signal, policy, country, email, domain, ua, source, shadow, rule, since, until, risk, ato, bot, abuse)`, "a\x00b:c", 0},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.expr, filterNow)
		if err == nil {
			t.Errorf("ParseFilter(%q) = %q, want error %q", tc.expr, f, tc.msg)
			continue
		}
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFilter(%q) error %T, want *FilterError", tc.expr, err)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("ParseFilter(%q) error\n got: %s\nwant: %s", tc.expr, err, tc.msg)
		}
		if fe.Term != tc.term || fe.Pos != tc.pos {
			t.Errorf("ParseFilter(%q) error at %d %q, want %d %q", tc.expr, fe.Pos, fe.Term, tc.pos, tc.term)
		}
	}
}

func TestFilterString(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", ""},
		{"  TYPE:Login   Status:FAILED  ", "type:$login status:$failed"},
		{"type:$$x", "type:$$x"},
		{"action:Deny", "action:deny"},
		{"user:Bob", "user:Bob"},
		{`user:"bob smith"`, `user:"bob smith"`},
		{`policy:"High Risk"`, `policy:"high risk"`},
		{`policy:a"b c"d`, `policy:"ab cd"`},
		{`policy:"say \"hi\" \\o/"`, `policy:"say \"hi\" \\o/"`},
		{`policy:back\slash`, `policy:back\slash`},
		{"signal:Proxy_IP", "signal:proxy_ip"},
		{"-country:de", "-country:DE"},
		{"email:@Example.COM", "email:@example.com"},
		{"source:file:/var/log/x", "source:file:/var/log/x"},
		{"risk>=60", "risk>=60"},
		{"RISK>=060.50", "risk>=60.5"},
		{"account_takeover<.5", "ato<0.5"},
		{"bot=100.0", "bot=100"},
		{"abuse<=0", "abuse<=0"},
		{"account_abuse>7", "abuse>7"},
		{"since:15m", "since:15m"},
		{"since:90m", "since:1h30m"},
		{"since:48h", "since:2d"},
		{"since:1.5d", "since:1d12h"},
		{"since:1d30s", "since:1d30s"},
		{"since:1500ms", "since:1.5s"},
		{"since:1d0.5s", "since:1d500ms"},
		{"since:10s", "since:10s"},
		{"ip:10.1.2.3/8", "ip:10.0.0.0/8"},
		{"ip:::ffff:1.2.3.4", "ip:1.2.3.4"},
		{"ip:2001:DB8::1", "ip:2001:db8::1"},
		{"ip:2001:db8::1/32", "ip:2001:db8::/32"},
		{"Alice", "alice"},
		{"-Alice", "-alice"},
		{`"-weird"`, `"-weird"`},
		{`-"-weird"`, `-"-weird"`},
		{`"a:b"`, `"a:b"`},
		{`"a>b"`, `"a>b"`},
		{`"two words"`, `"two words"`},
		{"fe80::1", "fe80::1"},
		{"-::1", "-::1"},
		{`"10.0.0.0/8"`, "10.0.0.0/8"},
		{`po"l"icy:x`, `"policy:x"`},
		{"日本 ÄÖ", "日本 äö"},
		{"a\x00b", "a\x00b"},
		{"until:90m", "until:1h30m"},
		{"until:2026-01-01T02:00:00+02:00", "until:2026-01-01T00:00:00Z"},
		{"UA:Curl", "ua:curl"},
		{"domain:@Example.COM", "domain:example.com"},
		{"shadow:DENY", "shadow:deny"},
		{`rule:"Stuffing IP"`, `rule:"stuffing ip"`},
	}
	for _, tc := range tests {
		f := mustParse(t, tc.expr)
		got := f.String()
		if got != tc.want {
			t.Errorf("ParseFilter(%q).String() = %q, want %q", tc.expr, got, tc.want)
			continue
		}
		g := mustParse(t, got)
		if !reflect.DeepEqual(f, g) {
			t.Errorf("%q re-parsed from %q differs: %+v vs %+v", got, tc.expr, g, f)
		}
	}
}

func TestFilterScoreBoundaries(t *testing.T) {
	ops := []struct {
		op   string
		want [3]bool // for 59.99, 60, 60.01
	}{
		{"<", [3]bool{true, false, false}},
		{"<=", [3]bool{true, true, false}},
		{">", [3]bool{false, false, true}},
		{">=", [3]bool{false, true, true}},
		{"=", [3]bool{false, true, false}},
	}
	values := [3]float64{59.99, 60, 60.01}
	for s := range NumScores {
		for _, o := range ops {
			expr := s.String() + o.op + "60"
			f := mustParse(t, expr)
			for i, v := range values {
				d := Decision{Action: ActionAllow}
				setScore(&d, s, v)
				if got := f.Match(&d); got != o.want[i] {
					t.Errorf("%s on %s=%v: %v, want %v", expr, s, v, got, o.want[i])
				}
				d.Action = ActionError
				if f.Match(&d) {
					t.Errorf("%s matched an error decision", expr)
				}
			}
		}
	}
	edges := []struct {
		expr string
		v    float64
		want bool
	}{
		{"risk>=0", 0, true},
		{"risk=0", 0, true},
		{"risk>0", 0, false},
		{"risk<=100", 100, true},
		{"risk=100", 100, true},
		{"risk>100", 100, false},
		{"risk<100", 100, false},
		{"risk=60.5", 60.5, true},
		{"risk=60.5", 60.50000001, false},
	}
	for _, e := range edges {
		d := Decision{Action: ActionDeny, Risk: e.v}
		if got := mustParse(t, e.expr).Match(&d); got != e.want {
			t.Errorf("%s on %v: %v, want %v", e.expr, e.v, got, e.want)
		}
	}
}

func setScore(d *Decision, s Score, v float64) {
	switch s {
	case ScoreRisk:
		d.Risk = v
	case ScoreATO:
		d.AccountTakeover = v
	case ScoreBot:
		d.Bot = v
	case ScoreAbuse:
		d.AccountAbuse = v
	}
}

func TestFilterIP(t *testing.T) {
	tests := []struct {
		expr string
		ips  map[string]bool
	}{
		{"ip:10.0.0.0/8", map[string]bool{
			"10.0.0.0": true, "10.255.255.255": true, "11.0.0.0": false, "9.255.255.255": false,
			"::ffff:10.1.1.1": true, "::a01:101": false, "": false, "10.0.0": false, "garbage": false,
		}},
		{"ip:192.168.1.7", map[string]bool{
			"192.168.1.7": true, "192.168.1.70": false, "::ffff:192.168.1.7": true, "192.168.1.6": false,
		}},
		{"ip:2001:db8::/32", map[string]bool{
			"2001:db8::": true, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff": true, "2001:db9::": false,
			"2001:DB8::1": true, "fe80::1%eth0": false, "10.0.0.1": false,
		}},
		{"ip:fe80::/10", map[string]bool{"fe80::1%eth0": true, "fe80::1": true, "fec0::1": false}},
		{"ip:::1", map[string]bool{"::1": true, "0:0:0:0:0:0:0:1": true, "127.0.0.1": false}},
		{"ip:::ffff:0:0/96", map[string]bool{"::ffff:1.2.3.4": true, "1.2.3.4": false}},
		{"ip:0.0.0.0/0", map[string]bool{"1.2.3.4": true, "::1": false}},
		{"-ip:10.0.0.0/8", map[string]bool{"10.1.1.1": false, "11.1.1.1": true, "": true}},
		{"192.168.", map[string]bool{"192.168.0.1": true, "10.192.168.1": false}},
		{"192.168.0.0/16", map[string]bool{"192.168.0.1": true, "192.169.0.1": false}},
		{"2001:DB8::1", map[string]bool{"2001:db8::1": true, "2001:db8:0::1": true, "2001:db8::10": false}},
	}
	for _, tc := range tests {
		f := mustParse(t, tc.expr)
		for ip, want := range tc.ips {
			d := Decision{IP: ip}
			if got := f.Match(&d); got != want {
				t.Errorf("%s on IP %q: %v, want %v", tc.expr, ip, got, want)
			}
		}
	}
}

func TestFilterSince(t *testing.T) {
	tests := []struct {
		expr string
		want time.Time
	}{
		{"", time.Time{}},
		{"since:15m", filterNow.Add(-15 * time.Minute)},
		{"since:1h since:15m", filterNow.Add(-15 * time.Minute)},
		{"since:15m since:1h", filterNow.Add(-15 * time.Minute)},
		{"-since:1h", time.Time{}},
		{"since:2d -since:15m", filterNow.Add(-48 * time.Hour)},
	}
	for _, tc := range tests {
		if got := mustParse(t, tc.expr).Since(); !got.Equal(tc.want) {
			t.Errorf("ParseFilter(%q).Since() = %v, want %v", tc.expr, got, tc.want)
		}
	}
	f := mustParse(t, "since:15m")
	cut := filterNow.Add(-15 * time.Minute)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{cut, true},
		{cut.Add(-time.Nanosecond), false},
		{filterNow.Add(time.Hour), true},
	} {
		d := Decision{EventTime: c.at}
		if got := f.Match(&d); got != c.want {
			t.Errorf("since:15m on %v: %v, want %v", c.at, got, c.want)
		}
	}
}

func TestFilterUserID(t *testing.T) {
	tests := map[string]string{
		"":                      "",
		"user:alice":            "alice",
		"type:login user:Alice": "Alice",
		"user:alice user:alice": "alice",
		"user:alice user:bob":   "",
		"-user:alice":           "",
		"user:alice -user:bob":  "alice",
		"alice":                 "",
		`user:"a b"`:            "a b",
	}
	for expr, want := range tests {
		if got := mustParse(t, expr).UserID(); got != want {
			t.Errorf("ParseFilter(%q).UserID() = %q, want %q", expr, got, want)
		}
	}
}

func TestFilterErrorTruncates(t *testing.T) {
	long := "x" + strings.Repeat("é", 100) + ":v"
	_, err := ParseFilter(long, filterNow)
	var fe *FilterError
	if !errors.As(err, &fe) || fe.Term != long {
		t.Fatalf("error %v does not carry the whole term", err)
	}
	msg := err.Error()
	head, _, ok := strings.Cut(msg, "…: ")
	if !ok || len(head) > maxShownTerm || !strings.HasPrefix(long, head) {
		t.Errorf("Error() = %q, want the term cut at a rune boundary before %d bytes", msg, maxShownTerm)
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		s, sub         string
		prefix, substr bool
	}{
		{"Alice@Example.com", "alice", true, true},
		{"Alice@Example.com", "EXAMPLE", false, true},
		{"Alice@Example.com", "", true, true},
		{"", "", true, true},
		{"", "a", false, false},
		{"ab", "abc", false, false},
		{"\u212Aelvin", "kelvin", true, true}, // KELVIN SIGN folds to k
		{"Straße", "STRASSE", false, false},   // full folding is not applied
		{"ÄÖÜ", "äöü", true, true},
		{"xxÄÖÜ", "öü", false, true},
		{"a\xffb", "\xffb", false, true},
		{"日本語", "本", false, true},
	}
	for _, tc := range tests {
		if got := hasPrefixFold(tc.s, tc.sub); got != tc.prefix {
			t.Errorf("hasPrefixFold(%q, %q) = %v, want %v", tc.s, tc.sub, got, tc.prefix)
		}
		if got := containsFold(tc.s, tc.sub); got != tc.substr {
			t.Errorf("containsFold(%q, %q) = %v, want %v", tc.s, tc.sub, got, tc.substr)
		}
	}
}

// TestFilterMatchAllocs guards the promise that Match does not allocate:
// every kind of term runs on its own against every fixture, including IPs
// with a zone and IPs that are not addresses.
func TestFilterMatchAllocs(t *testing.T) {
	ds := append(filterFixtures(),
		Decision{IP: "fe80::1%eth0", Email: "\u212aelvin@x", UserID: "ÄÖÜ"},
		Decision{IP: "", Signals: []string{"a", "b", "c"}},
		Decision{IP: "garbage-value"},
	)
	var fs []*Filter
	for _, expr := range strings.Fields(`type:login -status:failed action:allow user:alice ip:203.0.113.0/24 ` +
		`ip:2001:db8::/32 ip:::1 signal:x policy:a country:de email:example source:file since:1h risk>=1 ato<90 ` +
		`bot<=100 abuse=0 alice öü 203.0.113.7 10.0.0.0/8 2001:db8::/32 10.1.`) {
		fs = append(fs, mustParse(t, expr))
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range fs {
			for i := range ds {
				f.Match(&ds[i])
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run", allocs)
	}
}

func BenchmarkFilterMatch(b *testing.B) {
	ds := filterFixtures()
	for _, expr := range []string{
		"type:login action:deny risk>=60 -signal:proxy_ip",
		"since:1h ip:10.0.0.0/8 email:@example.com -country:de",
		"alice 10.1. -action:error ato>50",
	} {
		f := mustParse(b, expr)
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f.Match(&ds[i%len(ds)])
			}
		})
	}
}

func TestWithUntilAndRelative(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := time.Date(2026, 11, 25, 2, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		in, want string
		relative bool
	}{
		{"", "until:2026-11-25T01:30:00Z", false},
		{"action:deny since:1h", "action:deny since:1h until:2026-11-25T01:30:00Z", true},
		{"until:15m user:alice -until:2h", "user:alice until:2026-11-25T01:30:00Z", true},
		{"until:2026-11-20T00:00:00Z", "until:2026-11-25T01:30:00Z", false},
	} {
		f, err := ParseFilter(tc.in, now)
		if err != nil {
			t.Fatal(err)
		}
		if f.Relative() != tc.relative {
			t.Errorf("%q: Relative %v, want %v", tc.in, f.Relative(), tc.relative)
		}
		g := f.WithUntil(at)
		if g.String() != tc.want {
			t.Errorf("%q with until: %q, want %q", tc.in, g.String(), tc.want)
		}
		if g.Relative() && !strings.Contains(tc.in, "since:") {
			t.Errorf("%q: an absolute until: made it relative", tc.in)
		}
		if !g.Until().Equal(at) {
			t.Errorf("%q: Until %v, want %v", tc.in, g.Until(), at)
		}
		if f.String() != mustParseAt(t, tc.in, now).String() {
			t.Errorf("%q: WithUntil changed the filter it was called on", tc.in)
		}
		// The selection is the same up to the new bound.
		d := &Decision{Action: ActionDeny, UserID: "alice", EventTime: at.Add(-time.Minute)}
		if f.Match(d) && !g.Match(d) {
			t.Errorf("%q: WithUntil dropped a decision before the bound", tc.in)
		}
		if g.Match(&Decision{Action: ActionDeny, UserID: "alice", EventTime: at}) {
			t.Errorf("%q: until: is exclusive", tc.in)
		}
	}
}

func mustParseAt(t *testing.T, expr string, now time.Time) *Filter {
	t.Helper()
	f, err := ParseFilter(expr, now)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
