package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/explain"
)

func TestPlanExplain(t *testing.T) {
	until := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, err := PlanExplain(ExplainCountsQuery{Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if p.Window != (explain.Period{From: until.Add(-10 * time.Minute), To: until}) ||
		p.Baseline != (explain.Period{From: until.Add(-70 * time.Minute), To: until.Add(-10 * time.Minute)}) ||
		len(p.Periods) != 1 || p.SeriesFrom != until.Add(-time.Hour) || p.SeriesTo != until {
		t.Errorf("defaults: %+v", p)
	}
	p, err = PlanExplain(ExplainCountsQuery{Until: until, Window: "30m", Baseline: "7d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Periods) != 7 || p.Baseline.Duration() != 7*30*time.Minute ||
		p.Periods[0] != (explain.Period{From: until.Add(-7*24*time.Hour - 30*time.Minute), To: until.Add(-7 * 24 * time.Hour)}) ||
		p.Periods[6].To != until.Add(-24*time.Hour) || p.Baseline.From != p.Periods[0].From || p.Baseline.To != p.Periods[6].To {
		t.Errorf("7d: %+v", p)
	}
	for _, m := range []explain.Mode{explain.ModeDeny, explain.ModeLabel} {
		p, err = PlanExplain(ExplainCountsQuery{Until: until, Mode: m})
		if err != nil || p.Baseline != p.Window || len(p.Periods) != 0 {
			t.Errorf("%v: %+v, %v", m, p, err)
		}
	}
	for _, q := range []ExplainCountsQuery{
		{},
		{Until: until, Window: "0s"},
		{Until: until, Window: "1y"},
		{Until: until, Baseline: "-1h"},
		{Until: until, Baseline: "29d"},
		{Until: until, Baseline: "d"},
		{Until: until, Window: "25h", Baseline: "1d"},
		{Until: until, Mode: 9},
		{Until: until, Series: Drivers{{}, {}}},
	} {
		if _, err := PlanExplain(q); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", q, err)
		}
	}
}

func TestParseUntil(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.FixedZone("x", 3600))
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", now.UTC()},
		{"5m", now.Add(-5 * time.Minute).UTC()},
		{"1d", now.Add(-24 * time.Hour).UTC()},
		{"2026-01-01T00:00:00+01:00", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)},
	} {
		if got, err := ParseUntil(c.in, now); err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := ParseUntil("soon", now); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "neither a duration ago") {
		t.Errorf("soon: %v", err)
	}
}

// FuzzPlanExplain: whatever the parameters, planning either fails with
// ErrInvalid or gives periods that end where they should, the window
// after its baseline.
func FuzzPlanExplain(f *testing.F) {
	for _, s := range [][3]string{{"10m", "1h", ""}, {"1d", "7d", "5m"}, {"90s", "28d", "2026-03-02T12:00:00Z"}, {"", "", "x"}, {"1h", "0d", "-5m"}} {
		f.Add(s[0], s[1], s[2])
	}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, window, baseline, until string) {
		u, err := ParseUntil(until, now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("until %q: %v", until, err)
			}
			return
		}
		p, err := PlanExplain(ExplainCountsQuery{Window: window, Baseline: baseline, Until: u})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q %q: %v", window, baseline, err)
			}
			return
		}
		if p.Window.Duration() <= 0 || p.Baseline.Duration() <= 0 || !p.Window.To.Equal(u) || p.Baseline.To.After(p.Window.From) && len(p.Periods) == 1 {
			t.Fatalf("%q %q: %+v", window, baseline, p)
		}
		for _, per := range p.Periods {
			if !per.To.After(per.From) || per.To.After(p.Window.From) {
				t.Fatalf("%q %q: period %+v overlaps the window %+v", window, baseline, per, p.Window)
			}
		}
	})
}

// FuzzValuesText: the lists of a counts query read back what they wrote,
// and hostile text is an error, never a panic.
func FuzzValuesText(f *testing.F) {
	f.Add(`[{"dimension":"ip24","value":"203.0.113.0/24"}]`)
	f.Add(`[[{"dimension":"signal","value":"x"}]]`)
	f.Add(`[{"dimension":"nope","value":""}]`)
	f.Fuzz(func(t *testing.T, s string) {
		var v Values
		if err := v.UnmarshalText([]byte(s)); err == nil {
			b, err := v.MarshalText()
			var back Values
			if err != nil || back.UnmarshalText(b) != nil || len(back) != len(v) {
				t.Fatalf("%q: %v round trips to %q (%v)", s, v, b, err)
			}
		}
		var d Drivers
		_ = d.UnmarshalText([]byte(s))
	})
}
