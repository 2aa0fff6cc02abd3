package tui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
)

// Refresh is how often the clocks, the status line and the health snapshot
// refresh.
const Refresh = time.Second

// resubscribeDelay is how long to wait before subscribing again after the
// subscription ended while the dashboard is still running.
const resubscribeDelay = 2 * time.Second

type tickMsg struct{}

// subscribedMsg carries a new subscription's channel.
type subscribedMsg struct{ ch <-chan api.Batch }

// subBatchMsg is one batch read from the subscription.
type subBatchMsg struct{ batch api.Batch }

// subClosedMsg says the subscription channel closed.
type subClosedMsg struct{}

type resubscribeMsg struct{}

func tick() tea.Cmd {
	return tea.Tick(Refresh, func(time.Time) tea.Msg { return tickMsg{} })
}

// subscribe opens a subscription in a command (it may dial a collector).
func subscribe(c *common.Common) tea.Cmd {
	ctx, data := c.Context(), c.Data
	return func() tea.Msg {
		return subscribedMsg{ch: data.Subscribe(ctx)}
	}
}

// nextBatch waits for one batch; it is issued again after each one, so at
// most one read is pending and batches arrive in order.
func nextBatch(ctx context.Context, ch <-chan api.Batch) tea.Cmd {
	return func() tea.Msg {
		select {
		case b, ok := <-ch:
			if !ok {
				return subClosedMsg{}
			}
			return subBatchMsg{batch: b}
		case <-ctx.Done():
			return nil
		}
	}
}

// fetchHealth reads the collector's health.
func (m *Model) fetchHealth() tea.Cmd {
	data := m.c.Data
	return m.healthReq.Go(m.c, func(ctx context.Context) (api.Health, error) {
		h, err := data.Health(ctx)
		if err != nil {
			err = fmt.Errorf("health: %w", err)
		}
		return h, err
	})
}
