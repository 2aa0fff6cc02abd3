package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

func (a *app) linksCmd() *cobra.Command {
	var qf queryFlags
	var window string
	var capN, depth int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "links USER",
		Short: "Show the users that share an IP, a /24, an email domain or a device with USER",
		Long: `links shows who shares something with USER within a window: an IP address, its
/24 (or /48), an email domain, or a device (an identical user agent), grouped by
what is shared, with each linked user's events, highest risk and denies on that
value. A value shared by more users than --cap (carrier NAT, offices, free-mail
domains) is a supernode: counted, not listed. --depth 2 adds what the linked
users share with others.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w decision.LinkWindow
			if err := w.UnmarshalText([]byte(window)); err != nil {
				return fmt.Errorf("--window: want a duration such as 30d or 12h, got %q", window)
			}
			src, err := qf.open(cmd, a.getenv)
			if err != nil {
				return err
			}
			defer src.close()
			ls, err := src.r.Links(cmd.Context(), api.LinksQuery{User: args[0], Window: w, Cap: capN, Depth: depth})
			if err != nil {
				return fmt.Errorf("links of %s: %w", args[0], src.hint(err))
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(ls)
			} else {
				err = writeLinksTree(a.stdout, &ls, time.Duration(w))
			}
			if err != nil {
				return err
			}
			src.warnPartial(a.stderr)
			return nil
		},
	}
	qf.storeFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&qf.connect, "connect", "", "ask the collector at this URL (several, comma-separated: read them as one) instead of opening the database")
	fl.StringVar(&qf.token, "token", "", "with --connect: the collector's ingest token (default $RISKWATCH_INGEST_TOKEN, then [ingest] token)")
	fl.StringVar(&window, "window", "30d", "look at decisions from this long ago (30d, 12h)")
	fl.Var(intAtLeast(&capN, decision.DefaultLinkCap, 1, fmt.Sprintf("a number of users from 1 to %d", decision.MaxLinkCap)), "cap", "list at most this many users per shared value; more make it a supernode")
	fl.Var(intAtLeast(&depth, 1, 1, "1 or 2"), "depth", "1: the users linked to USER; 2: and the users linked to those")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// writeLinksTree prints the links as a tree: the user, what is shared, who
// shares it.
func writeLinksTree(w io.Writer, ls *decision.Links, window time.Duration) error {
	if len(ls.Links) == 0 {
		_, err := fmt.Fprintf(w, "%s shares no IP, network, email domain or device with another user in the last %s\n", ls.User, windowText(window))
		return err
	}
	for _, r := range ls.Tree() {
		if _, err := fmt.Fprintf(w, "%s%s\n", r.Prefix, r.Text(ls)); err != nil {
			return err
		}
	}
	return nil
}

// windowText writes a window in days when it is whole days.
func windowText(d time.Duration) string {
	b, _ := decision.LinkWindow(d).MarshalText()
	return string(b)
}
