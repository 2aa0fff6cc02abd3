package alert

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Driver is one thing driving a firing's window, as explain reports it
// (SPEC section 11). The caller attaches the top three of explain for the
// event's Window against its Baseline (or the window before it); alert
// passes them through unread.
type Driver struct {
	Dimension string `json:"dimension"`
	Value     string `json:"value"`
	// Window and Baseline are the counts of the value in the two windows.
	Window   uint64 `json:"window"`
	Baseline uint64 `json:"baseline"`
	// Ratio and Excess are explain's; a value that is not finite (a ratio
	// over an empty baseline) is written as null.
	Ratio  float64 `json:"ratio"`
	Excess float64 `json:"excess"`
}

// Notification is what a notifier delivers: a transition and the drivers
// of its window.
type Notification struct {
	Event
	Drivers []Driver
}

// payload is the JSON body of SPEC section 13, plus the fields that say
// what the value measures and a Slack-compatible text.
type payload struct {
	Alert     string          `json:"alert"`
	State     string          `json:"state"`
	At        time.Time       `json:"at"`
	Kind      Kind            `json:"kind"`
	Score     string          `json:"score,omitempty"`
	Value     float64         `json:"value"`
	Threshold float64         `json:"threshold"`
	Peak      float64         `json:"peak"`
	Filter    string          `json:"filter"`
	Window    Window          `json:"window"`
	Baseline  *Window         `json:"baseline,omitempty"`
	Drivers   []driverPayload `json:"drivers"`
	Text      string          `json:"text"`
}

// driverPayload is a Driver with non-finite numbers as null.
type driverPayload struct {
	Dimension string   `json:"dimension"`
	Value     string   `json:"value"`
	Window    uint64   `json:"window"`
	Baseline  uint64   `json:"baseline"`
	Ratio     *float64 `json:"ratio"`
	Excess    *float64 `json:"excess"`
}

// Payload returns the JSON body a webhook receives and an exec program
// reads on its standard input:
//
//	{"alert":..,"state":"firing"|"resolved","at":T,"kind":..,"score":..,
//	 "value":X,"threshold":X,"peak":X,"filter":..,"window":{"from":T,"to":T},
//	 "baseline":{"from":T,"to":T},"drivers":[...],"text":".."}
//
// drivers is [] when there are none; text is a one-line summary that
// Slack (and Mattermost, Rocket.Chat, Discord's Slack endpoint) shows.
func (n Notification) Payload() ([]byte, error) {
	p := payload{
		Alert: n.Alert, State: n.State, At: n.At.UTC(), Kind: n.Kind, Score: n.Score,
		Value: n.Value, Threshold: n.Threshold, Peak: n.Peak, Filter: n.Filter, Window: n.Window,
		Drivers: make([]driverPayload, len(n.Drivers)), Text: n.Text(),
	}
	if !n.Baseline.IsZero() {
		p.Baseline = &n.Baseline
	}
	for i, d := range n.Drivers {
		p.Drivers[i] = driverPayload{Dimension: d.Dimension, Value: d.Value, Window: d.Window,
			Baseline: d.Baseline, Ratio: finite(d.Ratio), Excess: finite(d.Excess)}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("alert %q: payload: %w", n.Alert, err)
	}
	return b, nil
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// Text returns a one-line summary:
//
//	[FIRING] deny spike: 240/min > 100/min (action:deny, window 14:02-14:03 UTC); drivers: ip24=203.0.113.0/24 ×12 (+180)
//	[RESOLVED] deny spike: 12/min, peak 240/min (threshold 100/min, action:deny)
func (n Notification) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s: ", strings.ToUpper(n.State), n.Alert)
	scope := n.Filter
	if scope == "" {
		scope = "all decisions"
	}
	if n.Kind == KindShift {
		scope = n.Score + " of " + scope
	}
	if n.State == StateFiring {
		op := ">"
		if n.Value < n.Threshold {
			op = "<"
		}
		fmt.Fprintf(&b, "%s %s %s (%s, window %s-%s UTC)", n.format(n.Value), op, n.format(n.Threshold),
			scope, n.Window.From.UTC().Format("15:04"), n.Window.To.UTC().Format("15:04"))
	} else {
		fmt.Fprintf(&b, "%s, peak %s (threshold %s, %s)", n.format(n.Value), n.format(n.Peak), n.format(n.Threshold), scope)
	}
	for i, d := range n.Drivers {
		if i == 0 {
			b.WriteString("; drivers: ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s ×%.3g (%+.0f)", d.Dimension, d.Value, d.Ratio, d.Excess)
	}
	return b.String()
}

// format writes a value in the unit of the event's kind.
func (n Notification) format(v float64) string {
	switch n.Kind {
	case KindShare:
		return fmt.Sprintf("%.1f%%", 100*v)
	case KindShift:
		return fmt.Sprintf("PSI %.3f", v)
	}
	return fmt.Sprintf("%.4g/min", v)
}
