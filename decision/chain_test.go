package decision

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var (
	t0      = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	home    = Device{"Chrome", "Windows"}
	robot   = Device{"Headless Chrome", "Linux"}
	phone   = Device{"Safari", "iOS"}
	homeIP  = "192.0.2.10"
	evilIP  = "198.51.100.7"
	otherIP = "192.0.2.99"
)

// ev builds an event at t0 plus minutes.
func ev(minutes int, typ, status, ip string, dev Device, country string) ChainEvent {
	return ChainEvent{Time: t0.Add(time.Duration(minutes) * time.Minute), Type: typ, Status: status, IP: ip, Device: dev, Country: country}
}

func homeLogin(m int) ChainEvent { return ev(m, "$login", "$succeeded", homeIP, home, "US") }
func homeTxn(m int) ChainEvent   { return ev(m, "$transaction", "$succeeded", homeIP, home, "US") }
func evilFail(m int) ChainEvent  { return ev(m, "$login", "$failed", evilIP, robot, "RU") }
func evilLogin(m int) ChainEvent { return ev(m, "$login", "$succeeded", evilIP, robot, "RU") }
func evilProfile(m int) ChainEvent {
	return ev(m, "$profile_update", "$succeeded", evilIP, robot, "RU")
}
func evilTxn(m int) ChainEvent { return ev(m, "$transaction", "$succeeded", evilIP, robot, "RU") }
func steps(s ...Step) []Step   { return s }
func none(n int) []Step        { return make([]Step, n) }
func join(a ...[]Step) []Step {
	var out []Step
	for _, x := range a {
		out = append(out, x...)
	}
	return out
}

const (
	F = StepFailedLogin
	N = StepNewLogin
	P = StepProfileChange
	T = StepTransaction
	o = StepNone
)

