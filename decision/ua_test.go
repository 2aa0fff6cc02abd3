package decision

import (
	"strings"
	"testing"
)

func TestClassifyUA(t *testing.T) {
	tests := []struct {
		ua   string
		want Device
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Device{"Chrome", "Windows"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Device{"Chrome", "macOS"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			Device{"Chrome", "Android"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
			Device{"Chrome", "iOS"}},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Device{"Chrome", "ChromeOS"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
			Device{"Edge", "Windows"}},
		{"Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36 EdgA/131.0",
			Device{"Edge", "Android"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0", Device{"Firefox", "macOS"}},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", Device{"Firefox", "Linux"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
			Device{"Firefox", "iOS"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			Device{"Safari", "iOS"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
			Device{"Safari", "macOS"}},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
			Device{"Headless Chrome", "Linux"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
			Device{"other", "Windows"}},
		{"curl/8.5.0", Device{"curl", ""}},
		{"python-requests/2.31.0", Device{"python-requests", ""}},
		{"Go-http-client/2.0", Device{"Go-http-client", ""}},
		{"Googlebot/2.1 (+http://www.google.com/bot.html)", Device{"other", ""}},
		{"Mozilla/5.0 (compatible; MSIE 10.0; Microsoft Windows)", Device{"other", "Windows"}},
		{"  ", Device{}},
		{"", Device{}},
	}
	for _, tc := range tests {
		if got := ClassifyUA(tc.ua); got != tc.want {
			t.Errorf("ClassifyUA(%.60q) = %+v, want %+v", tc.ua, got, tc.want)
		}
	}
	if got := ClassifyUA("curl/8.5.0").String(); got != "curl" {
		t.Errorf("String = %q", got)
	}
	if got := ClassifyUA(tests[0].ua).String(); got != "Chrome/Windows" {
		t.Errorf("String = %q", got)
	}
	if got := (Device{}).String(); got != "-" {
		t.Errorf("unknown device String = %q", got)
	}
}

var families = map[string]bool{"Chrome": true, "Firefox": true, "Safari": true, "Edge": true, "curl": true,
	"python-requests": true, "Headless Chrome": true, "Go-http-client": true, "other": true}

var systems = map[string]bool{"": true, "Windows": true, "macOS": true, "iOS": true, "Android": true, "ChromeOS": true, "Linux": true}

// FuzzClassifyUA: any input gives a known family and OS, and the same
// answer twice.
func FuzzClassifyUA(f *testing.F) {
	for _, s := range []string{"curl/8.5.0", "HeadlessChrome Edg/ curl/", "\x00\xff", strings.Repeat("Chrome/", 200), "Windows Android iPhone"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := ClassifyUA(ua)
		if strings.TrimSpace(ua) == "" {
			if d != (Device{}) {
				t.Fatalf("empty UA gave %+v", d)
			}
			return
		}
		if !families[d.Family] || !systems[d.OS] {
			t.Fatalf("ClassifyUA(%q) = %+v", ua, d)
		}
		if ClassifyUA(ua) != d {
			t.Fatal("not deterministic")
		}
	})
}
