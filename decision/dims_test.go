package decision

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIP24(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":        "203.0.113.0/24",
		"::ffff:203.0.113.77": "203.0.113.0/24",
		"2001:db8:1:2::5":     "2001:db8:1::/48",
		"fe80::1%eth0":        "fe80::/48",
		"":                    "",
		"not-an-ip":           "",
		"10.1":                "",
	} {
		if got := IP24(in); got != want {
			t.Errorf("IP24(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmailDomain(t *testing.T) {
	for in, want := range map[string]string{
		"a@Example.COM":        "example.com",
		`"a@b"@mailinator.com`: "mailinator.com",
		"nobody":               "",
		"trailing@":            "",
		"":                     "",
	} {
		if got := EmailDomain(in); got != want {
			t.Errorf("EmailDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeviceKey(t *testing.T) {
	a, b := DeviceKey("curl/8.5.0"), DeviceKey(" curl/8.5.0 ")
	if a == "" || a != b || DeviceKey("curl/8.6.0") == a || DeviceKey("  ") != "" {
		t.Errorf("DeviceKey: %q %q %q %q", a, b, DeviceKey("curl/8.6.0"), DeviceKey("  "))
	}
}

// Every dimension's Term, parsed as a filter, selects exactly the
// decisions that have the value, so that a driver of explain can be opened
// in Live.
func TestDimensionTermSelectsItsValue(t *testing.T) {
	ds := filterFixtures()
	ds[1].Country = "US"
	ds[2].Email = "carol@Weird Domain.example"
	for dim := range NumDimensions {
		if got, err := ParseDimension(dim.String()); err != nil || got != dim {
			t.Fatalf("ParseDimension(%q) = %v, %v", dim, got, err)
		}
		values := map[string]bool{}
		for i := range ds {
			for _, v := range dim.Values(&ds[i], nil) {
				values[v] = true
			}
		}
		if len(values) == 0 {
			t.Fatalf("%s: no fixture has a value", dim)
		}
		for v := range values {
			f, err := ParseFilter(dim.Term(v), filterNow)
			if err != nil {
				t.Errorf("%s=%q: term %q: %v", dim, v, dim.Term(v), err)
				continue
			}
			for i := range ds {
				want := slices.ContainsFunc(dim.Values(&ds[i], nil), func(x string) bool { return strings.EqualFold(x, v) })
				if got := f.Match(&ds[i]); got != want {
					t.Errorf("%s=%q: term %q on %s = %v, want %v", dim, v, dim.Term(v), ds[i].ID, got, want)
				}
			}
		}
	}
	if _, err := ParseDimension("nope"); err == nil {
		t.Error("ParseDimension(nope) succeeded")
	}
}

func TestEventTimeOf(t *testing.T) {
	arrival := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ts   time.Time
		want time.Time
		skew bool
	}{
		{time.Time{}, arrival, false},
		{arrival.Add(-11 * time.Hour), arrival.Add(-11 * time.Hour), false},
		{arrival.Add(MaxClockSkew), arrival.Add(MaxClockSkew), false},
		{arrival.Add(MaxClockSkew + time.Nanosecond), arrival, true},
		{arrival.Add(48 * time.Hour), arrival, true},
	} {
		got, skew := EventTimeOf(c.ts, arrival)
		if !got.Equal(c.want) || skew != c.skew {
			t.Errorf("EventTimeOf(%v) = %v %v, want %v %v", c.ts, got, skew, c.want, c.skew)
		}
	}
}

func TestFilterUntil(t *testing.T) {
	f := mustParse(t, "until:2h until:2025-06-01T11:00:00Z -until:1m")
	if got, want := f.Until(), filterNow.Add(-2*time.Hour); !got.Equal(want) {
		t.Errorf("Until() = %v, want the earliest positive bound %v", got, want)
	}
	if !mustParse(t, "-until:1h").Until().IsZero() {
		t.Error("a negated until: bounds nothing")
	}
}

func TestScoreText(t *testing.T) {
	for s := range NumScores {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Score
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%s: round trip %v %v", s, back, err)
		}
	}
	if _, err := NumScores.MarshalText(); err == nil {
		t.Error("an unknown score marshals")
	}
}
