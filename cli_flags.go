package main

import (
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
	shadow    string
}

func (f *collectorFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "address of the ingest, proxy and health server (default "+config.DefaultListen+")")
	fl.StringArrayVar(&f.files, "file", nil, "tail this NDJSON file of events (repeatable)")
	fl.BoolVar(&f.fromStart, "from-start", false, "read files without a checkpoint from their start instead of their end")
	fl.StringVar(&f.safeeURL, "safee-url", "", "Safe-e base URL (default "+safee.DefaultBaseURL+")")
	fl.BoolVar(&f.emulator, "emulator", false, "score with the built-in offline emulator instead of Safe-e")
	fl.StringVar(&f.shadow, "shadow-policy", "", "run this policy file in shadow on every new decision (default [policy] shadow; SIGHUP reloads it)")
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
	for _, p := range f.files {
		cfg.Files = append(cfg.Files, config.File{Path: p, FromStart: f.fromStart})
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
