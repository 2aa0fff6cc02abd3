package common

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
)

// ReloadShadowKey is the key that reloads the collector's shadow policy
// file, in the views that show the shadow policy (What-if, Health).
func ReloadShadowKey() key.Binding {
	return key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "reload the shadow policy file"))
}

// ShadowReloadedMsg says the collector read its shadow policy file again:
// Result says whether the file loaded and which policy is in force. The
// root shows it in the status line and hands it to every view.
type ShadowReloadedMsg struct {
	Result api.ShadowReload
}

// ErrNoReload is why the reload key does nothing on a read-only source.
var ErrNoReload = errors.New("reloading the shadow policy needs its collector: this dashboard reads a database file read-only")

// ReloadShadowPolicy returns a command that asks the collector to reload
// its shadow policy through c.Writer and answers a ShadowReloadedMsg, or
// a status line saying why it could not ask.
func (c *Common) ReloadShadowPolicy() tea.Cmd {
	if c.Writer == nil {
		return Status(ErrNoReload.Error(), LevelError)
	}
	w, ctx := c.Writer, c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
		defer cancel()
		res, err := w.ReloadShadowPolicy(ctx)
		if err != nil {
			return StatusMsg{Text: "shadow policy: " + Sanitize(err.Error()), Level: LevelError}
		}
		return ShadowReloadedMsg{Result: res}
	}
}

// ShadowReloadText says what a reload did, for the status line: the
// policy now in force, or why the file did not load (cut to
// reloadErrorWidth cells, FILE:LINE:COL first; the views that show the
// shadow policy give it whole) and the hash of the policy that stays. The
// file is named by its base name (its directory is the collector's
// business); everything from the collector is sanitized.
func ShadowReloadText(r api.ShadowReload, loc *time.Location) (string, Level) {
	base := filepath.Base(r.File)
	hash := r.SHA256[:min(len(r.SHA256), 8)]
	if !r.Reloaded {
		why := r.Error
		if r.File != "" {
			why = strings.ReplaceAll(why, r.File, base)
		}
		return "shadow policy NOT reloaded: " + Truncate(Sanitize(why), reloadErrorWidth) + " (kept " + hash + ")", LevelError
	}
	return Sanitize(fmt.Sprintf("shadow policy reloaded: %s, %d rules, sha256 %s, loaded %s",
		base, r.Rules, hash, r.LoadedAt.In(loc).Format("15:04:05"))), LevelInfo
}

// reloadErrorWidth bounds the error in a reload's status line, which
// must fit beside the mode on a 100-column terminal.
const reloadErrorWidth = 40

// ShadowLines describe the shadow policy in force as Health reports it
// (any reload, SIGHUP's too): its file, rules and load time, and when the
// last reload failed, why; both "" without a shadow policy.
func ShadowLines(h *api.ShadowHealth, now time.Time) (inForce, failed string) {
	if h == nil {
		return "", ""
	}
	inForce = Sanitize(fmt.Sprintf("%s · %d rules · loaded %s (%s)", h.File, h.Rules,
		h.LoadedAt.In(now.Location()).Format("15:04:05"), Age(now, h.LoadedAt)))
	if h.Error != "" {
		failed = Sanitize(fmt.Sprintf("last reload failed %s: %s; the policy above stays", Age(now, h.ErrorAt), h.Error))
	}
	return inForce, failed
}
