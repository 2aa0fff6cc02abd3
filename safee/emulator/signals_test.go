package emulator

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestGeneratedEmail(t *testing.T) {
	tests := []struct {
		email string
		want  bool
	}{
		{"maria.garcia@gmail.com", false},
		{"mgarcia84@gmail.com", false},
		{"james_smith1987@outlook.com", false},
		{"j.smith+shop@gmail.com", false},
		{"anna482913@gmail.com", true},
		{"kx83qm2vz71@yahoo.com", true},
		{"bq4tz7wp9@proton.me", true},
		{"a1b2@x.io", false}, // short
		{"12345@x.io", true},
		{"no-at-sign", false},
		{"@gmail.com", false},
		{"user@", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := generatedEmail(tt.email); got != tt.want {
			t.Errorf("generatedEmail(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

func TestDisposableEmail(t *testing.T) {
	tests := []struct {
		email string
		want  bool
	}{
		{"bob@mailinator.com", true},
		{"bob@EU.Mailinator.com", true},
		{"bob@notmailinator.com", false},
		{"bob@gmail.com", false},
		{"mailinator.com", false},
	}
	for _, tt := range tests {
		if got := disposableEmail(tt.email); got != tt.want {
			t.Errorf("disposableEmail(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

func TestScriptedAgent(t *testing.T) {
	for _, a := range browserAgents() {
		if scriptedAgent(a.ua) {
			t.Errorf("browser agent flagged: %s", a.ua)
		}
	}
	for _, a := range scriptAgents() {
		if !scriptedAgent(a.ua) {
			t.Errorf("script agent missed: %s", a.ua)
		}
	}
	if !scriptedAgent("  ") {
		t.Error("a blank agent should look scripted")
	}
}

func TestGeo(t *testing.T) {
	tests := []struct {
		ip, country, kind string
	}{
		{"198.18.0.1", "US", KindResidential},
		{"198.19.200.7", "AU", KindResidential},
		{"203.0.113.5", "US", KindDatacenter},
		{"203.0.113.200", "SG", KindDatacenter},
		{"198.51.100.200", "RU", KindProxy},
		{"192.0.2.1", "DE", KindTor},
		{"::ffff:192.0.2.1", "DE", KindTor},
		{"2001:db8:c0::1", "DE", KindTor},
		{"2001:db8:1::5", "GB", KindResidential},
		{"10.1.2.3", UnknownCountry, KindPrivate},
		{"127.0.0.1", UnknownCountry, KindPrivate},
		{"100.64.1.1", UnknownCountry, KindPrivate},
		{"fe80::1%eth0", UnknownCountry, KindPrivate},
		{"::1", UnknownCountry, KindPrivate},
		{"not an ip", UnknownCountry, KindInvalid},
		{"", UnknownCountry, KindInvalid},
	}
	for _, tt := range tests {
		c, k := Geo(tt.ip)
		if c != tt.country || k != tt.kind {
			t.Errorf("Geo(%q) = %s, %s; want %s, %s", tt.ip, c, k, tt.country, tt.kind)
		}
	}
	// Public addresses outside the table: residential, stable per /8.
	c1, k1 := Geo("81.2.3.4")
	c2, _ := Geo("81.200.3.4")
	if k1 != KindResidential || len(c1) != 2 || c1 != c2 {
		t.Errorf("fallback: %s %s / %s", c1, k1, c2)
	}
}

func TestRangesDoNotOverlap(t *testing.T) {
	rs := Ranges()
	for i, a := range rs {
		for _, b := range rs[i+1:] {
			if a.Prefix.Overlaps(b.Prefix) {
				t.Errorf("%v overlaps %v", a.Prefix, b.Prefix)
			}
		}
	}
	rs[0].Country = "XX"
	if Ranges()[0].Country == "XX" {
		t.Error("Ranges returned the table itself")
	}
}

func TestLRUEvicts(t *testing.T) {
	c := newLRU[int, int](3)
	for i := range 3 {
		*c.get(i) = i + 10
	}
	_ = c.get(0) // 0 is now the most recent; 1 the least
	*c.get(3) = 13
	if c.len() != 3 {
		t.Fatalf("len %d", c.len())
	}
	if v := *c.get(0); v != 10 {
		t.Errorf("0 lost: %d", v)
	}
	if v := *c.get(1); v != 0 {
		t.Errorf("1 should have been evicted and come back empty, got %d", v)
	}
}

func TestRecentAndActors(t *testing.T) {
	var r recent
	for i := range 40 {
		r.add(int64(i))
	}
	if got := r.since(0); got != len(r.at) {
		t.Errorf("since(0) = %d, want %d kept", got, len(r.at))
	}
	if got := r.since(35); got != 5 {
		t.Errorf("since(35) = %d", got)
	}
	var a actors
	for u := range 20 {
		a.touch(uint64(u), int64(u))
	}
	a.touch(19, 100)
	if got := a.distinctSince(0); got != len(a.who) {
		t.Errorf("distinct %d", got)
	}
	if got := a.distinctSince(19); got != 1 {
		t.Errorf("distinctSince(19) = %d, want only user 19", got)
	}
}

// TestSignalLogic drives the stateful signals with crafted events.
func TestSignalLogic(t *testing.T) {
	_, srv := serve(t, Options{Seed: 3})
	chrome := "Mozilla/5.0 (Windows NT 10.0) Chrome/126"
	at := func(m int) time.Time { return testStart.Add(time.Duration(m) * time.Minute) }
	signals := func(ev testEvent) []string { return score(t, srv, ev.line()).Signals }

	home := testEvent{typ: "$login", status: "$succeeded", user: "alice", email: "alice.smith@gmail.com", ip: "198.18.0.50", agent: chrome, at: at(0)}
	if s := signals(home); len(s) != 0 {
		t.Fatalf("first login: %v", s)
	}
	again := home
	again.at = at(30)
	if s := signals(again); len(s) != 0 {
		t.Fatalf("usual device and address: %v", s)
	}
	phone := again
	phone.agent, phone.ip, phone.at = "Mozilla/5.0 (iPhone) Safari", "198.18.0.51", at(40)
	if s := signals(phone); !slices.Equal(s, []string{SignalNewDevice, SignalNewIP}) {
		t.Fatalf("new phone: %v", s)
	}
	// A country change an hour after the last allowed login is impossible
	// travel; a day later it is just a new country.
	paris := again
	paris.ip, paris.at = "198.18.192.9", at(100)
	r := score(t, srv, paris.line())
	if !slices.Equal(r.Signals, []string{SignalNewIP, SignalNewCountry, SignalImpossibleTravel}) || r.IPCountry != "FR" {
		t.Fatalf("travel: %+v", r)
	}
	bob := testEvent{typ: "$login", status: "$succeeded", user: "bob", ip: "198.18.0.60", agent: chrome, at: at(0)}
	signals(bob)
	bob.ip, bob.at = "198.18.192.10", at(24*60)
	if s := signals(bob); !slices.Equal(s, []string{SignalNewIP, SignalNewCountry}) {
		t.Fatalf("slow travel: %v", s)
	}

	// Eight distinct users logging in from one address within ten minutes.
	var last []string
	for i := range 8 {
		ev := testEvent{typ: "$login", status: "$failed", user: fmt.Sprintf("victim%d", i), ip: "203.0.113.7", agent: chrome, at: at(200 + i)}
		last = signals(ev)
		if i < 7 && slices.Contains(last, SignalCredentialStuffing) {
			t.Fatalf("stuffing after %d users", i+1)
		}
	}
	if !slices.Contains(last, SignalCredentialStuffing) || !slices.Contains(last, SignalDatacenterIP) {
		t.Fatalf("8th user: %v", last)
	}
	// ...but not when spread over more than the window.
	for i := range 8 {
		ev := testEvent{typ: "$login", status: "$failed", user: fmt.Sprintf("slow%d", i), ip: "203.0.113.8", agent: chrome + fmt.Sprint(i), at: at(300 + 11*i)}
		if s := signals(ev); slices.Contains(s, SignalCredentialStuffing) {
			t.Fatalf("slow logins flagged as stuffing at %d: %v", i, s)
		}
	}

	// Ten events of one user within ten minutes.
	for i := range 10 {
		ev := testEvent{typ: "$custom", status: "$succeeded", user: "busy", ip: "198.18.0.70", agent: chrome, at: at(500).Add(time.Duration(i) * 30 * time.Second)}
		s := signals(ev)
		if (i == 9) != slices.Contains(s, SignalHighActivityAccount) {
			t.Fatalf("event %d: %v", i+1, s)
		}
	}

	// Three accounts on one agent and address.
	for i := range 3 {
		ev := testEvent{typ: "$registration", status: "$succeeded", user: fmt.Sprintf("multi%d", i), ip: "198.18.0.80", agent: chrome, at: at(600 + i)}
		s := signals(ev)
		if (i == 2) != slices.Contains(s, SignalMultipleAccountsPerDevice) {
			t.Fatalf("account %d: %v", i+1, s)
		}
	}

	// Scripted signup with a made-up address: bot and email signals, denied.
	bot := testEvent{typ: "$registration", status: "$succeeded", user: "b1", email: "kx83qm2vz71@mailinator.com", ip: "198.18.0.90", agent: "python-requests/2.32", at: at(700)}
	r = score(t, srv, bot.line())
	want := []string{SignalBotBehavior, SignalGeneratedEmail, SignalDisposableEmail}
	if !slices.Equal(r.Signals, want) || r.Policy.Action != "Deny" || r.Bot < 50 || r.AccountAbuse < 50 {
		t.Fatalf("bot signup: %+v", r)
	}
	// Tor is denied whatever the score.
	tor := testEvent{typ: "$login", status: "$succeeded", user: "t1", ip: "192.0.2.200", agent: chrome, at: at(800)}
	r = score(t, srv, tor.line())
	if r.Policy.Action != "Deny" || r.Risk >= 80 || !slices.Equal(r.Signals, []string{SignalTorIP}) {
		t.Fatalf("tor: %+v", r)
	}
}

func TestFailedBurstRaisesTakeoverScore(t *testing.T) {
	_, srv := serve(t, Options{Seed: 5})
	ev := testEvent{typ: "$login", status: "$failed", user: "carol", ip: "198.18.0.100", agent: "Mozilla/5.0 X", at: testStart}
	first := score(t, srv, ev.line())
	for i := 1; i < 3; i++ {
		ev.at = testStart.Add(time.Duration(i) * time.Minute)
		score(t, srv, ev.line())
	}
	ev.at = testStart.Add(3 * time.Minute)
	ev.status = "$succeeded"
	after := score(t, srv, ev.line())
	if after.AccountTakeover < first.AccountTakeover+20 {
		t.Fatalf("ATO after three failures %d, first failure %d", after.AccountTakeover, first.AccountTakeover)
	}
}

func TestStateIsBounded(t *testing.T) {
	e, srv := serve(t, Options{Seed: 1, MaxEntries: 4})
	chrome := "Mozilla/5.0 Chrome"
	for i := range 10 {
		ev := testEvent{typ: "$login", status: "$succeeded", user: fmt.Sprintf("u%d", i), ip: fmt.Sprintf("198.18.1.%d", i), agent: chrome, at: testStart}
		score(t, srv, ev.line())
	}
	e.mu.Lock()
	users, ips, devices := e.users.len(), e.ips.len(), e.devices.len()
	e.mu.Unlock()
	if users != 4 || ips != 4 || devices != 4 {
		t.Fatalf("tables hold %d users, %d ips, %d devices; want 4 each", users, ips, devices)
	}
	// u0 was forgotten: a new device is not flagged for an unknown user.
	ev := testEvent{typ: "$login", status: "$succeeded", user: "u0", ip: "198.18.1.0", agent: "other", at: testStart}
	if s := score(t, srv, ev.line()).Signals; len(s) != 0 {
		t.Fatalf("forgotten user: %v", s)
	}
}

// TestNoNoveltyWithoutHistory: a user without a learned success has no
// baseline, so nothing about them is "new" however strange their first
// events are; once one success is allowed, the next device is new.
func TestNoNoveltyWithoutHistory(t *testing.T) {
	_, srv := serve(t, Options{Seed: 6})
	novel := []string{SignalNewDevice, SignalNewIP, SignalNewCountry, SignalImpossibleTravel}
	hasNovelty := func(r response) bool {
		return slices.ContainsFunc(r.Signals, func(s string) bool { return slices.Contains(novel, s) })
	}
	at := func(m int) time.Time { return testStart.Add(time.Duration(m) * time.Minute) }

	// First events of every kind, from every kind of address.
	for i, ev := range []testEvent{
		{typ: "$login", status: "$succeeded", ip: "198.18.0.9", agent: "Mozilla/5.0 (Windows NT 10.0) Chrome/126"},
		{typ: "$login", status: "$failed", ip: "198.19.64.9", agent: "Mozilla/5.0 (iPhone) Safari"},
		{typ: "$transaction", status: "$succeeded", ip: "198.51.100.200", agent: "Mozilla/5.0 (X11) Firefox/127"},
		{typ: "$profile_update", status: "$succeeded", ip: "198.19.128.7", agent: "ShopApp/4.12.0"},
		{typ: "$registration", status: "$succeeded", ip: "198.18.192.3", agent: "Mozilla/5.0 (Macintosh) Safari"},
	} {
		ev.user, ev.at = fmt.Sprintf("first%d", i), at(i)
		if r := score(t, srv, ev.line()); hasNovelty(r) {
			t.Errorf("first %s %s: %v", ev.typ, ev.status, r.Signals)
		}
	}

	// A challenged first success teaches nothing: still no baseline.
	shady := testEvent{typ: "$login", status: "$succeeded", user: "shady", ip: "198.51.100.7", agent: "Mozilla/5.0 A", at: at(10)}
	shady.email = "kx83qm2vz71@mailinator.com"
	if r := score(t, srv, shady.line()); r.Policy.Action == "Allow" {
		t.Fatalf("the fixture expects a challenge: %+v", r)
	}
	shady.ip, shady.agent, shady.at, shady.email = "198.19.0.7", "Mozilla/5.0 B", at(11), "ann.lee@gmail.com"
	if r := score(t, srv, shady.line()); hasNovelty(r) {
		t.Errorf("after a challenged first success: %v", r.Signals)
	}

	// One allowed success is a baseline.
	ann := testEvent{typ: "$login", status: "$succeeded", user: "ann", ip: "198.18.0.30", agent: "Mozilla/5.0 (Windows NT 10.0) Chrome/126", at: at(20)}
	if r := score(t, srv, ann.line()); hasNovelty(r) || r.Policy.Action != "Allow" {
		t.Fatalf("first login: %+v", r)
	}
	ann.agent, ann.at = "Mozilla/5.0 (iPhone) Safari", at(21)
	if r := score(t, srv, ann.line()); !slices.Equal(r.Signals, []string{SignalNewDevice}) {
		t.Errorf("second device after a baseline: %v", r.Signals)
	}
}
