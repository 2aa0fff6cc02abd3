package widget

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

// helpSep separates bindings on the short help line.
const helpSep = " · "

// ShortHelp renders bindings on one line, "key desc · key desc", keeping as
// many as fit in width, in order. Disabled bindings are skipped.
func ShortHelp(width int, st *common.Styles, bindings ...key.Binding) string {
	var b strings.Builder
	room := width
	for _, k := range bindings {
		if !k.Enabled() {
			continue
		}
		h := k.Help()
		if h.Key == "" {
			continue
		}
		need := ansi.StringWidth(h.Key) + 1 + ansi.StringWidth(h.Desc)
		if b.Len() > 0 {
			need += len(helpSep)
		}
		if need > room {
			break
		}
		if b.Len() > 0 {
			b.WriteString(st.HelpDesc.Render(helpSep))
		}
		b.WriteString(st.HelpKey.Render(h.Key))
		b.WriteByte(' ')
		b.WriteString(st.HelpDesc.Render(h.Desc))
		room -= need
	}
	return b.String()
}

// HelpGroup is a titled list of bindings for the full help screen, and
// of entries that are not keys (the terms of the filter language).
type HelpGroup struct {
	Title    string
	Bindings []key.Binding
	Entries  []HelpEntry
}

// HelpEntry is one line of the full help that is not a key binding: what
// to type and what it does.
type HelpEntry struct {
	Key, Desc string
}

// FullHelp renders groups as titled lists flowing down columns of height
// lines, as many columns as fit in width. When that cannot hold them all,
// the columns grow longer than height so nothing is left out, and the
// caller scrolls. Every line fits in width.
func FullHelp(width, height int, st *common.Styles, groups ...HelpGroup) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	type item struct {
		title     bool
		key, desc string
		keyW      int // the key column of the item's group
	}
	var items []item
	for gi, g := range groups {
		if gi > 0 {
			items = append(items, item{})
		}
		items = append(items, item{title: true, key: g.Title})
		start := len(items)
		keyW := 0
		add := func(k, d string) {
			items = append(items, item{key: k, desc: d})
			keyW = max(keyW, ansi.StringWidth(k))
		}
		for _, k := range g.Bindings {
			if h := k.Help(); k.Enabled() && h.Key != "" {
				add(h.Key, h.Desc)
			}
		}
		for _, e := range g.Entries {
			add(e.Key, e.Desc)
		}
		for i := start; i < len(items); i++ {
			items[i].keyW = keyW
		}
	}
	colW := 0
	for _, it := range items {
		if it.title {
			colW = max(colW, ansi.StringWidth(it.key))
		} else {
			colW = max(colW, 2+it.keyW+2+ansi.StringWidth(it.desc))
		}
	}
	colW = min(colW+3, width)
	cols := max(1, width/max(colW, 1))
	rows := max(height, (len(items)+cols-1)/cols)
	lines := make([]string, min(rows, len(items)))
	for i, it := range items {
		row := i % rows
		var cell string
		switch {
		case it.title:
			cell = st.Title.Render(common.Fit(it.key, colW, false))
		case it.key == "":
			cell = strings.Repeat(" ", colW)
		default:
			descW := colW - 4 - it.keyW
			if descW <= 0 {
				cell = st.HelpKey.Render(common.Fit("  "+it.key, colW, false))
				break
			}
			cell = "  " + st.HelpKey.Render(common.Fit(it.key, it.keyW, false)) + "  " +
				st.HelpDesc.Render(common.Fit(it.desc, descW, false))
		}
		lines[row] += cell
	}
	for i, l := range lines {
		lines[i] = common.Clip(l, width)
	}
	return strings.Join(lines, "\n")
}
