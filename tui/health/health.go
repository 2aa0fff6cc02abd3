// Package health is the Health view: the collector's sources, inbox,
// pipeline state (a pause reason shown loudly), errors by kind, the
// circuit breaker, Safe-e status codes and latency, and the store: its
// path, its counts and the newest rejected inputs with their positions,
// read from the store so that they outlive a restart. Throughput over the
// last hour (api.Reader.Rates) and Safe-e latency (sampled from the
// snapshots, each minute since the dashboard started) are drawn as
// sparklines. The root refreshes the snapshot every second; the view
// reads the rates and the stored totals while it is visible.
package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// RefreshEvery is how often, while visible, the view reads the rates and
// the stored totals.
const RefreshEvery = 10 * time.Second

// Window is how many minutes the throughput and latency sparklines span.
const Window = 60

// Model is the Health view.
type Model struct {
	c       *common.Common
	width   int
	height  int
	h       api.Health
	err     error
	have    bool
	updated time.Time
	offset  int
	version int
	cache   *content
	sources *widget.Table
	// reload is the key that reloads the shadow policy file.
	reload key.Binding

	refresh  common.Refresher
	storeReq common.Request[stored]
	store    *stored
	latency  latencies
}

// stored is what the view reads of the store: the last Window minutes of
// decisions and the totals since the first.
type stored struct {
	to      time.Time
	minutes []decision.MinuteCounts
	totals  decision.Totals
}

type content struct {
	version int
	width   int
	styles  *common.Styles
	lines   []string
}

// New returns the Health view, empty until the first snapshot.
func New(c *common.Common) Model {
	return Model{
		c: c, cache: &content{version: -1}, sources: newSourceTable(), reload: common.ReloadShadowKey(),
		refresh:  common.Refresher{View: common.ViewHealth, Every: RefreshEvery, MinGap: RefreshEvery},
		storeReq: common.Request[stored]{View: common.ViewHealth},
	}
}

// Show is called when the view becomes visible: it reads the rates and
// the totals, and again every RefreshEvery while visible.
func (m *Model) Show() tea.Cmd { return tea.Batch(m.refresh.Show(), m.loadStore()) }

// Hide is called when another view is shown.
func (m *Model) Hide() { m.refresh.Hide() }

// loadStore reads the last Window minutes and the stored totals.
func (m *Model) loadStore() tea.Cmd {
	now := m.c.Clock()
	m.refresh.Started(now)
	data := m.c.Data
	return m.storeReq.Go(m.c, func(ctx context.Context) (stored, error) {
		from := now.Truncate(time.Minute).Add(-(Window - 1) * time.Minute)
		ms, err := data.Rates(ctx, api.RatesQuery{From: from, To: now})
		if err != nil {
			return stored{}, fmt.Errorf("rates: %w", err)
		}
		tot, err := data.Stats(ctx, api.StatsQuery{})
		if err != nil {
			return stored{}, fmt.Errorf("stored totals: %w", err)
		}
		return stored{to: now, minutes: ms, totals: tot}, nil
	})
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.sources.SetWidth(max(m.width-2, 0))
	m.clamp()
}

// Loading reports whether no snapshot (nor error) has arrived yet, or
// the store's counts are being read.
func (m Model) Loading() bool { return (!m.have && m.err == nil) || m.storeReq.Busy() }

// ShortHelp lists the main keys (R once the collector is known to run a
// shadow policy).
func (m Model) ShortHelp() []key.Binding {
	keys := []key.Binding{m.c.Keys.Down, m.c.Keys.Up}
	if m.h.Shadow != nil {
		keys = append(keys, m.reload)
	}
	return keys
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, m.reload}
}

// Update takes health snapshots and scroll keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.HealthMsg:
		m.err = msg.Err
		if msg.Err == nil {
			m.h, m.have = msg.Health, true
			m.updated = m.c.Clock()
			m.latency.add(m.updated, msg.Health.LatencyP50, msg.Health.LatencyP99)
		}
		m.version++
	case common.Answer[stored]:
		if m.storeReq.Take(msg) && msg.Err == nil {
			st := msg.Value
			m.store = &st
			m.version++
		}
	case common.RefreshMsg:
		if ok, next := m.refresh.Tick(msg); ok {
			return m, tea.Batch(next, m.loadStore())
		}
	case tea.KeyPressMsg:
		if key.Matches(msg, m.reload) {
			return m, m.c.ReloadShadowPolicy()
		}
		m.offset = m.c.Keys.Scroll(msg, m.offset, max(m.height-2, 1), len(m.lines()))
	}
	m.clamp()
	return m, nil
}

func (m *Model) clamp() {
	m.offset = max(min(m.offset, len(m.lines())-m.bodyHeight()), 0)
}

// bodyHeight is the scrolling area: below the banner when there is one.
func (m Model) bodyHeight() int {
	if m.banner() != "" {
		return max(m.height-1, 0)
	}
	return m.height
}

// banner is the loud line shown while scoring is paused or stalled.
func (m Model) banner() string {
	if m.have && Halted(m.h) {
		return PauseText(m.h)
	}
	return ""
}

// PauseText says why scoring is paused, e.g. "SCORING PAUSED: Safe-e
// rejected the API key (401): scoring paused, events kept".
func PauseText(h api.Health) string {
	reason := common.Sanitize(h.PauseReason)
	if reason == "" {
		reason = "no reason given"
	}
	if h.Pipeline == api.PipelineStalled {
		return "SCORING STALLED: " + reason
	}
	return "SCORING PAUSED: " + reason
}

// Halted reports whether scoring waits for something an operator must
// see: a refused key (paused) or a store that fails writes (stalled).
func Halted(h api.Health) bool {
	return h.Pipeline == api.PipelinePaused || h.Pipeline == api.PipelineStalled
}

func (m Model) lines() []string {
	c := m.cache
	if c.version != m.version || c.width != m.width || c.styles != m.c.Styles {
		*c = content{version: m.version, width: m.width, styles: m.c.Styles, lines: m.render()}
	}
	return c.lines
}

// View renders the banner (if scoring is paused) and the visible lines.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.c.Styles
	var b strings.Builder
	if ban := m.banner(); ban != "" {
		b.WriteString(st.Banner.Render(common.Fit(ban, m.width, false)))
		b.WriteByte('\n')
	}
	lines := m.lines()
	end := min(m.offset+m.bodyHeight(), len(lines))
	b.WriteString(strings.Join(lines[m.offset:end], "\n"))
	return common.FitBlock(b.String(), m.width, m.height)
}
