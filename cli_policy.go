package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/policy"
)

func (a *app) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check, replay, compare and test policy files",
		Long: `A policy file (TOML) is an ordered list of rules over Safe-e's scores, the
event's fields and velocity (count and distinct over past decisions); see
SPEC section 12 and "go doc github.com/riskwatch/riskwatch/policy".

  riskwatch policy check policy.toml
  riskwatch policy replay policy.toml --since 7d --show-changed 20
  riskwatch policy diff old.toml new.toml --filter "type:$login"
  riskwatch policy test policy.toml cases.ndjson`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(a.policyCheckCmd(), a.policyReplayCmd(), a.policyDiffCmd(), a.policyTestCmd())
	return cmd
}

// loadPolicy reads and parses a policy file. A file that does not parse
// prints its problems to w, one FILE:LINE:COL: message a line (or, with
// asJSON, as {"file":..,"errors":[...]} on out), and is an exit 1.
func (a *app) loadPolicy(path string, asJSON bool) (*policy.Policy, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, policy.MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	p, err := policy.Parse(path, text)
	var es policy.Errors
	switch {
	case errors.As(err, &es):
		if asJSON {
			if err := writeJSON(a.stdout, policyCheck{File: path, Errors: es}); err != nil {
				return nil, nil, err
			}
		} else {
			fmt.Fprintln(a.stderr, es.Error())
		}
		return nil, nil, &exitError{code: 1, err: fmt.Errorf("%s: %d problem(s)", path, len(es))}
	case err != nil:
		return nil, nil, err
	}
	return p, text, nil
}

// policyCheck is what `policy check --json` prints.
type policyCheck struct {
	File   string          `json:"file"`
	OK     bool            `json:"ok"`
	Rules  []policy.Rule   `json:"rules,omitempty"`
	Lists  map[string]int  `json:"lists,omitempty"`
	Errors []*policy.Error `json:"errors,omitempty"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) policyCheckCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Parse and type-check a policy file; problems as FILE:LINE:COL: message (exit 1)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p, _, err := a.loadPolicy(args[0], asJSON)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, policyCheck{File: args[0], OK: true, Rules: p.Rules(), Lists: p.Lists()})
			}
			_, err = fmt.Fprintf(a.stdout, "%s: ok, %d rules, %d lists, %d velocity queries (longest window %s), default %s\n",
				args[0], len(p.Rules()), len(p.Lists()), len(p.Queries()), p.MaxWindow(), p.Default())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// replayFlags are replay's and diff's.
type replayFlags struct {
	queryFlags
	asJSON      bool
	showChanged int
	asOf        string
}

// labelsAsOf is --as-of as a time (zero when not given).
func (f *replayFlags) labelsAsOf() (time.Time, error) {
	t, err := parseWhen(f.asOf, time.Now())
	if err != nil {
		return time.Time{}, fmt.Errorf("--as-of: %w", err)
	}
	return t, nil
}

func (f *replayFlags) register(cmd *cobra.Command) {
	f.queryFlags.register(cmd)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print one JSON object (SPEC section 12)")
	cmd.Flags().Var(intAtLeast(&f.showChanged, 0, 0, "a whole number of decisions, 0 or more"), "show-changed",
		"list the first N changed decisions with the deciding rule and what it read")
	cmd.Flags().StringVar(&f.asOf, "as-of", "", "label metrics from only the labels recorded before this RFC 3339 time (or this long ago)")
}

func (a *app) policyReplayCmd() *cobra.Command {
	var rf replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Run a policy over stored decisions in event-time order and compare it with Safe-e's actions",
		Long: `Run a policy file over the stored decisions in event-time order, with velocity
as of each decision's event time, and report the live (Safe-e) x policy matrix,
how many decisions change, and each rule's matched and decided counts.

--since, --until and --filter select the decisions counted; the decisions up to
the policy's longest window before --since still feed velocity, as they did
live.

When some of the decisions counted carry a label (riskwatch label, labels
import), the report adds, for Safe-e's actions and the policy's, the label x
action counts and the precision, recall and false-positive rate of deny and of
challenge-or-deny over the labelled decisions, and the unlabelled count (JSON:
"labels": {"live": {...}, "policy": {...}, "unlabeled": N}). Labels are those
in force now, or with --as-of those recorded before a time.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, text, err := a.loadPolicy(args[0], rf.asJSON)
			if err != nil {
				return err
			}
			asOf, err := rf.labelsAsOf()
			if err != nil {
				return err
			}
			src, err := rf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			rep, err := src.r.Replay(cmd.Context(), api.ReplayQuery{Name: args[0], Policy: string(text),
				From: src.since, To: src.until, Filter: src.filter, ShowChanged: rf.showChanged, AsOf: asOf})
			if err != nil {
				return fmt.Errorf("replay: %w", src.hint(err))
			}
			if rf.asJSON {
				err = writeJSON(a.stdout, rep)
			} else {
				err = rep.WriteText(a.stdout, args[0])
			}
			src.warnPartial(a.stderr)
			return err
		},
	}
	rf.register(cmd)
	return cmd
}

func (a *app) policyDiffCmd() *cobra.Command {
	var rf replayFlags
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Run two policies over stored decisions and report what they decide differently",
		Long: `Run two policy files over the stored decisions, as replay runs one, and report
the old x new matrix, how many decisions they decide differently, and each
rule's counts. When some of the decisions counted carry a label, the report adds
the label metrics of Safe-e's actions and of both policies' (JSON: "labels":
{"live": {...}, "old": {...}, "new": {...}, "unlabeled": N}).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, oldText, err := a.loadPolicy(args[0], rf.asJSON)
			if err != nil {
				return err
			}
			_, newText, err := a.loadPolicy(args[1], rf.asJSON)
			if err != nil {
				return err
			}
			asOf, err := rf.labelsAsOf()
			if err != nil {
				return err
			}
			src, err := rf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			rep, err := src.r.PolicyDiff(cmd.Context(), api.DiffQuery{OldName: args[0], Old: string(oldText),
				NewName: args[1], New: string(newText), From: src.since, To: src.until, Filter: src.filter, ShowChanged: rf.showChanged, AsOf: asOf})
			if err != nil {
				return fmt.Errorf("diff: %w", src.hint(err))
			}
			if rf.asJSON {
				err = writeJSON(a.stdout, rep)
			} else {
				err = rep.WriteText(a.stdout, args[0], args[1])
			}
			src.warnPartial(a.stderr)
			return err
		},
	}
	rf.register(cmd)
	return cmd
}

func (a *app) policyTestCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test FILE CASES.ndjson",
		Short: "Run a policy's test cases (NDJSON, one case a line); exit 1 when one fails",
		Long: `Run test cases against a policy, for CI. Each line of CASES.ndjson is a case:

  {"name": "tor is denied", "event": {"type": "$login", "signals": ["tor_ip"]},
   "expect": {"action": "deny", "rule": "tor"}}

with optional "history" (earlier events, each with "ago" or "time") and
"velocity" facts; see "go doc github.com/riskwatch/riskwatch/policy RunCases".`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			p, _, err := a.loadPolicy(args[0], asJSON)
			if err != nil {
				return err
			}
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			rep, err := policy.RunCases(p, args[1], f)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(a.stdout, rep)
			} else {
				err = rep.WriteText(a.stdout)
			}
			if err != nil {
				return err
			}
			if len(rep.Failures) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s: %d of %d cases failed", args[1], len(rep.Failures), rep.Cases)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
