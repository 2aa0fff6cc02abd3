package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// TestReloadShadowPolicyKey drives the dashboard at a fixed size: R in
// What-if's policy mode asks the collector to reload its shadow policy;
// a file that does not load shows why (FILE:LINE:COL, sanitized, by its
// base name) and the policy still in force in the status line and the
// view; a good one shows the policy now in force. R on Health asks too,
// and Health shows the shadow policy's state.
func TestReloadShadowPolicyKey(t *testing.T) {
	const w, h = 140, 30
	d, m, r := start(t, w, h)
	const file = "/etc/riskwatch/shadow.toml"
	kept := fixture.ShadowReloaded()
	kept.File = file
	health := fixture.Health(fixture.Now())
	health.Shadow = &api.ShadowHealth{File: file, Rules: 1, LoadedAt: fixture.Now().Add(-time.Hour)}
	r.SetHealth(health, nil)
	d.Send(tickMsg{})
	d.WaitFor("the shadow policy's health", func() bool { return m.h.Shadow != nil })

	d.Key("4")
	d.Key("p")
	d.WaitFor("the replay", func() bool { return strings.Contains(d.Screen(), "safe-e \\ policy") })
	if scr := checkScreen(t, d.View(), w, h); !strings.Contains(scr, "shadow policy: "+file+" · 1 rules") ||
		!strings.Contains(scr, "R reload the shadow policy file") {
		t.Errorf("policy mode lacks the policy in force or the key:\n%s", scr)
	}

	// A file that does not compile: the collector keeps the policy.
	bad := kept
	bad.Reloaded = false
	bad.Error = file + ":1:11: default: \"maybe\" is not an action\x1b[2J"
	r.SetShadowReload(bad, nil)
	health.Shadow.Error, health.Shadow.ErrorAt = bad.Error, fixture.Now()
	r.SetHealth(health, nil)
	d.Key("R")
	d.WaitFor("the refusal in the status line", func() bool { return strings.Contains(m.status, "NOT reloaded") })
	d.Send(tickMsg{})
	d.WaitFor("the refusal in the health", func() bool { return m.h.Shadow.Error != "" })
	scr := checkScreen(t, d.View(), w, h)
	for _, want := range []string{
		"shadow policy NOT reloaded: shadow.toml:1:11: default: \"maybe\" is n… (kept " + kept.SHA256[:8] + ")",
		"last reload failed just now: " + file + ":1:11",
		"the policy above stays",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("after a bad reload the screen lacks %q:\n%s", want, scr)
		}
	}
	if strings.Contains(d.View(), "\x1b[2J") {
		t.Error("the collector's error reached the terminal unsanitized")
	}
	if n := r.ShadowReloads(); n != 1 {
		t.Errorf("%d reloads asked, want 1", n)
	}

	// A good file: the status says the policy now in force.
	good := kept
	good.LoadedAt = fixture.Now()
	r.SetShadowReload(good, nil)
	health.Shadow = &api.ShadowHealth{File: file, Rules: 1, LoadedAt: good.LoadedAt}
	r.SetHealth(health, nil)
	d.Key("R")
	d.WaitFor("the reload in the status line", func() bool { return strings.Contains(m.status, "shadow policy reloaded") })
	d.WaitFor("the health after the reload", func() bool { return m.h.Shadow.Error == "" })
	scr = checkScreen(t, d.View(), w, h)
	loaded := "loaded " + good.LoadedAt.In(fixture.Now().Location()).Format("15:04:05")
	if !strings.Contains(scr, "shadow policy reloaded: shadow.toml, 1 rules, sha256 "+good.SHA256[:8]+", "+loaded) ||
		strings.Contains(scr, "last reload failed") {
		t.Errorf("after a good reload:\n%s", scr)
	}

	// Health shows the state and takes R too.
	d.Key("5")
	d.Key("R")
	d.WaitFor("the third reload", func() bool { return r.ShadowReloads() == 3 })
	if scr := checkScreen(t, d.View(), w, h); !strings.Contains(scr, "Shadow") || !strings.Contains(scr, file+" · 1 rules") {
		t.Errorf("Health lacks the shadow policy:\n%s", scr)
	}

	// A collector that refuses (no shadow policy): the status says why.
	r.SetShadowReload(api.ShadowReload{}, api.Invalid(errString("reload the shadow policy: this collector runs none")))
	d.Key("R")
	d.WaitFor("the refusal", func() bool { return strings.Contains(m.status, "runs none") && m.statusLevel == common.LevelError })
}

type errString string

func (e errString) Error() string { return string(e) }
