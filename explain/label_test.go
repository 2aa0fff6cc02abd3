package explain

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// labelScenario is a window of ordinary traffic, a third of it labelled
// (mostly legit, a little fraud anywhere), plus 120 decisions from
// 203.0.113.0/24, all labelled fraud.
func labelScenario(seed uint64) []decision.Decision {
	g := newGen(seed)
	ds := g.traffic(winPeriod.From, 10*time.Minute, 1500)
	for i := range ds {
		switch u := g.r.IntN(30); {
		case u == 0:
			ds[i].Label = decision.LabelFraud
		case u < 10:
			ds[i].Label = decision.LabelLegit
		}
	}
	cluster := g.traffic(winPeriod.From, 10*time.Minute, 120)
	for i := range cluster {
		cluster[i].IP = fmt.Sprintf("203.0.113.%d", 1+i%200)
		cluster[i].Label = decision.LabelFraud
	}
	return slices.Concat(ds, cluster)
}

func labelled(c decision.LabelClass) func(*decision.Decision) bool {
	return func(d *decision.Decision) bool { return d.Label == c }
}

// In label mode the fraud cluster's /24 is the top driver, the action is
// tested like any other dimension, and every number is a recount: Window
// and Baseline are the driver's fraud and legit decisions, Excess is
// fraud - legit × (fraud / legit), and the fraud rate without the driver
// is recounted without its decisions.
func TestLabelDriversMatchRecount(t *testing.T) {
	for seed := range uint64(3) {
		ds := labelScenario(seed)
		r, err := Label(winPeriod, ds, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Mode != ModeLabel || len(r.Drivers) == 0 || !slices.Contains(r.Drivers[0].Values(), spikeNet) {
			t.Fatalf("seed %d: mode %v, drivers %+v; want %v on top", seed, r.Mode, r.Drivers, spikeNet)
		}
		isFraud, isLegit := labelled(decision.LabelFraud), labelled(decision.LabelLegit)
		var nf, nl uint64
		for i := range ds {
			switch ds[i].Label {
			case decision.LabelFraud:
				nf++
			case decision.LabelLegit:
				nl++
			}
		}
		if r.Window.Count != nf || r.Baseline.Count != nl || r.Excess != 0 || r.DenyRate != nil ||
			r.FraudRate == nil || *r.FraudRate != float64(nf)/float64(nf+nl) {
			t.Errorf("seed %d: sides %+v %+v excess %v fraud rate %v", seed, r.Window, r.Baseline, r.Excess, r.FraudRate)
		}
		for i := range r.Drivers {
			d := &r.Drivers[i]
			w, b := countMatches(ds, d, isFraud), countMatches(ds, d, isLegit)
			excess := float64(w) - float64(b)*(float64(nf)/float64(nl))
			without := float64(nf-w) / float64(nf-w+nl-b)
			if d.Window != w || d.Baseline != b || d.Excess != excess || d.FraudRateWithout == nil ||
				*d.FraudRateWithout != without || d.DenyRateWithout != nil {
				t.Errorf("seed %d %v: fraud %d legit %d excess %v without %v; recount %d %d %v %v",
					seed, d.Values(), d.Window, d.Baseline, d.Excess, d.FraudRateWithout, w, b, excess, without)
			}
			checkShares(t, d, nf, nl)
		}
	}
}

// The mode's name round-trips, and Side puts labels, not actions, on the
// sides of label mode.
func TestModeLabel(t *testing.T) {
	m, err := ParseMode("label")
	if err != nil || m != ModeLabel || m.String() != "label" || !m.Split() || ModeVolume.Split() {
		t.Fatalf("ParseMode(label) = %v, %v", m, err)
	}
	if b, err := ModeLabel.MarshalText(); err != nil || string(b) != "label" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if _, err := (ModeLabel + 1).MarshalText(); err == nil {
		t.Error("an unknown mode marshals")
	}
	for _, c := range []struct {
		d            decision.Decision
		window, side bool
	}{
		{decision.Decision{Action: decision.ActionDeny, Label: decision.LabelFraud}, true, true},
		{decision.Decision{Action: decision.ActionDeny, Label: decision.LabelLegit}, false, true},
		{decision.Decision{Action: decision.ActionDeny}, false, false},
	} {
		if w, ok := ModeLabel.Side(&c.d); w != c.window || ok != c.side {
			t.Errorf("Side(%+v) = %v, %v", c.d, w, ok)
		}
	}
}
