package collector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/riskwatch/riskwatch/api"
)

// errNoShadow is the answer of a reload to a collector without a shadow
// policy (or a store read without a collector).
var errNoShadow = api.Invalid(errors.New("reload the shadow policy: this collector runs none (--shadow-policy or [policy] shadow)"))

// ReloadShadowPolicy reads the shadow policy file again, as SIGHUP does a
// headless collector's (Shadow.Reload: logged, and a failure kept for
// Health). A file that does not load keeps the previous policy: the
// answer then says why, with the policy still in force, and is not an
// error. The reload does not stop when ctx ends: once started it
// finishes (it is bounded by the fill of the live velocity).
func (r *Reader) ReloadShadowPolicy(ctx context.Context) (api.ShadowReload, error) {
	if r.shadow == nil {
		return api.ShadowReload{}, errNoShadow
	}
	if err := ctx.Err(); err != nil {
		return api.ShadowReload{}, err
	}
	h, text, err := r.shadow.reload()
	sum := sha256.Sum256([]byte(text))
	res := api.ShadowReload{Reloaded: err == nil, File: h.File, Rules: h.Rules, LoadedAt: h.LoadedAt, SHA256: hex.EncodeToString(sum[:])}
	if err != nil {
		res.Error = err.Error()
	}
	return res, nil
}
