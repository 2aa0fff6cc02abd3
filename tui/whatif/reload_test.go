package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// TestReloadReplaysAgain: in policy mode, a reload that loaded the file
// replays the window again (the policy in force changed); one that did
// not load leaves the replay as it is. R asks the collector through the
// writer, and on a source that cannot write says why.
func TestReloadReplaysAgain(t *testing.T) {
	r := fixture.NewShaped()
	d, host := run(t, r, nil, 100, 30)
	d.Key("p")
	d.WaitFor("the replay", func() bool { return host.M.pol != nil && !host.M.polReq.Busy() })
	first := host.M.pol

	d.Send(common.ShadowReloadedMsg{Result: api.ShadowReload{Error: "shadow.toml:1:11: bad"}})
	if host.M.polReq.Busy() || host.M.pol != first {
		t.Error("a reload that did not load replayed again")
	}
	d.Send(common.ShadowReloadedMsg{Result: fixture.ShadowReloaded()})
	d.WaitFor("the replay after the reload", func() bool { return host.M.pol != first && !host.M.polReq.Busy() })

	second := host.M.pol
	d.Key("R")
	d.WaitFor("the replay after R", func() bool { return host.M.pol != second && !host.M.polReq.Busy() })
	if n := r.ShadowReloads(); n != 1 {
		t.Errorf("R asked %d reloads, want 1", n)
	}
	d.Key("p")
	d.Send(common.ShadowReloadedMsg{Result: fixture.ShadowReloaded()})
	if host.M.polReq.Busy() {
		t.Error("a reload replayed outside policy mode")
	}
}

// readOnly is a source that cannot write.
type readOnly struct{ api.Reader }

func TestReloadNeedsAWriter(t *testing.T) {
	c := common.New(context.Background(), readOnly{fixture.NewShaped()}, fixture.Now)
	m := New(c, nil)
	_, cmd := m.Update(fixture.KeyPress("R"))
	if cmd == nil {
		t.Fatal("R did nothing")
	}
	msg, ok := cmd().(common.StatusMsg)
	if !ok || msg.Level != common.LevelError || !strings.Contains(msg.Text, "read-only") {
		t.Errorf("R on a read-only source: %#v", msg)
	}
}
