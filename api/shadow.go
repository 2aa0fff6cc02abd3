package api

import (
	"context"
	"errors"
	"time"
)

// ShadowReload is the answer of a shadow policy reload (POST
// /v1/policy/shadow/reload): whether the file was loaded and, either way,
// the policy in force after the attempt. A file that does not load keeps
// the previous policy; Error then says why, a compile error as
// FILE:LINE:COL: message. File and Error come from the collector's disk
// and the file's text: a client shows them sanitized.
type ShadowReload struct {
	// Reloaded is true when the file loaded and its policy is now in
	// force, for every decision stored from then on.
	Reloaded bool `json:"reloaded"`
	// Error is why the file did not load, "" when it did.
	Error string `json:"error,omitempty"`
	// File, Rules and LoadedAt describe the policy in force: the file it
	// was read from, its number of rules and when it was loaded.
	File     string    `json:"file"`
	Rules    int       `json:"rules"`
	LoadedAt time.Time `json:"loaded_at"`
	// SHA256 is the hex SHA-256 of the text of the policy in force, to
	// tell which version of the file runs.
	SHA256 string `json:"sha256"`
}

// reloadQuery is the empty body of a reload.
type reloadQuery struct{}

// ErrReloadFederated is the answer of a reload to a federation.
var ErrReloadFederated = Invalid(errors.New("a shadow policy is reloaded on the collector that runs it, not on several read as one: " +
	"connect to that collector (--connect URL)"))

// ReloadShadowPolicy asks POST /v1/policy/shadow/reload.
func (r *Remote) ReloadShadowPolicy(ctx context.Context) (ShadowReload, error) {
	return call(ctx, r, opReloadShadow, reloadQuery{})
}

// ReloadShadowPolicy refuses: each collector runs its own shadow policy
// file, and a federation cannot reload several all or nothing. The
// answer wraps ErrInvalid and says what to do.
func (f *Federation) ReloadShadowPolicy(context.Context) (ShadowReload, error) {
	return ShadowReload{}, ErrReloadFederated
}
