package policy

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// scanVelocity answers velocity by scanning every earlier decision of
// the stream within the window: no incremental state, nothing shared
// with Window. Key values are computed up front (as small integers, 0 for
// none) so that the scan stays cheap.
type scanVelocity struct {
	times []int64
	ids   [][numKeys]int32
	i     int // the decisions before i come before the one evaluated
	seen  []int
	stamp int
}

func newScanVelocity(ds []decision.Decision) *scanVelocity {
	s := &scanVelocity{times: make([]int64, len(ds)), ids: make([][numKeys]int32, len(ds))}
	intern := map[string]int32{"": 0}
	for i := range ds {
		s.times[i] = ds[i].EventTime.UnixNano()
		for k := KeyUser; k < numKeys; k++ {
			v := k.Value(&ds[i])
			id, ok := intern[v]
			if !ok {
				id = int32(len(intern))
				intern[v] = id
			}
			s.ids[i][k] = id
		}
	}
	s.seen = make([]int, len(intern))
	return s
}

func (s *scanVelocity) Answer(q Query, d *decision.Decision) (int, error) {
	v := s.ids[s.i][q.Key]
	if v == 0 {
		return 0, nil
	}
	t := d.EventTime.UnixNano()
	from := t - int64(q.Window)
	n := 0
	s.stamp++
	for j := s.i - 1; j >= 0 && s.times[j] >= from; j-- {
		if s.times[j] >= t || s.ids[j][q.Key] != v {
			continue
		}
		if !q.Distinct() {
			n++
		} else if of := s.ids[j][q.Of]; of != 0 && s.seen[of] != s.stamp {
			s.seen[of] = s.stamp
			n++
		}
	}
	return n, nil
}

type outcome struct {
	action  decision.Action
	index   int
	matched []int
}

// TestReplayAgreesWithBruteForce replays a 10-rule policy with velocity
// on every key kind over a generated stream (equal timestamps, bursts,
// error decisions, decisions without an email or address) and evaluates
// every decision again on its own, velocity recounted by scanning the
// stream: every decision's action, deciding rule and matched rules agree,
// and so does every count of the report. 100k decisions; 10k with -short
// or under the race detector.
func TestReplayAgreesWithBruteForce(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 10_000
	}
	p := mustParse(t, tenRules)
	ds := newSynth(1).decisions(n)

	var got []outcome
	rep, err := Replay(p, stream(ds), Options{Each: func(d *decision.Decision, rs []Result) {
		got = append(got, outcome{rs[0].Action, rs[0].Index, slices.Clone(rs[0].Matched)})
	}})
	if err != nil {
		t.Fatal(err)
	}

	scan := newScanVelocity(ds)
	ev := p.NewEvaluator(scan)
	want := Report{Rules: make([]RuleCount, len(p.rules))}
	for i, r := range p.rules {
		want.Rules[i].Name = r.Name
	}
	for i := range ds {
		d := &ds[i]
		scan.i = i
		res, err := ev.Evaluate(d)
		if err != nil {
			t.Fatal(err)
		}
		if g := got[i]; g.action != res.Action || g.index != res.Index || !slices.Equal(g.matched, res.Matched) {
			t.Fatalf("decision %d (%s at %s): replay gave %s by rule %d, matched %v; brute force %s by rule %d, matched %v",
				i, d.EventID, d.EventTime, g.action, g.index, g.matched, res.Action, res.Index, res.Matched)
		}
		want.Decisions++
		want.Live.Add(d.Action)
		want.Policy.Add(res.Action)
		want.Matrix.Add(d.Action, res.Action)
		if res.Action != d.Action {
			want.Changed++
		}
		for _, m := range res.Matched {
			want.Rules[m].Matched++
		}
		if res.Index >= 0 {
			want.Rules[res.Index].Decided++
		}
	}
	want.From, want.To = ds[0].EventTime, ds[n-1].EventTime
	if !jsonEqual(t, rep, &want) {
		t.Errorf("replay report:\n%s\nbrute force:\n%s", mustJSON(t, rep), mustJSON(t, &want))
	}
	// The test means something only if every rule matched somewhere.
	for _, rc := range rep.Rules {
		if rc.Matched == 0 {
			t.Errorf("rule %q never matched: the stream does not exercise it", rc.Name)
		}
	}
}

// TestWindowMemoryIsBoundedByTheWindow feeds a long stream and checks
// that the window holds no more than the decisions inside the longest
// window (one entry per key kind each) plus those at the latest time.
func TestWindowMemoryIsBoundedByTheWindow(t *testing.T) {
	p := mustParse(t, tenRules)
	ds := newSynth(2).decisions(30_000)
	w := NewWindow(p.Queries()...)
	keys := map[Key]bool{}
	for _, q := range p.Queries() {
		keys[q.Key] = true
	}
	maxW := p.MaxWindow()
	for i := range ds {
		if err := w.Add(&ds[i]); err != nil {
			t.Fatal(err)
		}
		if i%1000 != 999 {
			continue
		}
		inside := 0
		for j := i; j >= 0 && !ds[j].EventTime.Before(ds[i].EventTime.Add(-maxW)); j-- {
			inside++
		}
		if bound := inside * len(keys); w.Len() > bound {
			t.Fatalf("after %d decisions the window holds %d entries; %d decisions are inside %s (bound %d)",
				i+1, w.Len(), inside, maxW, bound)
		}
	}
}

