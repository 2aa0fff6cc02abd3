package live

import (
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Table columns, in display order.
const (
	colTime = iota
	colType
	colUser
	colIP
	colRisk
	colATO
	colBot
	colSignals
	colAction
	colLabel
	colPolicy
	numCols
	// colShadow is shown only when the collector runs a shadow policy
	// (newTable with shadow set).
	colShadow = numCols
)

// maxSignals is how many signals the table lists per row.
const maxSignals = 3

func newTable(shadow bool) *widget.Table {
	cols := [numCols]widget.Column{
		colTime:    {Title: "TIME", Min: 8, Max: 8, Priority: 1},
		colType:    {Title: "TYPE/STATUS", Min: 10, Pref: 16, Max: 22, Priority: 4},
		colUser:    {Title: "USER", Min: 8, Pref: 12, Max: 20, Priority: 3},
		colIP:      {Title: "IP", Min: 15, Max: 39, Priority: 5},
		colRisk:    {Title: "RISK", Min: 4, Max: 4, Priority: 2, Right: true},
		colATO:     {Title: "ATO", Min: 3, Max: 4, Priority: 7, Right: true},
		colBot:     {Title: "BOT", Min: 3, Max: 4, Priority: 8, Right: true},
		colSignals: {Title: "SIGNALS", Min: 12, Pref: 30, Max: 48, Priority: 6},
		colAction:  {Title: "ACTION", Min: 9, Max: 9, Priority: 0},
		colLabel:   {Title: "LABEL", Min: 5, Max: 5, Priority: 6},
		colPolicy:  {Title: "POLICY", Min: 8, Pref: 16, Max: 24, Priority: 9},
	}
	if shadow {
		return widget.NewTable(append(cols[:], widget.Column{Title: "SHADOW", Min: 9, Pref: 18, Max: 28, Priority: 3})...)
	}
	return widget.NewTable(cols[:]...)
}

// rows adapts the rows held to widget.RowSource; row i is position i.
type rows struct {
	rows   *Deque
	styles *common.Styles
	loc    *time.Location // times show in the clock's zone
}

// Cells writes the row's texts, sanitized, one per column. TIME is the
// event time (the rows themselves are in arrival order).
func (r rows) Cells(i int, dst []string) {
	d := r.rows.At(i)
	if d == nil {
		clear(dst)
		return
	}
	dst[colTime] = d.EventTime.In(r.loc).Format("15:04:05")
	dst[colType] = common.TypeStatus(d)
	dst[colUser] = common.Sanitize(firstNonEmpty(d.UserID, d.Email))
	dst[colIP] = common.Sanitize(d.IP)
	if d.Action == decision.ActionError {
		dst[colRisk], dst[colATO], dst[colBot] = "-", "-", "-"
	} else {
		dst[colRisk] = common.Score(d.Risk)
		dst[colATO] = common.Score(d.AccountTakeover)
		dst[colBot] = common.Score(d.Bot)
	}
	dst[colSignals] = signalList(d.Signals)
	dst[colAction] = common.ActionLabel(d.Action)
	dst[colLabel] = common.LabelMark(d.Label)
	if d.Action == decision.ActionError && d.Error != "" {
		dst[colPolicy] = common.Sanitize(d.Error)
	} else {
		dst[colPolicy] = common.Sanitize(d.Policy)
	}
	if len(dst) > colShadow {
		dst[colShadow] = shadowText(d)
	}
}

// shadowText is the shadow policy's action and deciding rule: "deny tor",
// "allow" (its default decided), "" when it did not run.
func shadowText(d *decision.Decision) string {
	if d.ShadowAction == "" || d.ShadowRule == "" {
		return string(d.ShadowAction)
	}
	return string(d.ShadowAction) + " " + common.Sanitize(d.ShadowRule)
}

// CellStyle colours the action and the shadow action; the text says
// them too.
func (r rows) CellStyle(i, col int) *lipgloss.Style {
	if col != colAction && col != colShadow {
		return nil
	}
	d := r.rows.At(i)
	if d == nil {
		return nil
	}
	a := d.Action
	if col == colShadow {
		if a = d.ShadowAction; a == "" {
			return nil
		}
	}
	if ai := a.Index(); ai >= 0 {
		return &r.styles.Action[ai]
	}
	return &r.styles.Bold
}

func signalList(sig []string) string {
	switch len(sig) {
	case 0:
		return ""
	case 1:
		return common.Sanitize(sig[0])
	}
	n := min(len(sig), maxSignals)
	s := common.Sanitize(strings.Join(sig[:n], ","))
	if len(sig) > n {
		s += ",+" + strconv.Itoa(len(sig)-n)
	}
	return s
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
