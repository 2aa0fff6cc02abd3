package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/config"
)

// readAlerts reads a standalone alerts file (--alerts FILE).
func readAlerts(path string) ([]alert.Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--alerts: %w", err)
	}
	return alert.ParseFile(path, data)
}

// alertFlags choose the rules: --alerts FILE, else the config file's.
type alertFlags struct {
	storeFlags
	alerts string
}

func (f *alertFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	cmd.Flags().StringVar(&f.alerts, "alerts", "", "read the [[alert]] tables of this file instead of the config file's")
}

// text returns the rules as TOML: the --alerts file, else the config
// file's [[alert]] tables written again; none is an error.
func (f *alertFlags) text(cfg config.Config) (string, error) {
	if f.alerts != "" {
		if _, err := readAlerts(f.alerts); err != nil {
			return "", err
		}
		data, err := os.ReadFile(f.alerts)
		return string(data), err
	}
	if len(cfg.AlertTables) == 0 {
		return "", noRules(cfg)
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(map[string]any{"alert": cfg.AlertTables}); err != nil {
		return "", fmt.Errorf("alert rules of %s: %w", cfg.Path, err)
	}
	return b.String(), nil
}

// noRules says where rules go.
func noRules(cfg config.Config) error {
	where := "the config file"
	if cfg.Path != "" {
		where = cfg.Path
	}
	return fmt.Errorf("no alert rules: add [[alert]] tables to %s or pass --alerts FILE", where)
}

// rules loads the config and the rules; none is an error.
func (f *alertFlags) rules(cmd *cobra.Command, getenv func(string) string) (config.Config, []alert.Rule, error) {
	cfg, err := f.load(cmd, getenv)
	if err != nil {
		return cfg, nil, err
	}
	rules := cfg.Alerts
	if f.alerts != "" {
		if rules, err = readAlerts(f.alerts); err != nil {
			return cfg, nil, err
		}
	}
	if len(rules) == 0 {
		return cfg, nil, noRules(cfg)
	}
	return cfg, rules, nil
}

func (a *app) alertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Backtest alert rules over stored history, or print them as Prometheus rules",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.alertsBacktestCmd(), a.alertsPrometheusCmd())
	return cmd
}

func (a *app) alertsBacktestCmd() *cobra.Command {
	var af alertFlags
	var since, connect, token string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Replay every alert rule over stored history and list when it would have fired",
		Long: `Replay every alert rule, minute by minute of event time, over the stored
decisions since --since, through the same evaluation the collector runs live,
and list each firing: when it fired, when it resolved, and its peak value.
With --connect the collector replays its own history: the rules of --alerts,
else those it was started with.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			from, err := parseWhen(since, now)
			if err != nil || from.IsZero() {
				return fmt.Errorf("--since: want a positive duration such as 24h or 7d, or an RFC 3339 time, got %q", since)
			}
			if connect != "" && cmd.Flags().Changed("db") {
				return errors.New("--connect asks a running collector and --db opens a database file: give one of them")
			}
			cfg, err := af.load(cmd, a.getenv)
			if err != nil {
				return err
			}
			q := api.BacktestQuery{From: from, To: now}
			var r api.Reader
			if connect != "" {
				if af.alerts != "" {
					if q.Rules, err = af.text(cfg); err != nil {
						return err
					}
				}
				if cmd.Flags().Changed("token") {
					cfg.Ingest.Token = config.Secret(token)
				}
				remote, closeR, err := dialCollectors(connect, cfg.Ingest.Token.Value())
				if err != nil {
					return err
				}
				defer closeR()
				r = remote
			} else {
				if q.Rules, err = af.text(cfg); err != nil {
					return err
				}
				db, err := openExisting(cfg, "alerts backtest")
				if err != nil {
					return err
				}
				defer db.Close()
				r = collector.NewStoreReader(db, nil)
			}
			rep, err := r.Backtest(cmd.Context(), q)
			if err != nil {
				return fmt.Errorf("backtest: %w", connectHint(err, connect))
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = writeBacktest(a.stdout, rep)
			}
			if f, ok := r.(*api.Federation); ok {
				warnMembers(a.stderr, f)
			}
			return err
		},
	}
	af.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "7d", "replay from this long ago (24h, 7d) or from this RFC 3339 time")
	fl.BoolVar(&asJSON, "json", false, `print {"alerts":[{"name":..,"firings":[{"from":T,"to":T,"peak":X}]}]}`)
	fl.StringVar(&connect, "connect", "", "ask the collector at this URL (several, comma-separated) to replay its history instead of opening the database")
	fl.StringVar(&token, "token", "", "with --connect: the collector's ingest token (default $RISKWATCH_INGEST_TOKEN, then [ingest] token)")
	return cmd
}

// writeBacktest prints a backtest as a table: one line per firing, and a
// line for a rule that never fired.
func writeBacktest(w io.Writer, rep api.Backtest) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALERT\tFIRED\tRESOLVED\tPEAK\tEVALUATED\tTHIN")
	for _, ar := range rep.Alerts {
		name := ar.Name // names have no control characters (alert.ParseRules)
		if ar.Collector != "" {
			name = ar.Collector + " " + name
		}
		if len(ar.Firings) == 0 {
			fmt.Fprintf(tw, "%s\tnever\t\t\t%d\t%d\n", name, ar.Evaluated, ar.Thin)
		}
		for _, f := range ar.Firings {
			to := "still firing"
			if f.To != nil {
				to = f.To.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%d\t%d\n", name, f.From.UTC().Format(time.RFC3339), to, f.Peak, ar.Evaluated, ar.Thin)
		}
	}
	return tw.Flush()
}

func (a *app) alertsPrometheusCmd() *cobra.Command {
	var af alertFlags
	cmd := &cobra.Command{
		Use:   "prometheus",
		Short: "Print the alert rules as Prometheus alerting rules over riskwatch's /metrics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, rules, err := af.rules(cmd, a.getenv)
			if err != nil {
				return err
			}
			if err := alert.PrometheusRules(a.stdout, rules); err != nil {
				return errors.Join(errors.New("prometheus rules"), err)
			}
			return nil
		},
	}
	af.register(cmd)
	return cmd
}
