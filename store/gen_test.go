package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// fakeGen makes deterministic synthetic decisions for tests and benchmarks:
// a fixed pool of users, IPs and event types, with scores spread over 0-100
// and raw request/response bodies of realistic size.
type fakeGen struct {
	r       *rand.Rand
	users   int
	ips     int
	errRate float64
}

var fakeTypes = []string{"$login", "$registration", "$profile_update", "$transaction", "$custom", "$password_reset"}

func newFakeGen(seed uint64, users, ips int) *fakeGen {
	return &fakeGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), users: users, ips: ips, errRate: 0.02}
}

// decision returns the i-th synthetic decision (EventID "ev-<i>").
func (g *fakeGen) decision(i int) decision.Decision {
	r := g.r
	u := r.IntN(g.users)
	user := fmt.Sprintf("user-%d", u)
	// Most events come from the user's usual address, some from anywhere.
	ipn := u % g.ips
	if r.IntN(10) == 0 {
		ipn = r.IntN(g.ips)
	}
	ip := fmt.Sprintf("10.%d.%d.%d", ipn>>16&255, ipn>>8&255, ipn&255)
	typ := fakeTypes[r.IntN(len(fakeTypes))]
	d := decision.Decision{
		EventID:    fmt.Sprintf("ev-%d", i),
		ReceivedAt: time.Unix(1_700_000_000+int64(i), 0).UTC(),
		Source:     "file:/var/log/app.ndjson",
		Type:       typ,
		Status:     "$succeeded",
		UserID:     user,
		Email:      user + "@example.com",
		IP:         ip,
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		Country:    []string{"US", "DE", "FR", "BR", "IN"}[r.IntN(5)],
		Policy:     "default",
		HTTPStatus: 200,
		Latency:    time.Duration(20+r.IntN(80)) * time.Millisecond,
		Attempts:   1,
	}
	if r.Float64() < g.errRate {
		d.Action = decision.ActionError
		d.Error = "safe-e: 503 Service Unavailable"
		d.HTTPStatus = 503
	} else {
		d.Risk = float64(r.IntN(10001)) / 100
		d.AccountAbuse = float64(r.IntN(10001)) / 100
		d.AccountTakeover = float64(r.IntN(10001)) / 100
		d.Bot = float64(r.IntN(10001)) / 100
		switch {
		case d.Risk >= 90:
			d.Action = decision.ActionDeny
		case d.Risk >= 60:
			d.Action = decision.ActionChallenge
		default:
			d.Action = decision.ActionAllow
		}
		if r.IntN(4) == 0 {
			d.Signals = []string{"proxy_ip", "datacenter_ip"}[:1+r.IntN(2)]
		}
	}
	d.Request = fmt.Appendf(nil, `{"type":%q,"status":"$succeeded","user_headers":{"user_agent":%q,"host":"shop.example.com","accept_language":"en-US,en;q=0.9","accept_encoding":"gzip, deflate, br","accept":"text/html"},"product":"web","user":{"user_id":%q,"user_email":%q,"user_ip":%q}}`,
		typ, d.UserAgent, user, d.Email, ip)
	d.Response = fmt.Appendf(nil, `{"risk":%g,"account_abuse":%g,"account_takeover":%g,"bot":%g,"signals":["proxy_ip"],"policy":{"name":"default","action":%q}}`,
		d.Risk, d.AccountAbuse, d.AccountTakeover, d.Bot, d.Action)
	return d
}

// openTest opens a fresh store in a temporary directory and closes it when
// the test ends.
func openTest(tb testing.TB, opts Options) *DB {
	tb.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 200 * time.Millisecond
	}
	db, err := Open(filepath.Join(tb.TempDir(), "riskwatch.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// reopenStore closes db and opens the file at path again with opts.
func reopenStore(t *testing.T, db *DB, path string, opts Options) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// errInjected is the error a commitSwitch fails commits with.
var errInjected = errors.New("injected")

// commitSwitch fails every commit with errInjected while it is on: the
// Options.FailCommit of tests of failed transactions.
type commitSwitch struct{ on atomic.Bool }

func (s *commitSwitch) set(on bool) { s.on.Store(on) }

func (s *commitSwitch) fail() error {
	if s.on.Load() {
		return errInjected
	}
	return nil
}
