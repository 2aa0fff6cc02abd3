package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

var saveTH = Thresholds{Score: "ato", Challenge: 45, Deny: 72.5}

// A file with comments everywhere, other tables before and after, a
// multi-line string and a multi-line array that contain "[thresholds]",
// and the table with its keys out of order and commented.
const commented = `# riskwatch configuration
# [thresholds] in a comment is not a header

[safee]
base_url = "https://api.safe-e.com/api/v1" # production
timeout = "2s"

[store]
path = "/var/lib/riskwatch/riskwatch.db"
note = """
[thresholds]
deny = 1
"""
tags = [
  [1, 2],
  ["[thresholds]", 'x'],
]

[thresholds]
# what-if lines
deny = 80.0     # block at 80
score = "risk"
challenge=50 # step up

  # trailing comment of the table

[[file]]
path = "/var/log/app.ndjson"

[ui]
theme = "dark"
`

// commentedWant is commented with only the three value lines edited, each
// keeping its place, spacing and comment.
var commentedWant = strings.NewReplacer(
	"deny = 80.0     # block at 80\n", "deny = 72.5     # block at 80\n",
	"score = \"risk\"\n", "score = \"ato\"\n",
	"challenge=50 # step up\n", "challenge = 45.0 # step up\n",
).Replace(commented)

func TestUpdateThresholds(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"comments and other tables kept", commented, commentedWant},
		{
			"missing keys added after the last one",
			"[thresholds]\n# only deny\ndeny = 90.0\n\n[ui]\ntheme = \"auto\"\n",
			"[thresholds]\n# only deny\ndeny = 72.5\nscore = \"ato\"\nchallenge = 45.0\n\n[ui]\ntheme = \"auto\"\n",
		},
		{
			"empty table",
			"[thresholds]\n[ui]\ntheme = \"auto\"\n",
			"[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5\n[ui]\ntheme = \"auto\"\n",
		},
		{
			"table appended to a file without it",
			"[ui]\ntheme = \"auto\" # keep\n",
			"[ui]\ntheme = \"auto\" # keep\n\n[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5\n",
		},
		{
			"appended to a file without a final newline",
			"[ui]\ntheme = \"auto\"",
			"[ui]\ntheme = \"auto\"\n\n[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5\n",
		},
		{
			"empty file",
			"",
			"[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5\n",
		},
		{
			"CRLF line ends kept",
			"[thresholds]\r\nscore = \"risk\"\r\nchallenge = 50.0\r\ndeny = 80.0\r\n",
			"[thresholds]\r\nscore = \"ato\"\r\nchallenge = 45.0\r\ndeny = 72.5\r\n",
		},
		{
			"mixed line ends kept, added lines end like the first",
			"[ui]\r\ntheme = \"a\"\n[thresholds]\r\ndeny = 1.0\n",
			"[ui]\r\ntheme = \"a\"\n[thresholds]\r\ndeny = 72.5\nscore = \"ato\"\r\nchallenge = 45.0\r\n",
		},
		{
			"no final newline, last line edited",
			"[thresholds]\nscore = \"risk\"\nchallenge = 1.0\ndeny = 2.0",
			"[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5",
		},
		{
			"keys and table match without regard to case, as Load reads them",
			"[Thresholds]\nDeny = 1.0\nSCORE = \"risk\"\n",
			"[Thresholds]\nDeny = 72.5\nSCORE = \"ato\"\nchallenge = 45.0\n",
		},
		{
			"quoted keys, spaced header, comment right after the value",
			"[ thresholds ] # lines\n\"score\" = 'risk'\n'challenge' = 50\ndeny=80#hard\n",
			"[ thresholds ] # lines\n\"score\" = \"ato\"\n'challenge' = 45.0\ndeny = 72.5 #hard\n",
		},
		{
			"a value with a hash inside a string",
			"[thresholds]\nscore = \"r#sk\" # c\nchallenge = 1.0\ndeny = 2.0\n",
			"[thresholds]\nscore = \"ato\" # c\nchallenge = 45.0\ndeny = 72.5\n",
		},
		{
			"subtable and look-alike tables untouched",
			"[thresholds_old]\ndeny = 1\n[x.thresholds]\ndeny = 2\n",
			"[thresholds_old]\ndeny = 1\n[x.thresholds]\ndeny = 2\n\n[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := updateThresholds([]byte(tc.in), saveTH)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, tc.want)
			}
			again, err := updateThresholds(got, saveTH)
			if err != nil || string(again) != string(got) {
				t.Fatalf("saving twice changed the file: %q, %v", again, err)
			}
		})
	}
}

func TestUpdateThresholdsRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"dotted keys at the top level", "thresholds.deny = 80.0\n[ui]\n", "dotted keys"},
		{"inline table", "thresholds = { score = \"risk\", challenge = 50.0, deny = 80.0 }\n", "inline table"},
		{"array of tables", "[[thresholds]]\ndeny = 1.0\n", "array of tables"},
		{"multi-line value", "[thresholds]\nscore = \"\"\"\nrisk\"\"\"\n", "spans lines"},
		{"table twice", "[thresholds]\ndeny = 1.0\n[thresholds]\nscore = \"risk\"\n", "does not parse"},
		{"key twice", "[thresholds]\ndeny = 1.0\ndeny = 2.0\n", "does not parse"},
		{"not TOML", "[ui]\ntheme = = 3\n", "does not parse"},
		{"not a header", "[safee\nbase_url = 1\n", "does not parse"},
		{"unterminated string", "[ui]\nx = \"\"\"\nnever closed\n", "does not parse"},
		{"bare carriage return", "\r", "does not parse"},
		{"not UTF-8", "[ui]\ntheme = \"\xff\"\n", "not UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := updateThresholds([]byte(tc.in), saveTH)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSaveThresholdsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(commented), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := SaveThresholds(path, saveTH); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != commentedWant {
		t.Fatalf("file now:\n%s", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the original 0640", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestSaveThresholdsCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskwatch", "sub", "config.toml")
	if err := SaveThresholds(path, saveTH); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "[thresholds]\nscore = \"ato\"\nchallenge = 45.0\ndeny = 72.5\n"
	if string(got) != want {
		t.Fatalf("new file:\n%q\nwant %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}
	cfg, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Thresholds != saveTH {
		t.Errorf("loaded %+v, want %+v", cfg.Thresholds, saveTH)
	}
}

func TestSaveThresholdsFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.toml")
	link := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(real, []byte("[ui]\ntheme = \"dark\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := SaveThresholds(link, saveTH); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	got, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "deny = 72.5") || !strings.HasPrefix(string(got), "[ui]\ntheme = \"dark\"\n") {
		t.Fatalf("target now:\n%s", got)
	}
}

func TestSaveThresholdsLeavesBadFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	body := "thresholds.deny = 80.0 # mine\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	err := SaveThresholds(path, saveTH)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	got, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if string(got) != body {
		t.Errorf("file changed to %q", got)
	}
}

func TestSaveThresholdsValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	for _, th := range []Thresholds{
		{Score: "fraud", Challenge: 1, Deny: 2},
		{Score: "risk", Challenge: 60, Deny: 50},
		{Score: "risk", Challenge: -1, Deny: 50},
		{Score: "risk", Challenge: 1, Deny: 101},
		{Score: "risk", Challenge: 1, Deny: nan()},
	} {
		if err := SaveThresholds(path, th); err == nil {
			t.Errorf("SaveThresholds(%+v) saved", th)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was written: %v", err)
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestSavedExampleConfigStillLoads(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, example, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SaveThresholds(path, saveTH); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Thresholds != saveTH {
		t.Errorf("thresholds %+v, want %+v", cfg.Thresholds, saveTH)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Only the three value lines differ.
	a, b := strings.Split(string(example), "\n"), strings.Split(string(got), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count %d -> %d", len(a), len(b))
	}
	changed := 0
	for i := range a {
		if a[i] != b[i] {
			changed++
		}
	}
	if changed != 3 {
		t.Errorf("%d lines changed, want 3", changed)
	}
}

// FuzzUpdateThresholds: whatever the file, an edit either fails or yields
// TOML whose thresholds are the ones saved and whose other content is
// unchanged.
func FuzzUpdateThresholds(f *testing.F) {
	for _, s := range []string{
		commented, "", "\n", "[ui]\ntheme = \"auto\"", "[thresholds]\r\ndeny = 1.0\r\n",
		"a = [\n[1],\n]\n[thresholds]\nscore='risk'\n", "x = '''\n[thresholds]\n'''\n",
		"[thresholds]\nscore = \"risk\" # \"quoted\" # twice\n", "[a]\n[a.thresholds]\nb=1\n",
		"thresholds = 1\n", "[[thresholds]]\n", "k = \"\"\"a\\\"\"\"\"\n[thresholds]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		// BurntSushi/toml takes superlinear time on deeply nested inline
		// tables ("a={a={..." of 3 KB takes a second); keep inputs small
		// enough that the fuzzer explores the editing instead.
		if len(src) > 512 {
			return
		}
		out, err := updateThresholds([]byte(src), saveTH)
		if err != nil {
			return
		}
		var got map[string]any
		if _, err := toml.Decode(string(out), &got); err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		var th struct {
			Thresholds Thresholds `toml:"thresholds"`
		}
		if _, err := toml.Decode(string(out), &th); err != nil || th.Thresholds != saveTH {
			t.Fatalf("thresholds %+v (%v) in %q", th.Thresholds, err, out)
		}
		var before map[string]any
		if _, err := toml.Decode(src, &before); err != nil {
			t.Fatalf("edited a file that does not parse: %v\n%q", err, src)
		}
		for _, m := range []map[string]any{before, got} {
			for k := range m {
				if strings.EqualFold(k, "thresholds") {
					delete(m, k)
				}
			}
		}
		if !reflect.DeepEqual(before, got) {
			t.Fatalf("other content changed:\n%q\n->\n%q", src, out)
		}
	})
}