func TestReplayReportJSON(t *testing.T) {
	p := mustParse(t, `
default = "allow"
[[rule]]
name = "tor"
when = '"tor_ip" in signals && risk > 10'
action = "deny"
[[rule]]
name = "never"
when = 'signals[5] == "x"'
action = "deny"
`)
	base := newSynth(3).decisions(1)[0]
	ds := []decision.Decision{base, base, base, base}
	ds[0].Signals, ds[0].Risk, ds[0].Action = []string{"tor_ip"}, 40, decision.ActionAllow
	ds[1].Signals, ds[1].Action = nil, decision.ActionDeny
	ds[2].Action = decision.ActionError
	ds[3].Signals, ds[3].Risk, ds[3].Action = []string{"tor_ip"}, 40, decision.ActionDeny
	rep, err := Replay(p, stream(ds), Options{ShowChanged: 5})
	if err != nil {
		t.Fatal(err)
	}
	got := mustJSON(t, rep)
	want := `{"decisions":4,"from":"` + tjson(base) + `","to":"` + tjson(base) + `",` +
		`"live":{"allow":1,"challenge":0,"deny":2,"error":1},` +
		`"policy":{"allow":1,"challenge":0,"deny":2,"error":1},` +
		`"matrix":{"allow":{"allow":0,"challenge":0,"deny":1,"error":0},"challenge":{"allow":0,"challenge":0,"deny":0,"error":0},` +
		`"deny":{"allow":1,"challenge":0,"deny":1,"error":0},"error":{"allow":0,"challenge":0,"deny":0,"error":1}},` +
		`"changed":2,"rules":[{"name":"tor","matched":2,"decided":2},` +
		`{"name":"never","matched":0,"decided":0,"errors":3,"error":"rule \"never\": index out of range: 5 (array length is 1)"}],` +
		`"changes":[{"id":"","event_id":"e1","event_time":"` + tjson(base) + `","type":"` + base.Type + `","user_id":"` + base.UserID +
		`","ip":"` + base.IP + `","live":"allow","policy":"deny","rule":"tor","read":{"risk":40,"signals":["tor_ip"]}},` +
		`{"id":"","event_id":"e1","event_time":"` + tjson(base) + `","type":"` + base.Type + `","user_id":"` + base.UserID +
		`","ip":"` + base.IP + `","live":"deny","policy":"allow","rule":""}]}`
	if got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
}

func TestReplayRefusesOutOfOrder(t *testing.T) {
	p := mustParse(t, tenRules)
	ds := newSynth(4).decisions(10)
	ds[5].EventTime = ds[0].EventTime.Add(-1)
	if _, err := Replay(p, stream(ds), Options{}); err == nil {
		t.Fatal("replay accepted decisions out of event-time order")
	}
}

// TestReplayIncludeFeedsVelocityOnly checks that excluded decisions are
// not counted but still count for velocity.
func TestReplayIncludeFeedsVelocityOnly(t *testing.T) {
	p := mustParse(t, `
[[rule]]
name = "busy"
when = 'count("user", "1h") >= 2'
action = "deny"
`)
	base := newSynth(5).decisions(1)[0]
	ds := []decision.Decision{base, base, base}
	for i := range ds {
		ds[i].EventTime = base.EventTime.Add(time.Duration(i) * time.Minute)
		ds[i].EventID = strconv.Itoa(i)
	}
	rep, err := Replay(p, stream(ds), Options{Include: func(d *decision.Decision) bool { return d.EventID == "2" }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decisions != 1 || rep.Rules[0].Decided != 1 {
		t.Errorf("got %d decisions, rule decided %d; want 1 and 1 (two earlier ones feed velocity)", rep.Decisions, rep.Rules[0].Decided)
	}
}

func jsonEqual(t *testing.T, a, b any) bool { return mustJSON(t, a) == mustJSON(t, b) }

func tjson(d decision.Decision) string { return d.EventTime.Format(time.RFC3339Nano) }

func TestDiff(t *testing.T) {
	old := mustParse(t, tenRules)
	// The same policy without its tor rule, and a stricter high risk.
	src := strings.Replace(tenRules, `"tor_ip" in signals`, `false`, 1)
	src = strings.Replace(src, `when = "risk >= 80"`, `when = "risk >= 70"`, 1)
	updated := mustParse(t, src)
	ds := newSynth(6).decisions(5000)

	same, err := Diff(old, old, stream(ds), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if same.Changed != 0 || same.Old != same.New || same.Decisions != len(ds) {
		t.Errorf("a policy against itself: %s", mustJSON(t, same))
	}

	rep, err := Diff(old, updated, stream(ds), Options{ShowChanged: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := Replay(old, stream(ds), Options{})
	r2, _ := Replay(updated, stream(ds), Options{})
	if rep.Old != r1.Policy || rep.New != r2.Policy || rep.Live != r1.Live ||
		!jsonEqual(t, rep.OldRules, r1.Rules) || !jsonEqual(t, rep.NewRules, r2.Rules) {
		t.Errorf("diff does not agree with the two replays:\n%s\n%s\n%s", mustJSON(t, rep), mustJSON(t, r1), mustJSON(t, r2))
	}
	if rep.Changed == 0 || len(rep.Changes) != min(rep.Changed, 1000) {
		t.Fatalf("changed %d, listed %d", rep.Changed, len(rep.Changes))
	}
	for _, c := range rep.Changes {
		if c.OldRule != "tor" && c.NewRule != "high risk" {
			t.Errorf("a change neither rule explains: %+v", c)
		}
		if c.NewRule == "high risk" && c.NewRead["risk"].(float64) >= 80 {
			t.Errorf("high risk read %v", c.NewRead)
		}
	}
}
