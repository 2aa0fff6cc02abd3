package decision

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseFilter checks that ParseFilter never panics, that its errors
// point inside the expression, and that a filter's String parses back to an
// equal filter that matches the same fixtures.
func FuzzParseFilter(f *testing.F) {
	seeds := []string{
		"", " ", "   \t\n\r\v\f", "\u00a0\u2003", "-", "--", "--risk>=1", "- risk>=1",
		"risk>=1e309", "risk>=NaN", "risk>=-0", "risk>=+5", "risk>=99999999999999999999999999999999",
		"risk>=100.0000000000000000000001", "risk>=0.0000000000000000000000001", "risk==5", "risk<>5",
		"ip:", "ip:/", "ip:::", "ip:1.2.3.4/0", "ip:::ffff:1.2.3.4/128", "ip:fe80::1%", ":::", "::/0",
		`""`, `"`, `"""`, `"\"`, `"\\"`, `"a\"b"`, `policy:"a "b" c"`, `policy:"a \"b\" c"`, `a"b"c`,
		`po"l"icy:x`, `"-"`, `-"-"`, `-""`, `\`, `\"`,
		"a\x00b", "type:\x00", "\x00", "\xff\xfe", "type:\xff", "user:\xc3", "country:ı", "email:İ",
		"日本語 ユーザー", "ǅ", "\u212a", "type:ß", "signal:ΣΑΣ",
		"since:", "since:0", "since:1d", "since:1.5d", "since:.5d", "since:9999999999999999999d",
		"since:2562047h47m16.854775807s", "since:1ns", "since:d", "since:1dd", "since:1d1d", "since:1µs",
		"type:login status:$failed action:deny user:u1 ip:10.0.0.0/8 signal:proxy_ip policy:\"high risk\" " +
			"country:DE email:@x.com source:http since:15m risk>=60 ato<5 bot>1 abuse=3 alice 10.1.",
		"-type:login -alice -ip:::1 -since:1h -risk<50",
		"foo:bar", "TYPE:LOGIN", "RISK>=5", "Account_Takeover>5",
		"shadow:deny", "shadow:DENY", "-shadow:allow", "shadow:", "shadow:error", "shadow:\x00", "rule:tor",
		`rule:"stuffing ip"`, `-rule:"stuffing ip" shadow:challenge`, "rule:", `rule:""`, "rule:\xff",
		strings.Repeat("risk>=1 ", 10000),
		strings.Repeat("-", 10000),
		strings.Repeat(`"`, 10001),
		strings.Repeat("a", 100000),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ds := filterFixtures()
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := ParseFilter(expr, filterNow)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T (%v), want *FilterError", err, err)
			}
			if fe.Term == "" || fe.Pos < 0 || fe.Pos > len(expr) || !strings.HasPrefix(expr[fe.Pos:], fe.Term) || fe.Msg == "" {
				t.Fatalf("error %+v does not point at a term of %q", fe, expr)
			}
			return
		}
		s := flt.String()
		again, err := ParseFilter(s, filterNow)
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", expr, s, err)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String() is not stable: %q -> %q -> %q", expr, s, s2)
		}
		if !reflect.DeepEqual(flt, again) {
			t.Fatalf("%q re-parsed from %q differs:\n%+v\n%+v", s, expr, again, flt)
		}
		for i := range ds {
			if flt.Match(&ds[i]) != again.Match(&ds[i]) {
				t.Fatalf("%q and its String %q disagree on fixture %s", expr, s, ds[i].ID)
			}
		}
		if !flt.Since().Equal(again.Since()) || flt.UserID() != again.UserID() || flt.Empty() != again.Empty() {
			t.Fatalf("%q and its String %q disagree on Since, UserID or Empty", expr, s)
		}
	})
}
