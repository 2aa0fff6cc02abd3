// Package config loads riskwatch's configuration: defaults, then the TOML
// file, then the environment; the CLI applies its flags last. A loaded
// Config has been validated: every value is in range, and the error for one
// that is not names the file, the key and what was expected.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/safee"
)

// Environment variables the configuration reads.
const (
	EnvAPIKey      = "SAFEE_API_KEY"
	EnvIngestToken = "RISKWATCH_INGEST_TOKEN"
	EnvConfig      = "RISKWATCH_CONFIG"
)

// Defaults of the collector's ingest for values the file may leave out.
// This is their one definition: the collector applies the same constants to
// options left zero. The Safe-e defaults are the client's own
// (safee.DefaultBaseURL, DefaultTimeout, ...).
const (
	DefaultListen     = "127.0.0.1:7676"
	DefaultMaxBody    = 4 << 20
	DefaultInboxLimit = 100_000
	// DefaultMaxLiveEntries bounds the shadow policy's velocity in memory
	// ([policy] max_live_entries): at 60-100 bytes an entry, 250-400 MB.
	DefaultMaxLiveEntries = 4 << 20
)

// Config is the whole configuration. Secrets are of type Secret, which never
// prints its value, so a Config is safe to log with %v.
type Config struct {
	Safee      Safee      `toml:"safee"`
	Ingest     Ingest     `toml:"ingest"`
	Store      Store      `toml:"store"`
	Files      []File     `toml:"file"`
	Kafka      []Kafka    `toml:"kafka"`
	Thresholds Thresholds `toml:"thresholds"`
	UI         UI         `toml:"ui"`
	// AlertTables are the `[[alert]]` tables as decoded; Alerts the rules
	// read from them (SPEC section 13).
	AlertTables []map[string]any `toml:"alert"`
	Alerts      []alert.Rule     `toml:"-"`
	Policy      Policy           `toml:"policy"`

	// Path is the file the configuration was read from, "" when none was.
	Path string `toml:"-"`
}

// Safee configures the Safe-e client.
type Safee struct {
	BaseURL     string   `toml:"base_url"`
	APIKey      Secret   `toml:"api_key"`
	Timeout     Duration `toml:"timeout"`
	Concurrency int      `toml:"concurrency"`
	RateLimit   float64  `toml:"rate_limit"`
	RiskRoute   string   `toml:"risk_route"`
	FilterRoute string   `toml:"filter_route"`
}

// Ingest configures the collector's HTTP server.
type Ingest struct {
	Listen     string `toml:"listen"`
	Token      Secret `toml:"token"`
	MaxBody    Size   `toml:"max_body"`
	InboxLimit int    `toml:"inbox_limit"`
}

// Store configures the bbolt file.
type Store struct {
	Path      string   `toml:"path"`
	Retention Duration `toml:"retention"`
}

// File is one tailed file.
type File struct {
	Path      string `toml:"path"`
	FromStart bool   `toml:"from_start"`
}

// Kafka is one consumed topic (SPEC section 15).
type Kafka struct {
	// Brokers are the seed brokers, HOST:PORT.
	Brokers []string `toml:"brokers"`
	Topic   string   `toml:"topic"`
	Group   string   `toml:"group"`
	// InstanceID makes the collector a static member of the group (a
	// restart takes its partitions back at once); "" for a dynamic member.
	InstanceID string `toml:"instance_id"`
	// SessionTimeout is how long the group waits for a silent member (0:
	// the client's default, 45s).
	SessionTimeout Duration `toml:"session_timeout"`
	// TLS connects with TLS, verifying the brokers against TLSCA (default:
	// the system's roots) and TLSServerName (default: the broker's host);
	// TLSCert and TLSKey, together, are a client certificate.
	TLS           bool   `toml:"tls"`
	TLSCA         string `toml:"tls_ca"`
	TLSCert       string `toml:"tls_cert"`
	TLSKey        string `toml:"tls_key"`
	TLSServerName string `toml:"tls_server_name"`
	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string `toml:"sasl_mechanism"`
	SASLUser      string `toml:"sasl_user"`
	SASLPassword  Secret `toml:"sasl_password"`
}

