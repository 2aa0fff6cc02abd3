package emulator

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"math"
	"time"
)

// The longest a visit lasts after its second starts, and an incident after
// its slot starts. A timeline starting at T plans from T minus these, so
// it emits the rest of whatever was under way at T.
const (
	visitSpan    = 15 * time.Minute
	incidentSpan = 25 * time.Minute
)

// timeline plans a scenario's events in time order. Its traffic is a pure
// function of the seed and of absolute time: the background of each second
// comes from a random stream keyed by that Unix second, and incident k
// (slot k of the scenario's period since the Unix epoch) from a stream
// keyed by k. So the events of any window are the same whichever time the
// timeline started from; a run that starts where another stopped continues
// it without registering anyone twice; and an event keeps its ID from run
// to run.
type timeline struct {
	w     *world
	spec  scenarioSpec
	rate  float64 // background events a second
	scale float64 // incident intensity against the scenario's own rate
	// Events before from are dropped; to, unless zero, ends the timeline.
	from, to time.Time
	// idPrefix starts every event ID: the seed and a digest of the
	// scenario and rate, so two kinds of traffic never share an ID.
	idPrefix string

	nextSec  int64 // the next second of background to plan (Unix)
	nextSlot int64 // the next incident slot to plan
	pending  plan
	planned  uint64
}

func newTimeline(w *world, scenario string, spec scenarioSpec, rate float64, from, to time.Time) *timeline {
	t := &timeline{w: w, spec: spec, rate: rate, scale: 1, from: from, to: to}
	if spec.rate > 0 {
		t.scale = max(0.25, rate/spec.rate)
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%x", scenario, math.Float64bits(rate))
	t.idPrefix = fmt.Sprintf("gen-%d-%08x-", w.seed, h.Sum32())
	t.nextSec = from.Add(-visitSpan).Unix()
	if len(spec.incidents) > 0 {
		t.nextSlot = floorDiv(from.Add(-incidentSpan).Unix(), t.periodSeconds())
	}
	return t
}

func (t *timeline) periodSeconds() int64 { return int64(t.spec.period / time.Second) }

// slotStart is when incident slot k starts.
func (t *timeline) slotStart(k int64) time.Time { return time.Unix(k*t.periodSeconds(), 0) }

// horizon is the time before which every event is planned: the start of
// the next second or slot to plan, whichever comes first.
func (t *timeline) horizon() time.Time {
	var h time.Time
	if t.rate > 0 {
		h = time.Unix(t.nextSec, 0)
	}
	if len(t.spec.incidents) > 0 {
		if s := t.slotStart(t.nextSlot); h.IsZero() || s.Before(h) {
			h = s
		}
	}
	return h
}

// peek returns the next event without removing it, nil past the end.
func (t *timeline) peek() *planned {
	for {
		h := t.horizon()
		if len(t.pending) > 0 && t.pending[0].at.Before(h) {
			switch head := t.pending[0]; {
			case head.at.Before(t.from):
				heap.Pop(&t.pending)
				continue
			case !t.to.IsZero() && !head.at.Before(t.to):
				return nil
			default:
				return head
			}
		}
		if !t.to.IsZero() && !h.Before(t.to) {
			return nil
		}
		t.planNext()
	}
}

// pop removes and returns the next event, nil past the end.
func (t *timeline) pop() *planned {
	if t.peek() == nil {
		return nil
	}
	return heap.Pop(&t.pending).(*planned)
}

// planNext plans the next second of background or the next incident slot,
// whichever starts first.
func (t *timeline) planNext() {
	if t.rate > 0 && (len(t.spec.incidents) == 0 || !t.slotStart(t.nextSlot).Before(time.Unix(t.nextSec, 0))) {
		t.planSecond(t.nextSec)
		t.nextSec++
		return
	}
	t.planSlot(t.nextSlot)
	t.nextSlot++
}

// planSecond plans the visits that start in a second: a Poisson process
// of rate/meanVisitEvents visits a second, a few of them signups.
func (t *timeline) planSecond(sec int64) {
	rng := newStream(t.w.seed, streamSecond, sec)
	base := time.Unix(sec, 0)
	perSecond := t.rate / meanVisitEvents
	var evs []planned
	signups := 0
	for off := rng.ExpFloat64() / perSecond; off < 1; off += rng.ExpFloat64() / perSecond {
		at := base.Add(time.Duration(off * float64(time.Second)))
		if rng.Float64() < signupShare {
			evs = append(evs, t.w.signup(rng, at, sec, signups)...)
			signups++
		} else {
			evs = append(evs, t.w.visit(rng, at)...)
		}
	}
	t.push(originSecond, sec, evs)
}

// planSlot plans incident slot k: the rotation's kind for k, starting in
// the first half of the slot.
func (t *timeline) planSlot(k int64) {
	rng := newStream(t.w.seed, streamIncident, k)
	n := int64(len(t.spec.incidents))
	kind := t.spec.incidents[floorMod(k, n)]
	at := t.slotStart(k).Add(uniformDuration(rng, 0, t.spec.period/2))
	t.push(originIncident, k, t.w.incident(kind, rng, k, k-n, at, t.scale))
}

// The origins of an event, the first letter of the last part of its ID.
const (
	originSecond   = 's'
	originIncident = 'i'
)

// push queues the events planned for a second or slot, naming each by its
// place among them.
func (t *timeline) push(origin byte, slot int64, evs []planned) {
	for i := range evs {
		t.planned++
		evs[i].seq = t.planned
		evs[i].origin = origin
		evs[i].slot = slot
		evs[i].n = i + 1
		heap.Push(&t.pending, &evs[i])
	}
}

// eventID names a planned event: "gen-<seed>-<digest>-s<second>-<n>" for
// the background, "...-i<slot>-<n>" for an incident.
func (t *timeline) eventID(p *planned) string {
	return fmt.Sprintf("%s%c%d-%d", t.idPrefix, p.origin, p.slot, p.n)
}

// planned is an event waiting for its time.
type planned struct {
	at  time.Time
	seq uint64 // tie-breaker: planning order
	// origin, slot and n place the event on the timeline (see eventID).
	origin byte
	slot   int64
	n      int
	ev     wireOut
}

// plan is a min-heap of planned events by time, then by planning order.
type plan []*planned

func (p plan) Len() int { return len(p) }
func (p plan) Less(i, j int) bool {
	if !p[i].at.Equal(p[j].at) {
		return p[i].at.Before(p[j].at)
	}
	return p[i].seq < p[j].seq
}
func (p plan) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *plan) Push(x any)   { *p = append(*p, x.(*planned)) }
func (p *plan) Pop() any {
	old := *p
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*p = old[:len(old)-1]
	return x
}

// floorDiv and floorMod round towards minus infinity, so slots before the
// epoch are numbered like the ones after it.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
