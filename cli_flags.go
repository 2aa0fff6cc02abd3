package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/safee"
)

// storeFlags are shared by riskwatch, collect, export and stats.
type storeFlags struct {
	configPath string
	dbPath     string
}

func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configPath, "config", "", "config file (default $RISKWATCH_CONFIG or ~/.config/riskwatch/config.toml)")
	cmd.Flags().StringVar(&f.dbPath, "db", "", "database file (default ~/.local/share/riskwatch/riskwatch.db)")
}

// load reads the configuration and applies these flags over it.
func (f *storeFlags) load(cmd *cobra.Command, getenv func(string) string) (config.Config, error) {
	cfg, err := config.Load(f.configPath, getenv)
	if err != nil {
		return config.Config{}, err
	}
	if cmd.Flags().Changed("db") {
		cfg.Store.Path = f.dbPath
	}
	return cfg, nil
}

// collectorFlags are shared by riskwatch and collect.
type collectorFlags struct {
	storeFlags
	listen    string
	files     []string
	fromStart bool
	safeeURL  string
	emulator  bool
	alerts    string
	shadow    string
	maxLive   int
}

func (f *collectorFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "address of the ingest, proxy and health server (default "+config.DefaultListen+")")
	fl.StringArrayVar(&f.files, "file", nil, "tail this NDJSON file of events (repeatable)")
	fl.BoolVar(&f.fromStart, "from-start", false, "read files without a checkpoint from their start instead of their end")
	fl.StringVar(&f.safeeURL, "safee-url", "", "Safe-e base URL (default "+safee.DefaultBaseURL+")")
	fl.BoolVar(&f.emulator, "emulator", false, "score with the built-in offline emulator instead of Safe-e")
	fl.StringVar(&f.alerts, "alerts", "", "evaluate the [[alert]] tables of this file instead of the config file's")
	fl.StringVar(&f.shadow, "shadow-policy", "", "run this policy file in shadow on every new decision (default [policy] shadow; collect reloads it on SIGHUP, the dashboard on R)")
	fl.IntVar(&f.maxLive, "shadow-max-live-entries", 0, "bound the shadow policy's velocity in memory to this many entries (default [policy] max_live_entries, 4194304)")
}

// load reads the configuration and applies the collector flags over it;
// flags win over the environment and the file.
func (f *collectorFlags) load(cmd *cobra.Command, getenv func(string) string) (config.Config, error) {
	cfg, err := f.storeFlags.load(cmd, getenv)
	if err != nil {
		return config.Config{}, err
	}
	fl := cmd.Flags()
	if fl.Changed("listen") {
		cfg.Ingest.Listen = f.listen
	}
	if fl.Changed("safee-url") {
		cfg.Safee.BaseURL = f.safeeURL
	}
	if fl.Changed("shadow-policy") {
		cfg.Policy.Shadow = f.shadow
	}
	if fl.Changed("shadow-max-live-entries") {
		if f.maxLive < 1 {
			return config.Config{}, &exitError{code: 2, err: fmt.Errorf("--shadow-max-live-entries: want a positive number of entries, got %d (see %s --help)", f.maxLive, cmd.CommandPath())}
		}
		cfg.Policy.MaxLiveEntries = f.maxLive
	}
	for _, p := range f.files {
		cfg.Files = append(cfg.Files, config.File{Path: p, FromStart: f.fromStart})
	}
	if f.alerts != "" {
		if cfg.Alerts, err = readAlerts(f.alerts); err != nil {
			return config.Config{}, err
		}
	}
	if f.fromStart {
		for i := range cfg.Files {
			cfg.Files[i].FromStart = true
		}
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// kafkaFlags name one Kafka topic to consume (collect only). A [[kafka]]
// table of the same topic keeps its other keys (TLS, SASL, instance_id) and
// takes the brokers and group given here.
type kafkaFlags struct {
	brokers []string
	topic   string
	group   string
}

func (f *kafkaFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.brokers, "kafka-brokers", nil, "consume Kafka from these brokers, HOST:PORT[,HOST:PORT...]")
	fl.StringVar(&f.topic, "kafka-topic", "", "the Kafka topic of events, one event per record")
	fl.StringVar(&f.group, "kafka-group", "", "the Kafka consumer group (default "+config.DefaultKafkaGroup+")")
}

// apply adds the topic the flags name to cfg, or updates the [[kafka]]
// table of that topic, and validates the result.
func (f *kafkaFlags) apply(cmd *cobra.Command, cfg config.Config) (config.Config, error) {
	fl := cmd.Flags()
	if !fl.Changed("kafka-brokers") && !fl.Changed("kafka-topic") && !fl.Changed("kafka-group") {
		return cfg, nil
	}
	if f.topic == "" {
		return config.Config{}, &exitError{code: 2, err: errors.New("--kafka-brokers and --kafka-group need --kafka-topic")}
	}
	cfg.Kafka = slices.Clone(cfg.Kafka)
	i := slices.IndexFunc(cfg.Kafka, func(k config.Kafka) bool { return k.Topic == f.topic })
	if i < 0 {
		cfg.Kafka = append(cfg.Kafka, config.Kafka{Topic: f.topic, Group: config.DefaultKafkaGroup})
		i = len(cfg.Kafka) - 1
	}
	if len(f.brokers) > 0 {
		cfg.Kafka[i].Brokers = f.brokers
	}
	if f.group != "" {
		cfg.Kafka[i].Group = f.group
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}