// DefaultKafkaGroup is the consumer group of a topic named by flags alone.
const DefaultKafkaGroup = "riskwatch"

// check returns what is wrong with the i-th [[kafka]] table, each error
// naming its key.
func (k Kafka) check(i int) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka[%d].%s: %s", i, key, fmt.Sprintf(format, args...)))
	}
	if len(k.Brokers) == 0 {
		bad("brokers", "want at least one HOST:PORT, got none")
	}
	for _, b := range k.Brokers {
		if host, port, err := net.SplitHostPort(b); err != nil || host == "" || port == "" {
			bad("brokers", "want HOST:PORT such as \"kafka-1:9092\", got %q", b)
		}
	}
	if k.Topic == "" {
		bad("topic", "want a topic name, got nothing")
	}
	if k.Group == "" {
		bad("group", "want a consumer group name, got nothing")
	}
	if k.SessionTimeout < 0 {
		bad("session_timeout", "want a duration >= 0 (0 for the default), got %q", k.SessionTimeout)
	}
	if (k.TLSCert == "") != (k.TLSKey == "") {
		bad("tls_cert", "tls_cert and tls_key go together: a client certificate needs both")
	}
	if !k.TLS && (k.TLSCA != "" || k.TLSCert != "" || k.TLSServerName != "") {
		bad("tls", "tls_ca, tls_cert, tls_key and tls_server_name need tls = true")
	}
	switch k.SASLMechanism {
	case "":
		if k.SASLUser != "" || k.SASLPassword != "" {
			bad("sasl_mechanism", "sasl_user and sasl_password need a mechanism: plain, scram-sha-256 or scram-sha-512")
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if k.SASLUser == "" || k.SASLPassword == "" {
			bad("sasl_user", "SASL %s needs sasl_user and sasl_password", k.SASLMechanism)
		}
	default:
		bad("sasl_mechanism", "want plain, scram-sha-256 or scram-sha-512, got %q", k.SASLMechanism)
	}
	return errs
}

// Thresholds are the challenge and deny lines of the what-if and histograms.
type Thresholds struct {
	Score     string  `toml:"score"`
	Challenge float64 `toml:"challenge"`
	Deny      float64 `toml:"deny"`
}

// Policy configures policy files (SPEC section 12).
type Policy struct {
	// Shadow is a policy file evaluated on every new decision, its action
	// and deciding rule stored with it; "" for none. SIGHUP reloads it.
	Shadow string `toml:"shadow"`
	// MaxLiveEntries bounds the shadow's velocity in memory, in entries
	// (one per recent decision and key a velocity query groups by); past
	// it the oldest are forgotten and the windows reaching back to them
	// are answered from the store's indexes, with the same answers. It
	// must be positive.
	MaxLiveEntries int `toml:"max_live_entries"`
}

// UI configures the dashboard.
type UI struct {
	Theme string `toml:"theme"`
}

// Default returns the configuration used when nothing is set. home is the
// environment lookup used for XDG paths.
func Default(getenv func(string) string) Config {
	return Config{
		Safee: Safee{
			BaseURL:     safee.DefaultBaseURL,
			Timeout:     Duration(safee.DefaultTimeout),
			Concurrency: safee.DefaultConcurrency,
			RiskRoute:   safee.DefaultRiskRoute,
			FilterRoute: safee.DefaultFilterRoute,
		},
		Ingest: Ingest{
			Listen:     DefaultListen,
			MaxBody:    DefaultMaxBody,
			InboxLimit: DefaultInboxLimit,
		},
		Store:      Store{Path: DefaultDBPath(getenv)},
		Thresholds: Thresholds{Score: "risk", Challenge: 50, Deny: 80},
		UI:         UI{Theme: "auto"},
		Policy:     Policy{MaxLiveEntries: DefaultMaxLiveEntries},
	}
}

