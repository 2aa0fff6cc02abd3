package decision

import (
	"testing"
	"time"
)

func TestUserSortCompare(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	u := func(id string, risk float64, denies uint64, last time.Duration) *UserSummary {
		return &UserSummary{UserID: id, MaxRisk: risk, Denies: denies, LastSeen: t0.Add(last)}
	}
	cases := []struct {
		name string
		by   UserSort
		a, b *UserSummary
		want int
	}{
		{"last seen: newer first", SortLastSeen, u("b", 0, 0, 2), u("a", 99, 9, 1), -1},
		{"last seen: tie by user ID", SortLastSeen, u("a", 0, 0, 1), u("b", 0, 0, 1), -1},
		{"max risk: higher first", SortMaxRisk, u("a", 80, 0, 1), u("b", 70, 9, 5), -1},
		{"max risk: tie by newer", SortMaxRisk, u("a", 80, 0, 1), u("b", 80, 0, 5), 1},
		{"denies: more first", SortDenies, u("z", 0, 3, 0), u("a", 99, 2, 9), -1},
		{"denies: tie, then user ID", SortDenies, u("b", 0, 3, 1), u("a", 0, 3, 1), 1},
		{"equal", SortDenies, u("a", 1, 1, 1), u("a", 1, 1, 1), 0},
	}
	for _, c := range cases {
		if got := c.by.Compare(c.a, c.b); got != c.want {
			t.Errorf("%s: Compare = %d, want %d", c.name, got, c.want)
		}
		if got := c.by.Compare(c.b, c.a); got != -c.want {
			t.Errorf("%s: reversed Compare = %d, want %d", c.name, got, -c.want)
		}
	}
}
