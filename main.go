// Command riskwatch watches Safe-e risk decisions live: a collector scores
// events from files or HTTP with Safe-e and stores them, and a terminal
// dashboard shows the stream, histograms, journeys and a threshold what-if.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// app carries what every command needs: its streams and the environment.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "riskwatch: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func (a *app) rootCmd() *cobra.Command {
	var cf collectorFlags
	root := &cobra.Command{
		Use:   "riskwatch",
		Short: "Watch Safe-e risk decisions live",
		Long: `riskwatch scores events with the Safe-e Risk API and shows the decisions live.

Without a command it runs the collector and the dashboard in one process: it
tails the files given with --file, takes events on POST /v1/events, sends each
one to Safe-e, stores request and response, and shows them.

Try it offline first:   riskwatch demo
Score for real:         SAFEE_API_KEY=... riskwatch --file /var/log/app/events.ndjson`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDashboard(cmd.Context(), &cf, cmd)
		},
	}
	cf.register(root)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		a.collectCmd(),
		a.demoCmd(),
		a.emulatorCmd(),
		a.genCmd(),
		a.exportCmd(),
		a.explainCmd(),
		a.linksCmd(),
		a.policyCmd(),
		a.statsCmd(),
		a.labelCmd(),
		a.labelsCmd(),
		a.whatifCmd(),
		a.tuiCmd(),
		a.versionCmd(),
		a.alertsCmd(),
	)
	return root
}
