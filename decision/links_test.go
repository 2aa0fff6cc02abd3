package decision

import (
	"strings"
	"testing"
	"time"
)

func TestLinkWindowText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"30d", 30 * 24 * time.Hour, "30d"},
		{"12h", 12 * time.Hour, "12h0m0s"},
		{"1d12h", 36 * time.Hour, "36h0m0s"},
		{"2d", 48 * time.Hour, "2d"},
	} {
		var w LinkWindow
		if err := w.UnmarshalText([]byte(c.in)); err != nil || time.Duration(w) != c.want {
			t.Errorf("%q: %v, %v", c.in, time.Duration(w), err)
		}
		if b, _ := w.MarshalText(); string(b) != c.out {
			t.Errorf("%q written as %q, want %q", c.in, b, c.out)
		}
	}
	if b, _ := LinkWindow(0).MarshalText(); string(b) != "30d" {
		t.Errorf("the zero window is written %q, want the default", b)
	}
	for _, bad := range []string{"", "-3d", "0", "soon", "1e400d", "3d-1h"} {
		var w LinkWindow
		if err := w.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted as %v", bad, time.Duration(w))
		}
	}
}

func TestLinkValuesRoundTrip(t *testing.T) {
	vs := []LinkValue{{LinkIP, "203.0.113.7"}, {LinkIP24, "2001:db8::/48"}, {LinkEmailDomain, "a,b%c:d.example"}, {LinkUA, "ua-0123"}}
	s := FormatLinkValues(vs)
	got, err := ParseLinkValues(s)
	if err != nil || len(got) != len(vs) {
		t.Fatalf("%q: %v, %v", s, got, err)
	}
	for i := range vs {
		if got[i] != vs[i] {
			t.Errorf("%d: %+v, want %+v", i, got[i], vs[i])
		}
	}
	for _, bad := range []string{"ip", "mac:1", "ip:", "ip:%zz", ",", "ip:1,,ua:2"} {
		if _, err := ParseLinkValues(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseLinkValues(f *testing.F) {
	for _, s := range []string{"", "ip:1.2.3.4,ua:ua-1", "email_domain:x%2Cy", "ip24:10.0.0.0%2F24", "ip:%", "::,:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParseLinkValues(s)
		if err != nil {
			return
		}
		again, err := ParseLinkValues(FormatLinkValues(vs))
		if err != nil || len(again) != len(vs) {
			t.Fatalf("%q read back as %v, %v", s, again, err)
		}
		for i := range vs {
			if again[i] != vs[i] {
				t.Fatalf("%q: %+v then %+v", s, vs[i], again[i])
			}
		}
	})
}

func FuzzLinkWindow(f *testing.F) {
	for _, s := range []string{"30d", "1.5d", "1d12h", "90s", "-1d", "d", "9999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var w LinkWindow
		if err := w.UnmarshalText([]byte(s)); err != nil {
			return
		}
		if w <= 0 {
			t.Fatalf("%q read as %v", s, time.Duration(w))
		}
		b, _ := w.MarshalText()
		var again LinkWindow
		if err := again.UnmarshalText(b); err != nil || again != w {
			t.Fatalf("%q written %q, read back %v, %v", s, b, time.Duration(again), err)
		}
	})
}

// A depth-2 answer as a tree: each linked user's own links hang under its
// first row, with the lines that join them.
func TestLinksTree(t *testing.T) {
	ls := Links{User: "u", Links: []Link{
		{Kind: LinkIP, Value: "1.1.1.1", Count: 2, Users: []LinkedUser{{UserID: "a", Events: 1}, {UserID: "b", Events: 2, Denies: 1}}},
		{Kind: LinkUA, Value: "ua-1", Supernode: true, Count: 70, Users: []LinkedUser{}},
		{Kind: LinkIP, Value: "2.2.2.2", Count: 1, Users: []LinkedUser{{UserID: "c", Events: 3, MaxRisk: 99}}, Via: "a"},
	}}
	var b strings.Builder
	for _, r := range ls.Tree() {
		b.WriteString(r.Prefix + r.Text(&ls) + "\n")
	}
	want := `u
├─ ip 1.1.1.1  2 users
│  ├─ a  1 event  max risk 0  0 denies
│  │  └─ ip 2.2.2.2  1 user
│  │     └─ c  3 events  max risk 99  0 denies
│  └─ b  2 events  max risk 0  1 deny
└─ ua ua-1  supernode: 70 users, not listed
`
	if b.String() != want {
		t.Errorf("tree:\n%s\nwant:\n%s", b.String(), want)
	}
	if s := ls.SharedBy(LinkIP); s != (Shared{Users: 2, Denied: 1}) {
		t.Errorf("shared by IP: %+v", s)
	}
	if s := ls.SharedBy(LinkUA); s != (Shared{Users: 70, Supernode: true}) {
		t.Errorf("shared by device: %+v", s)
	}
}
