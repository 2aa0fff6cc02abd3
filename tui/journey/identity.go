package journey

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

// kindWidth is the label column of the identity header.
const kindWidth = 8

// idHeaderLines is how many lines the identity header takes at the
// current size: one per kind when it fits, none otherwise.
func (m Model) idHeaderLines() int {
	if m.height < idHeaderMinHeight || m.tl.data == nil || len(m.tl.data.rows) == 0 {
		return 0
	}
	return int(numKinds)
}

// identityHeader lists, one line per kind, the emails, IPs, countries and
// devices the user used, most used first: each with its count of events
// and the event times it was first and last seen, as many as the width
// holds, then how many more there are (I lists them all).
func (m Model) identityHeader() []string {
	n := m.idHeaderLines()
	if n == 0 {
		return nil
	}
	st := m.c.Styles
	loc := m.c.Clock().Location()
	out := make([]string, 0, n)
	for k := range numKinds {
		ids := m.tl.data.ids[k]
		label := st.Label.Render(common.Fit(kindNames[k], kindWidth, false))
		room := m.width - kindWidth
		var b strings.Builder
		shown := 0
		for i, id := range ids {
			text := common.Sanitize(id.value) + " ×" + common.Count(uint64(id.count)) + " " +
				id.first.In(loc).Format(dateLayout) + "→" + id.last.In(loc).Format(dateLayout)
			more := ""
			if rest := len(ids) - i - 1; rest > 0 {
				more = " · +" + common.Count(uint64(rest)) + " more (I)"
			}
			sep := ""
			if shown > 0 {
				sep = " · "
			}
			if ansi.StringWidth(sep+text+more) > room && shown > 0 {
				break
			}
			b.WriteString(st.Dim.Render(sep))
			if i == 0 { // the most used stands out
				text = st.Bold.Render(text)
			}
			b.WriteString(text)
			room -= ansi.StringWidth(sep) + ansi.StringWidth(text)
			shown++
		}
		if len(ids) == 0 {
			b.WriteString(st.Dim.Render("none"))
		} else if rest := len(ids) - shown; rest > 0 {
			b.WriteString(st.Dim.Render(" · +" + common.Count(uint64(rest)) + " more (I)"))
		}
		out = append(out, common.Clip(label+b.String(), m.width))
	}
	return out
}

// idRow is one line of the identity table: a kind and one of its values.
type idRow struct {
	kind idKind
	id   *identity
}

// idRowsOf flattens a timeline's identities in the header's order.
func idRowsOf(tl *timeline) []idRow {
	var out []idRow
	for k := range numKinds {
		for i := range tl.ids[k] {
			out = append(out, idRow{kind: k, id: &tl.ids[k][i]})
		}
	}
	return out
}

// idSource adapts the identity table to widget.RowSource.
type idSource struct {
	rows []idRow
	loc  *time.Location
}

// Cells writes a value's kind, value, events and first and last seen.
func (s idSource) Cells(i int, dst []string) {
	r := s.rows[i]
	dst[icKind] = kindNames[r.kind]
	dst[icValue] = common.Sanitize(r.id.value)
	dst[icCount] = common.Count(uint64(r.id.count))
	dst[icFirst] = r.id.first.In(s.loc).Format(dateLayout)
	dst[icLast] = r.id.last.In(s.loc).Format(dateLayout)
}

// CellStyle draws every cell plain.
func (s idSource) CellStyle(int, int) *lipgloss.Style { return nil }

// identityTable renders every identity the user used, scrolled to the
// selection: a title, the table header and the rows that fit.
func (m Model) identityTable() []string {
	st := m.c.Styles
	t := &m.tl
	rows := idRowsOf(t.data)
	title := "every email, IP, country and device in " + common.Count(uint64(len(t.data.rows))) +
		" events, most used first · esc or I: back to the timeline"
	out := []string{st.Dim.Render(common.Truncate(title, m.width)), t.idTable.Header(st.TableHeader)}
	if n := min(m.identityRows(), len(rows)-t.idTop); n > 0 {
		out = append(out, t.idTable.Render(idSource{rows: rows, loc: m.c.Clock().Location()}, t.idTop, n, t.idCursor, st))
	}
	return out
}

// identityRows is how many rows of the identity table fit: the height
// less the timeline's title, the table's title and its header.
func (m Model) identityRows() int { return max(m.height-3, 0) }