func TestDetectChains(t *testing.T) {
	tests := []struct {
		name   string
		events []ChainEvent
		want   []Step
	}{
		{"empty", nil, nil},
		{
			"the classic takeover",
			[]ChainEvent{homeLogin(0), homeTxn(10), evilFail(100), evilFail(101), evilFail(102), evilLogin(103), evilProfile(106), evilTxn(109)},
			steps(o, o, F, F, F, N, P, T),
		},
		{
			"events between the steps do not break the chain",
			[]ChainEvent{homeLogin(0), evilFail(100), homeTxn(101), evilLogin(103),
				ev(104, "$custom", "", evilIP, robot, "RU"), evilFail(105), evilLogin(106), evilProfile(107), homeTxn(108), evilTxn(109)},
			// The login marked is the last success from the profile
			// change's device before it; whoever made it, the first
			// transaction after the profile change completes the chain.
			steps(o, F, o, o, o, F, N, P, T, o),
		},
		{
			"forgotten password: failures, then a success from the usual device",
			[]ChainEvent{homeLogin(0), ev(10, "$login", "$failed", homeIP, home, "US"), homeLogin(11), evilProfile(12), homeTxn(13)},
			none(5),
		},
		{
			"no history, nothing is new",
			[]ChainEvent{evilFail(0), evilLogin(1), evilProfile(2), evilTxn(3)},
			none(4),
		},
		{
			"a new country alone is new",
			[]ChainEvent{homeLogin(0), evilFail(10), ev(11, "$login", "$succeeded", homeIP, home, "BR"),
				ev(12, "$profile_update", "$succeeded", homeIP, home, "BR"), evilTxn(13)},
			steps(o, F, N, P, T),
		},
		{
			"a new device alone is new",
			[]ChainEvent{homeLogin(0), evilFail(10), ev(11, "$login", "$succeeded", homeIP, phone, "US"),
				ev(12, "$profile_update", "$succeeded", otherIP, phone, "US"), evilTxn(13)},
			steps(o, F, N, P, T),
		},
		{
			"a new login, then a profile change from a device that never logged in",
			// The user's new phone logs in after the attacker's failures;
			// the attacker's script changes the profile without a
			// successful login of its own: not the order of a takeover.
			[]ChainEvent{homeLogin(0), evilFail(10), ev(11, "$login", "$succeeded", otherIP, phone, "US"), evilProfile(12), evilTxn(13)},
			none(5),
		},
		{
			"the profile change before the attacker's success",
			[]ChainEvent{homeLogin(0), evilFail(10), ev(11, "$login", "$succeeded", otherIP, phone, "US"), evilProfile(12), evilLogin(13), evilTxn(14)},
			none(6),
		},
		{
			"without user agents, the same IP is the same device",
			[]ChainEvent{ev(0, "$login", "$succeeded", homeIP, Device{}, "US"), ev(10, "$login", "$failed", evilIP, Device{}, "RU"),
				ev(11, "$login", "$succeeded", evilIP, Device{}, "RU"), ev(12, "$profile_update", "$succeeded", evilIP, Device{}, "RU"),
				ev(13, "$transaction", "$succeeded", evilIP, Device{}, "RU")},
			steps(o, F, N, P, T),
		},
		{
			"no failed login first: not a chain",
			[]ChainEvent{homeLogin(0), evilLogin(10), evilProfile(11), evilTxn(12)},
			none(4),
		},
		{
			"a transaction without a profile change: not a chain",
			[]ChainEvent{homeLogin(0), evilFail(10), evilLogin(11), evilTxn(12)},
			none(4),
		},
		{
			"the profile change must come after the login",
			[]ChainEvent{homeLogin(0), evilProfile(5), evilFail(10), evilLogin(11), evilTxn(12)},
			none(5),
		},
		{
			"too slow: the transaction a day after the first failure",
			[]ChainEvent{homeLogin(0), evilFail(10), evilLogin(11), evilProfile(12), evilTxn(11 + 24*60)},
			none(5),
		},
		{
			"failures older than the window do not count",
			[]ChainEvent{homeLogin(0), evilFail(10), evilLogin(10 + 24*60 + 1), evilProfile(24*60 + 20), evilTxn(24*60 + 30)},
			none(5),
		},
		{
			"a new login not followed up joins the history",
			[]ChainEvent{homeLogin(0), ev(10, "$login", "$failed", otherIP, phone, "US"), ev(11, "$login", "$succeeded", otherIP, phone, "US"),
				// A day and more later, failures then a success from the
				// phone, now known: no chain.
				ev(3000, "$login", "$failed", otherIP, phone, "US"), ev(3001, "$login", "$succeeded", otherIP, phone, "US"),
				evilProfile(3002), evilTxn(3003)},
			none(7),
		},
		{
			"two chains",
			[]ChainEvent{homeLogin(0), evilFail(10), evilLogin(11), evilProfile(12), evilTxn(13),
				homeLogin(5000), ev(5001, "$login", "$failed", otherIP, phone, "FR"), ev(5002, "$login", "$succeeded", otherIP, phone, "FR"),
				ev(5003, "$profile_update", "$succeeded", otherIP, phone, "FR"), ev(5004, "$transaction", "$succeeded", otherIP, phone, "FR")},
			join(steps(o, F, N, P, T), steps(o, F, N, P, T)),
		},
		{
			"the attacker is not learned from his chain",
			[]ChainEvent{homeLogin(0), evilFail(10), evilLogin(11), evilProfile(12), evilTxn(13),
				evilFail(3000), evilLogin(3001), evilProfile(3002), evilTxn(3003)},
			steps(o, F, N, P, T, F, N, P, T),
		},
		{
			"types and statuses without $ and in any case",
			[]ChainEvent{ev(0, "LOGIN", "Succeeded", homeIP, home, "US"), ev(1, "login", "FAILED", evilIP, robot, "RU"),
				ev(2, "$Login", "", evilIP, robot, "RU"), ev(3, "profile_update", "succeeded", evilIP, robot, "RU"),
				ev(4, "Transaction", "$succeeded", evilIP, robot, "RU")},
			steps(o, F, N, P, T),
		},
		{
			"a failed profile update or transaction is not a step",
			[]ChainEvent{homeLogin(0), evilFail(1), evilLogin(2), ev(3, "$profile_update", "$failed", evilIP, robot, "RU"), evilProfile(4),
				ev(5, "$transaction", "$failed", evilIP, robot, "RU"), evilTxn(6)},
			steps(o, F, N, o, P, o, T),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DetectChains(tc.events)
			if len(got) != len(tc.events) {
				t.Fatalf("%d steps for %d events", len(got), len(tc.events))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestStepNames(t *testing.T) {
	want := map[Step]string{o: "", F: "ATO failed login", N: "ATO new login", P: "ATO profile", T: "ATO transaction", 99: ""}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("Step(%d) = %q, want %q", s, s.String(), w)
		}
	}
}

// TestDetectChainsProperties checks, on random journeys, that every marked
// chain is whole and in order: each transaction step has a profile step
// before it, a new-login step before that and failed logins before that,
// all within the window, the profile step from the new login's device,
// and the marked events are of the right kinds.
func TestDetectChainsProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	types := []string{"$login", "$login", "$login", "$profile_update", "$transaction", "$custom"}
	statuses := []string{"$succeeded", "$succeeded", "$failed"}
	ips := []string{homeIP, evilIP, otherIP}
	devs := []Device{home, robot, phone}
	chains := 0
	for n := 0; n < 2000; n++ {
		k := 1 + r.IntN(40)
		events := make([]ChainEvent, k)
		at := 0
		for i := range events {
			at += r.IntN(300)
			events[i] = ev(at, types[r.IntN(len(types))], statuses[r.IntN(len(statuses))], ips[r.IntN(3)], devs[r.IntN(3)], []string{"US", "RU"}[r.IntN(2)])
		}
		got := DetectChains(events)
		want := F
		var first time.Time
		var newLogin *ChainEvent
		for i, s := range got {
			if s == o {
				continue
			}
			e := &events[i]
			kind := classify(e)
			switch s {
			case F:
				if kind != kindFailedLogin {
					t.Fatalf("journey %d event %d marked %v is %v", n, i, s, kind)
				}
				if want == N || want == F {
					if want == F {
						first = e.Time
					}
					want = N
					continue
				}
			case N:
				if kind != kindLogin || want != N {
					t.Fatalf("journey %d event %d: %v out of order", n, i, s)
				}
				want, newLogin = P, e
			case P:
				if kind != kindProfile || want != P {
					t.Fatalf("journey %d event %d: %v out of order", n, i, s)
				}
				if !sameAccess(newLogin, e) {
					t.Fatalf("journey %d event %d: the profile change is not from the new login's device", n, i)
				}
				want = T
			case T:
				if kind != kindTransaction || want != T || e.Time.Sub(first) > ChainWindow {
					t.Fatalf("journey %d event %d: %v out of order or late", n, i, s)
				}
				want = F
				chains++
				continue
			}
			if s == F {
				t.Fatalf("journey %d event %d: failed login inside a chain", n, i)
			}
		}
		if want != F {
			t.Fatalf("journey %d: a chain left incomplete: %v", n, got)
		}
	}
	if chains == 0 {
		t.Fatal("the random journeys never formed a chain: the property was not exercised")
	}
}
