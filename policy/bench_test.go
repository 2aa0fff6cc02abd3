package policy

import (
	"os"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// compact is a synthetic decision in 32 bytes, its strings indices into
// a table: a million of them fit in memory where a million
// decision.Decision values would take half a gigabyte.
type compact struct {
	t                            int64
	user, ip, email, ua, typ, st uint16
	sig, action, risk, bot       uint8
}

type compactStream struct {
	cs      []compact
	strs    []string
	signals [][]string
}

// compactDecisions generates n synthetic decisions (as synth does).
func compactDecisions(n int, seed uint64) *compactStream {
	s := newSynth(seed)
	cs := &compactStream{cs: make([]compact, n), signals: s.pool.signals}
	index := map[string]int{}
	id := func(v string) int {
		i, ok := index[v]
		if !ok {
			i = len(cs.strs)
			index[v] = i
			cs.strs = append(cs.strs, v)
		}
		return i
	}
	sig := func(x []string) uint8 {
		for i, y := range s.pool.signals {
			if len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0]) {
				return uint8(i)
			}
		}
		return 0
	}
	var d decision.Decision
	for i := range cs.cs {
		s.next(&d)
		cs.cs[i] = compact{
			t: d.EventTime.UnixNano(), user: uint16(id(d.UserID)), ip: uint16(id(d.IP)), email: uint16(id(d.Email)),
			ua: uint16(id(d.UserAgent)), typ: uint16(id(d.Type)), st: uint16(id(d.Status)), sig: sig(d.Signals),
			action: uint8(d.Action.Index()), risk: uint8(d.Risk), bot: uint8(d.Bot),
		}
		if len(cs.strs) > 1<<16 {
			panic("string table too large for compact")
		}
	}
	return cs
}

// all streams the decisions, one reused decision.Decision at a time.
func (cs *compactStream) all() Decisions {
	return func(yield func(*decision.Decision, error) bool) {
		var d decision.Decision
		for i := range cs.cs {
			c := &cs.cs[i]
			d = decision.Decision{
				EventTime: decisionTime(c.t), UserID: cs.strs[c.user], IP: cs.strs[c.ip], Email: cs.strs[c.email],
				UserAgent: cs.strs[c.ua], Type: cs.strs[c.typ], Status: cs.strs[c.st], Signals: cs.signals[c.sig],
				Action: decision.Actions[c.action], Risk: float64(c.risk), Bot: float64(c.bot),
				AccountTakeover: float64(c.risk) / 2, AccountAbuse: float64(c.bot) / 3,
			}
			if !yield(&d, nil) {
				return
			}
		}
	}
}

// BenchmarkReplay1M replays the 10-rule policy with velocity (tenRules)
// over a million decisions (SPEC target: under 5 s).
func BenchmarkReplay1M(b *testing.B) {
	p := mustParse(b, tenRules)
	cs := compactDecisions(1_000_000, 42)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Replay(p, cs.all(), Options{ShowChanged: 20})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Decisions != len(cs.cs) {
			b.Fatalf("%d decisions", rep.Decisions)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(cs.cs)), "ns/decision")
}

// BenchmarkStream1M is the cost of producing the stream alone, to
// subtract from BenchmarkReplay1M.
func BenchmarkStream1M(b *testing.B) {
	cs := compactDecisions(1_000_000, 42)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for range cs.all() {
			n++
		}
	}
}

// hotPath prepares an evaluator of p with velocity from a window holding
// the last 10 minutes of a busy stream, and the decision to evaluate.
func hotPath(b *testing.B, p *Policy) (*Evaluator, *decision.Decision) {
	ds := newSynth(9).decisions(20_000)
	w := NewWindow(p.Queries()...)
	for i := range ds[:len(ds)-1] {
		if err := w.Add(&ds[i]); err != nil {
			b.Fatal(err)
		}
	}
	d := &ds[len(ds)-1]
	d.Type, d.Status, d.IP = "$login", "$failed", "203.0.113.10"
	return p.NewEvaluator(w), d
}

// BenchmarkDecide is the shadow policy's cost per decision on the hot
// path: the 10-rule policy, first match only, velocity from memory.
func BenchmarkDecide(b *testing.B) {
	ev, d := hotPath(b, mustParse(b, tenRules))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Decide(d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate evaluates every rule, as replay does.
func BenchmarkEvaluate(b *testing.B) {
	ev, d := hotPath(b, mustParse(b, tenRules))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Evaluate(d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideEmulatorPolicy is the emulator's policy (8 rules on
// signals and scores, no velocity) on an allowed decision: every rule runs.
func BenchmarkDecideEmulatorPolicy(b *testing.B) {
	src, err := os.ReadFile("testdata/emulator.toml")
	if err != nil {
		b.Fatal(err)
	}
	ev, d := hotPath(b, mustParse(b, string(src)))
	d.Signals, d.Risk, d.AccountTakeover, d.Bot, d.AccountAbuse = []string{"new_ip"}, 20, 10, 10, 10
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Decide(d); err != nil {
			b.Fatal(err)
		}
	}
}

func decisionTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
