package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsWithoutFile(t *testing.T) {
	home := t.TempDir()
	cfg, err := Load("", env(map[string]string{"HOME": home}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != "" {
		t.Errorf("Path = %q, want none", cfg.Path)
	}
	if want := filepath.Join(home, ".local/share/riskwatch/riskwatch.db"); cfg.Store.Path != want {
		t.Errorf("store path = %q, want %q", cfg.Store.Path, want)
	}
	if cfg.Safee.BaseURL != "https://api.safe-e.com/api/v1" || cfg.Safee.Timeout.D() != 2*time.Second || cfg.Ingest.Listen != "127.0.0.1:7676" || cfg.Ingest.MaxBody != 4<<20 {
		t.Errorf("defaults wrong: %+v", cfg)
	}
}

func TestXDGPaths(t *testing.T) {
	e := env(map[string]string{"HOME": "/home/x", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "relative/ignored"})
	if got := DefaultConfigPath(e); got != "/cfg/riskwatch/config.toml" {
		t.Errorf("config path %q", got)
	}
	if got := DefaultDBPath(e); got != "/home/x/.local/share/riskwatch/riskwatch.db" {
		t.Errorf("db path %q (a relative XDG_DATA_HOME must be ignored, as the spec says)", got)
	}
}

func TestPrecedenceFileThenEnv(t *testing.T) {
	p := writeFile(t, `
[safee]
api_key = "from-file"
timeout = "750ms"
concurrency = 4
[ingest]
token = "file-token"
max_body = "1MiB"
[[file]]
path = "/var/log/a.ndjson"
[[file]]
path = "/var/log/b.ndjson"
from_start = true
[store]
retention = "30d"
`)
	cfg, err := Load(p, env(map[string]string{"HOME": t.TempDir(), EnvAPIKey: "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Safee.APIKey.Value() != "from-env" {
		t.Errorf("env key must win over the file")
	}
	if cfg.Ingest.Token.Value() != "file-token" {
		t.Errorf("file token lost")
	}
	if cfg.Safee.Timeout.D() != 750*time.Millisecond || cfg.Safee.Concurrency != 4 || cfg.Ingest.MaxBody != 1<<20 {
		t.Errorf("file values not applied: %+v", cfg.Safee)
	}
	if cfg.Store.Retention.D() != 30*24*time.Hour {
		t.Errorf("retention = %v", cfg.Store.Retention)
	}
	if len(cfg.Files) != 2 || !cfg.Files[1].FromStart || cfg.Files[0].FromStart {
		t.Errorf("files = %+v", cfg.Files)
	}
}

func TestKafkaTables(t *testing.T) {
	p := writeFile(t, `
[[kafka]]
brokers = ["k1:9092", "k2:9092"]
topic = "safee-events"
group = "riskwatch-eu"
instance_id = "collector-1"
session_timeout = "20s"
tls = true
tls_ca = "/etc/kafka/ca.pem"
sasl_mechanism = "scram-sha-512"
sasl_user = "riskwatch"
sasl_password = "kafka-SECRET"
`)
	cfg, err := Load(p, env(map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	want := Kafka{Brokers: []string{"k1:9092", "k2:9092"}, Topic: "safee-events", Group: "riskwatch-eu",
		InstanceID: "collector-1", SessionTimeout: Duration(20 * time.Second), TLS: true, TLSCA: "/etc/kafka/ca.pem",
		SASLMechanism: "scram-sha-512", SASLUser: "riskwatch", SASLPassword: "kafka-SECRET"}
	if len(cfg.Kafka) != 1 || !reflect.DeepEqual(cfg.Kafka[0], want) {
		t.Errorf("kafka = %+v, want %+v", cfg.Kafka, want)
	}
	if s := fmt.Sprintf("%v %+v", cfg, cfg); strings.Contains(s, "SECRET") {
		t.Error("the SASL password is printed with the config")
	}
}

func TestConfigFromEnvVariable(t *testing.T) {
	p := writeFile(t, "[ui]\ntheme = \"light\"\n")
	cfg, err := Load("", env(map[string]string{"HOME": t.TempDir(), EnvConfig: p}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UI.Theme != "light" || cfg.Path != p {
		t.Errorf("RISKWATCH_CONFIG not read: %+v", cfg)
	}
}

func TestExplicitMissingFileIsAnError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}

func TestBadInputNamesFileKeyAndExpectation(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "[safee]\napi_kye = \"x\"\n", []string{"unknown key safee.api_kye"}},
		{"unknown table", "[safe]\nx = 1\n", []string{"unknown key safe.x"}},
		{"non-ascii key", "[sàfee]\nx = 1\n", []string{"line 1", "table name"}},
		{"bare number duration", "[safee]\ntimeout = 2\n", []string{"line 2", "safee.timeout", "no unit"}},
		{"bad duration", "[safee]\ntimeout = \"soon\"\n", []string{"safee.timeout", `"soon"`}},
		{"wrong type", "[safee]\nconcurrency = \"many\"\n", []string{"safee.concurrency", "incompatible types"}},
		{"zero concurrency", "[safee]\nconcurrency = 0\n", []string{"safee.concurrency", "from 1 to 1024"}},
		{"negative rate", "[safee]\nrate_limit = -1.0\n", []string{"safee.rate_limit"}},
		{"route without event", "[safee]\nrisk_route = \"/risk\"\n", []string{"safee.risk_route", "{event}"}},
		{"bad url", "[safee]\nbase_url = \"ftp://x\"\n", []string{"safee.base_url"}},
		{"bad listen", "[ingest]\nlisten = \"7676\"\n", []string{"ingest.listen", "HOST:PORT"}},
		{"bad size", "[ingest]\nmax_body = \"lots\"\n", []string{"ingest.max_body"}},
		{"negative size", "[ingest]\nmax_body = -5\n", []string{"ingest.max_body"}},
		{"inverted thresholds", "[thresholds]\nchallenge = 90.0\ndeny = 10.0\n", []string{"thresholds", "must not be above"}},
		{"threshold range", "[thresholds]\ndeny = 101.0\n", []string{"thresholds.deny", "0 to 100"}},
		{"bad score", "[thresholds]\nscore = \"fraud\"\n", []string{"thresholds.score"}},
		{"bad theme", "[ui]\ntheme = \"pink\"\n", []string{"ui.theme", "auto, dark or light"}},
		{"empty file path", "[[file]]\nfrom_start = true\n", []string{"file[0].path"}},
		{"not toml", "this is not toml", []string{"line 1"}},
		{"kafka without brokers", "[[kafka]]\ntopic = \"t\"\ngroup = \"g\"\n", []string{"kafka[0].brokers", "HOST:PORT"}},
		{"kafka bad broker", "[[kafka]]\nbrokers = [\"k1\"]\ntopic = \"t\"\ngroup = \"g\"\n", []string{"kafka[0].brokers", `"k1"`}},
		{"kafka without topic and group", "[[kafka]]\nbrokers = [\"k1:9092\"]\n", []string{"kafka[0].topic", "kafka[0].group"}},
		{"kafka same topic twice", "[[kafka]]\nbrokers = [\"k:1\"]\ntopic = \"t\"\ngroup = \"g\"\n[[kafka]]\nbrokers = [\"k:1\"]\ntopic = \"t\"\ngroup = \"h\"\n", []string{"kafka[1].topic", "earlier"}},
		{"kafka bad sasl", "[[kafka]]\nbrokers = [\"k:1\"]\ntopic = \"t\"\ngroup = \"g\"\nsasl_mechanism = \"gssapi\"\n", []string{"kafka[0].sasl_mechanism", "scram-sha-512"}},
		{"kafka sasl without password", "[[kafka]]\nbrokers = [\"k:1\"]\ntopic = \"t\"\ngroup = \"g\"\nsasl_mechanism = \"plain\"\nsasl_user = \"u\"\n", []string{"kafka[0].sasl_user", "sasl_password"}},
		{"kafka cert without key", "[[kafka]]\nbrokers = [\"k:1\"]\ntopic = \"t\"\ngroup = \"g\"\ntls = true\ntls_cert = \"c.pem\"\n", []string{"kafka[0].tls_cert", "tls_key"}},
		{"kafka ca without tls", "[[kafka]]\nbrokers = [\"k:1\"]\ntopic = \"t\"\ngroup = \"g\"\ntls_ca = \"ca.pem\"\n", []string{"kafka[0].tls", "tls = true"}},
		{"zero live entries", "[policy]\nmax_live_entries = 0\n", []string{"policy.max_live_entries", "positive", "got 0"}},
		{"negative live entries", "[policy]\nmax_live_entries = -1\n", []string{"policy.max_live_entries", "positive", "got -1"}},
		{"live entries as text", "[policy]\nmax_live_entries = \"4M\"\n", []string{"policy.max_live_entries", "incompatible types"}},
		{"live entries as float", "[policy]\nmax_live_entries = 4e6\n", []string{"policy.max_live_entries"}},
		{"live entries overflow", "[policy]\nmax_live_entries = 99999999999999999999\n", []string{"line 2", "policy.max_live_entries", "out of range"}},
		{"several errors", "[safee]\nconcurrency = 0\n[ui]\ntheme = \"x\"\n", []string{"safee.concurrency", "ui.theme"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, c.body)
			_, err := Load(p, env(map[string]string{"HOME": t.TempDir()}))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range append(c.want, p) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const key, token = "sk_live_SECRET_abc123", "tok_SECRET_xyz"
	p := writeFile(t, fmt.Sprintf("[safee]\napi_key = %q\n[ingest]\ntoken = %q\n", key, token))
	cfg, err := Load(p, env(map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, cfg) + fmt.Sprintf(verb, cfg.Safee.APIKey) + fmt.Sprintf(verb, &cfg)
		if strings.Contains(out, "SECRET") || strings.Contains(out, fmt.Sprintf("%x", key)) {
			t.Errorf("%s leaks a secret: %s", verb, out)
		}
	}
	if cfg.Safee.APIKey.String() != "[set]" || Secret("").String() != "[unset]" {
		t.Error("secret placeholder wrong")
	}
	bad := writeFile(t, fmt.Sprintf("[safee]\napi_key = %q\nconcurrency = -1\n", key))
	if _, err := Load(bad, env(nil)); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("validation error leaks the key or is missing: %v", err)
	}
}

func TestParseSizeAndDuration(t *testing.T) {
	sizes := map[string]int64{"0": 0, "1024": 1024, "4MiB": 4 << 20, "512 KiB": 512 << 10, "1GB": 1 << 30, "7B": 7}
	for in, want := range sizes {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1TiB", "99999999999GiB", "MiB", "1.5MiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	durs := map[string]time.Duration{"2s": 2 * time.Second, "7d": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute}
	for in, want := range durs {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "soon", "99999999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestExampleConfigIsValidAndComplete(t *testing.T) {
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("config.example.toml", data, env(map[string]string{"HOME": "/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	def := Default(env(map[string]string{"HOME": "/home/u"}))
	def.Path = cfg.Path
	if fmt.Sprintf("%+v", cfg.Safee) != fmt.Sprintf("%+v", def.Safee) || cfg.Ingest != def.Ingest || cfg.Thresholds != def.Thresholds || cfg.UI != def.UI || cfg.Policy != def.Policy {
		t.Errorf("config.example.toml must show the defaults:\n got %+v\nwant %+v", cfg, def)
	}
	// Every key the loader knows must be documented in the example.
	for _, key := range []string{"base_url", "api_key", "timeout", "concurrency", "rate_limit", "risk_route", "filter_route",
		"listen", "token", "max_body", "inbox_limit", "path", "retention", "from_start", "score", "challenge", "deny", "theme",
		"[[kafka]]", "brokers", "topic", "group", "instance_id", "session_timeout", "tls", "tls_ca", "tls_cert", "tls_key",
		"tls_server_name", "sasl_mechanism", "sasl_user", "sasl_password", "shadow", "max_live_entries"} {
		if !strings.Contains(string(data), key) {
			t.Errorf("config.example.toml does not document %s", key)
		}
	}
}

func TestDeepNestingIsRefusedQuickly(t *testing.T) {
	deep := "[ui]\ntheme = \"dark\"\nx = " + strings.Repeat("{a=", 20000) + "1" + strings.Repeat("}", 20000) + "\n"
	_, err := Parse("deep.toml", []byte(deep), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "nest deeper") {
		t.Fatalf("error = %v", err)
	}
	// Brackets in strings and comments are not nesting.
	ok := "[safee]\napi_key = \"" + strings.Repeat("[{", 100) + "\" # " + strings.Repeat("[", 100) + "\n" +
		"risk_route = '/risk/{event}" + strings.Repeat("[", 100) + "'\n"
	if _, err := Parse("ok.toml", []byte(ok), env(map[string]string{"HOME": "/h"})); err != nil && strings.Contains(err.Error(), "nest deeper") {
		t.Errorf("brackets in strings and comments counted: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "[safee]\ntimeout = \"1s\"\n", "[[file]]\npath = \"x\"\n", "[ingest]\nmax_body = 10\n",
		"[thresholds]\nchallenge = 1e309\n", "[safee]\nrate_limit = nan\n", "\x00\xff", "[a.b.c]\n[[a.b]]\n",
		"[ui]\ntheme = \"dark\"\n[ui]\ntheme = \"light\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data, env(map[string]string{"HOME": "/h"}))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.toml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid config: %v", err)
		}
	})
}

// TestAlertTables: [[alert]] tables become rules, and a bad one is an error
// naming the file, the alert and the key.
func TestAlertTables(t *testing.T) {
	getenv := func(string) string { return "" }
	cfg, err := Parse("rw.toml", []byte(`
[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 100
notify = ["bell"]
`), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Alerts) != 1 || cfg.Alerts[0].Name != "deny spike" || *cfg.Alerts[0].Above != 100 {
		t.Fatalf("alerts %+v", cfg.Alerts)
	}
	_, err = Parse("rw.toml", []byte("[[alert]]\nname = \"x\"\nkind = \"rate\"\nabove = 1\nfor = \"soon\"\n"), getenv)
	if err == nil || !strings.Contains(err.Error(), "config rw.toml") || !strings.Contains(err.Error(), `alert "x": for`) {
		t.Fatalf("error %v", err)
	}
}