// DefaultConfigPath is $XDG_CONFIG_HOME/riskwatch/config.toml, falling back
// to ~/.config/riskwatch/config.toml.
func DefaultConfigPath(getenv func(string) string) string {
	return filepath.Join(xdgDir(getenv, "XDG_CONFIG_HOME", ".config"), "riskwatch", "config.toml")
}

// DefaultDBPath is $XDG_DATA_HOME/riskwatch/riskwatch.db, falling back to
// ~/.local/share/riskwatch/riskwatch.db.
func DefaultDBPath(getenv func(string) string) string {
	return filepath.Join(xdgDir(getenv, "XDG_DATA_HOME", filepath.Join(".local", "share")), "riskwatch", "riskwatch.db")
}

func xdgDir(getenv func(string) string, env, fallback string) string {
	if d := getenv(env); filepath.IsAbs(d) {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	return filepath.Join(home, fallback)
}

// Load builds the configuration from defaults, the file and the environment.
// path is the --config flag ("" when not given); then RISKWATCH_CONFIG; then
// the default path, which may be absent. A file named explicitly must exist.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default(getenv)
	explicit := true
	if path == "" {
		path = getenv(EnvConfig)
	}
	if path == "" {
		path, explicit = DefaultConfigPath(getenv), false
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decode(&cfg, path, data); err != nil {
			return Config{}, err
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
	default:
		return Config{}, fmt.Errorf("read config %s: %w", path, err)
	}
	if k := getenv(EnvAPIKey); k != "" {
		cfg.Safee.APIKey = Secret(k)
	}
	if t := getenv(EnvIngestToken); t != "" {
		cfg.Ingest.Token = Secret(t)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Parse decodes a TOML document over the defaults and validates it, without
// the environment. name is used in errors.
func Parse(name string, data []byte, getenv func(string) string) (Config, error) {
	cfg := Default(getenv)
	if err := decode(&cfg, name, data); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// decode reads a TOML document over cfg and records name as its Path.
func decode(cfg *Config, name string, data []byte) error {
	if line := tooDeep(data, maxNesting); line > 0 {
		return fmt.Errorf("config %s: line %d: arrays and inline tables nest deeper than %d levels", name, line, maxNesting)
	}
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("config %s: line %d: %s", name, pe.Position.Line, describeParseError(pe))
		}
		return fmt.Errorf("config %s: %s", name, strings.TrimPrefix(err.Error(), "toml: "))
	}
	if und := md.Undecoded(); len(und) > 0 {
		var keys []string
		for _, k := range und {
			if !hasChild(und, k.String()) {
				keys = append(keys, k.String())
			}
		}
		return fmt.Errorf("config %s: unknown key %s (see config.example.toml for the keys riskwatch reads)", name, strings.Join(keys, ", "))
	}
	if len(cfg.AlertTables) > 0 {
		rules, err := alert.ParseRules(cfg.AlertTables)
		if err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		cfg.Alerts = rules
	}
	cfg.Path = name
	return nil
}

// maxNesting bounds how deep arrays and inline tables may nest. The TOML
// decoder takes time quadratic in the depth (a 48 KB file of nested inline
// tables takes seconds), and riskwatch's own keys need two levels.
const maxNesting = 64

// tooDeep returns the line where arrays or inline tables first nest deeper
// than limit, or 0. Brackets inside strings and comments do not count.
func tooDeep(data []byte, limit int) int {
	depth, line := 0, 1
	var quote byte // the quote of the string we are in, 0 outside
	comment := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			line++
			comment = false
		case comment:
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			comment = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return line
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return 0
}

// hasChild reports whether some key lies under table key, so that an
// unknown table is reported by its keys rather than twice.
func hasChild(keys []toml.Key, key string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k.String(), key+".") {
			return true
		}
	}
	return false
}

func describeParseError(pe toml.ParseError) string {
	if pe.LastKey != "" {
		return fmt.Sprintf("key %s: %s", pe.LastKey, pe.Message)
	}
	return pe.Message
}

