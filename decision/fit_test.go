package decision

import (
	"math/rand/v2"
	"testing"
)

// histogramOf counts ds as the store's rollups do: by bucket of score s
// and actual action, errors left out.
func histogramOf(s Score, ds []Decision) Histogram {
	h := Histogram{Score: s}
	for i := range ds {
		d := &ds[i]
		if d.Action == ActionError {
			continue
		}
		h.Counts[Bucket(d.ScoreValue(s))][d.Action.Index()]++
		h.Total++
	}
	return h
}

// recount counts, decision by decision, those whose action th gives.
func recount(th Thresholds, ds []Decision) (agree, total uint64) {
	for i := range ds {
		d := &ds[i]
		if d.Action == ActionError {
			continue
		}
		total++
		if th.Of(d) == d.Action {
			agree++
		}
	}
	return agree, total
}

// scored returns n decisions with risk drawn from 0-100 in hundredths,
// every whole point at least once, acted on by act; one in 20 is an error.
func scored(r *rand.Rand, n int, act func(d *Decision) Action) []Decision {
	ds := make([]Decision, 0, n+101)
	for i := range n + 101 {
		d := Decision{Risk: float64(r.IntN(10001)) / 100, Bot: float64(r.IntN(101))}
		if i <= 100 {
			d.Risk = float64(i)
		}
		d.Action = act(&d)
		if r.IntN(20) == 0 {
			d.Action, d.Risk = ActionError, 0
		}
		ds = append(ds, d)
	}
	return ds
}

// Actions that come from thresholds are recovered exactly, whatever the
// thresholds, and reproduce every scored decision.
func TestFitRecoversThresholds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, want := range []Thresholds{
		{Score: ScoreRisk, Challenge: 48, Deny: 71},
		{Score: ScoreRisk, Challenge: 0, Deny: 100},
		{Score: ScoreRisk, Challenge: 30, Deny: 30}, // never challenges
		{Score: ScoreRisk, Challenge: 1, Deny: 2},
		{Score: ScoreRisk, Challenge: 99, Deny: 100},
	} {
		ds := scored(r, 3000, func(d *Decision) Action { return want.Of(d) })
		h := histogramOf(ScoreRisk, ds)
		got := FitThresholds(&h)
		if got.Thresholds != want {
			t.Errorf("fit %+v, want %+v", got.Thresholds, want)
		}
		if got.Agree != got.Total || got.Total != h.Total || got.Share() != 1 {
			t.Errorf("%+v reproduces %d of %d (histogram %d)", want, got.Agree, got.Total, h.Total)
		}
	}
}

// For a policy no thresholds reproduce, the agreement reported is what a
// decision-by-decision recount of the fitted thresholds gives, and no pair
// of thresholds does better.
func TestFitAgreementIsARecount(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	policies := map[string]func(d *Decision) Action{
		"a band": func(d *Decision) Action { // denies 40-60, challenges above
			switch {
			case d.Risk >= 40 && d.Risk < 60:
				return ActionDeny
			case d.Risk >= 60:
				return ActionChallenge
			}
			return ActionAllow
		},
		"another score": func(d *Decision) Action { return Thresholds{Score: ScoreBot, Challenge: 50, Deny: 80}.Of(d) },
		"noise": func(d *Decision) Action { // thresholds 50/80, 10% flipped at random
			a := Thresholds{Score: ScoreRisk, Challenge: 50, Deny: 80}.Of(d)
			if r.IntN(10) == 0 {
				a = Actions[r.IntN(3)]
			}
			return a
		},
	}
	for name, act := range policies {
		ds := scored(r, 400, act)
		h := histogramOf(ScoreRisk, ds)
		fit := FitThresholds(&h)
		agree, total := recount(fit.Thresholds, ds)
		if fit.Agree != agree || fit.Total != total {
			t.Errorf("%s: fit %+v says %d of %d, recount %d of %d", name, fit.Thresholds, fit.Agree, fit.Total, agree, total)
		}
		for c := 0; c <= 100; c++ {
			for d := 0; d <= 100; d++ {
				th := Thresholds{Score: ScoreRisk, Challenge: float64(c), Deny: float64(d)}
				if a, _ := recount(th, ds); a > fit.Agree {
					t.Fatalf("%s: %+v reproduces %d, more than the fit's %d", name, th, a, fit.Agree)
				}
			}
		}
	}
}

func TestFitOfNothing(t *testing.T) {
	h := Histogram{Score: ScoreATO}
	f := FitThresholds(&h)
	if f.Total != 0 || f.Share() != 0 || f.Thresholds.Score != ScoreATO {
		t.Errorf("fit of an empty histogram: %+v", f)
	}
}