// check returns what is wrong with the thresholds, each error naming its key.
func (th Thresholds) check() []error {
	var errs []error
	switch th.Score {
	case "risk", "ato", "bot", "abuse":
	default:
		errs = append(errs, fmt.Errorf("thresholds.score: want risk, ato, bot or abuse, got %q", th.Score))
	}
	if !(th.Challenge >= 0 && th.Challenge <= 100) {
		errs = append(errs, fmt.Errorf("thresholds.challenge: want a score from 0 to 100, got %v", th.Challenge))
	}
	if !(th.Deny >= 0 && th.Deny <= 100) {
		errs = append(errs, fmt.Errorf("thresholds.deny: want a score from 0 to 100, got %v", th.Deny))
	}
	if th.Challenge > th.Deny {
		errs = append(errs, fmt.Errorf("thresholds: challenge (%v) must not be above deny (%v)", th.Challenge, th.Deny))
	}
	return errs
}

// Validate checks every value. Its errors name the file (when there is
// one), the key and what is expected.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.Safee.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("safee.base_url", "want an http or https URL such as %q, got %q", safee.DefaultBaseURL, c.Safee.BaseURL)
	}
	if c.Safee.Timeout <= 0 {
		bad("safee.timeout", "want a positive duration such as \"2s\", got %q", c.Safee.Timeout)
	}
	if c.Safee.Concurrency < 1 || c.Safee.Concurrency > 1024 {
		bad("safee.concurrency", "want a number from 1 to 1024, got %d", c.Safee.Concurrency)
	}
	if c.Safee.RateLimit < 0 || c.Safee.RateLimit != c.Safee.RateLimit {
		bad("safee.rate_limit", "want requests per second >= 0 (0 = no limit), got %v", c.Safee.RateLimit)
	}
	for key, r := range map[string]string{"safee.risk_route": c.Safee.RiskRoute, "safee.filter_route": c.Safee.FilterRoute} {
		if !strings.HasPrefix(r, "/") || !strings.Contains(r, "{event}") {
			bad(key, "want a path starting with / that contains {event}, got %q", r)
		}
	}
	if _, _, err := net.SplitHostPort(c.Ingest.Listen); err != nil {
		bad("ingest.listen", "want HOST:PORT such as %q, got %q", DefaultListen, c.Ingest.Listen)
	}
	if c.Ingest.MaxBody <= 0 {
		bad("ingest.max_body", "want a positive size such as \"4MiB\", got %d", c.Ingest.MaxBody)
	}
	if c.Ingest.InboxLimit < 1 {
		bad("ingest.inbox_limit", "want a positive number of events, got %d", c.Ingest.InboxLimit)
	}
	if c.Store.Path == "" {
		bad("store.path", "want a file path, got nothing")
	}
	if c.Store.Retention < 0 {
		bad("store.retention", "want a duration >= 0 (0 keeps everything), got %q", c.Store.Retention)
	}
	for i, f := range c.Files {
		if f.Path == "" {
			bad(fmt.Sprintf("file[%d].path", i), "want a file path, got nothing")
		}
	}
	topics := map[string]bool{}
	for i, k := range c.Kafka {
		errs = append(errs, k.check(i)...)
		if topics[k.Topic] {
			bad(fmt.Sprintf("kafka[%d].topic", i), "topic %q is consumed by an earlier [[kafka]] already", k.Topic)
		}
		topics[k.Topic] = true
	}
	errs = append(errs, c.Thresholds.check()...)
	if c.Policy.MaxLiveEntries < 1 {
		bad("policy.max_live_entries", "want a positive number of entries (60-100 bytes each; default %d), got %d", DefaultMaxLiveEntries, c.Policy.MaxLiveEntries)
	}
	switch c.UI.Theme {
	case "auto", "dark", "light":
	default:
		bad("ui.theme", "want auto, dark or light, got %q", c.UI.Theme)
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if c.Path != "" {
		return fmt.Errorf("config %s: %w", c.Path, err)
	}
	return fmt.Errorf("config: %w", err)
}
