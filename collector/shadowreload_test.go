package collector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

// Policies of the reload tests: each decides every decision by one rule,
// so a decision's shadow rule names the policy it was scored under.
const (
	reloadFirst  = "[[rule]]\nname = \"first\"\nwhen = \"true\"\naction = \"deny\"\n"
	reloadSecond = "[[rule]]\nname = \"second\"\nwhen = \"true\"\naction = \"challenge\"\n" +
		"[[rule]]\nname = \"never\"\nwhen = \"false\"\naction = \"allow\"\n"
	reloadBad = "default = \"maybe\"\n"
)

func hashOf(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// TestReloadShadowPolicyOverTheAPI reloads a running collector's shadow
// policy through api.Writer in-process, over HTTP with the token, and
// through a federation (refused): a good file applies to the decisions
// scored from then on and the answer names it; a bad one keeps the
// previous policy and the answer says why, with FILE:LINE:COL; a request
// without the token reloads nothing. Each reload is logged.
func TestReloadShadowPolicyOverTheAPI(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shadow.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadFirst)
	db := openTestStore(t)
	emu := newEmulator(t)
	var logs syncBuffer
	c, err := New(Options{
		DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Mode: ModeEmulator, Token: readToken,
		Pipeline: fastPipeline(nil, nil), ShadowPolicy: path, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Listener: listenRetry(t, "127.0.0.1:0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "collector", 10*time.Second, c.Run)
	g, err := emulator.NewGenerator("normal", 13, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	// score scores n more events and returns the shadow rules of the
	// decisions stored, in arrival order.
	var rules []string
	score := func(n int) []string {
		t.Helper()
		scoreGenerated(t, c, db, g, n)
		var out []string
		for d, err := range db.Scan(context.Background(), time.Time{}, time.Time{}) {
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != decision.ActionError {
				out = append(out, d.ShadowRule)
			}
		}
		added := out[len(rules):]
		rules = out
		return added
	}
	every := func(what string, got []string, rule string) {
		t.Helper()
		if len(got) == 0 {
			t.Fatalf("%s: no decision scored", what)
		}
		for _, r := range got {
			if r != rule {
				t.Fatalf("%s: a decision's shadow rule is %q, want %q (all: %v)", what, r, rule, got)
			}
		}
	}
	ctx := context.Background()
	remote, err := api.Dial("http://"+c.Addr(), readToken, api.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	var w api.Writer = c.Reader()

	every("before any reload", score(10), "first")

	// In-process: a good file applies from then on.
	write(reloadSecond)
	res, err := w.ReloadShadowPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reloaded || res.Error != "" || res.File != path || res.Rules != 2 || res.SHA256 != hashOf(reloadSecond) || res.LoadedAt.IsZero() {
		t.Errorf("in-process reload of a good file: %+v", res)
	}
	every("after the in-process reload", score(10), "second")

	// Over HTTP: a bad file keeps the policy in force and says why.
	write(reloadBad)
	res, err = remote.ReloadShadowPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reloaded || !strings.Contains(res.Error, "shadow.toml:1:11") || res.File != path || res.Rules != 2 ||
		res.SHA256 != hashOf(reloadSecond) {
		t.Errorf("remote reload of a bad file: %+v", res)
	}
	if h := c.Health(ctx).Shadow; h == nil || !strings.Contains(h.Error, "shadow.toml:1:11") || h.Rules != 2 {
		t.Errorf("health after a bad reload: %+v", h)
	}
	every("after the bad reload", score(10), "second")

	// Without the token, or through a federation: nothing reloads.
	write(reloadFirst)
	anon, err := api.Dial("http://"+c.Addr(), "", api.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if res, err := anon.ReloadShadowPolicy(ctx); err == nil || res.Reloaded {
		t.Errorf("a reload without the token: %+v, %v", res, err)
	}
	fed, err := api.Federate(api.Member{Name: "one", Reader: remote})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fed.ReloadShadowPolicy(ctx); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "--connect") {
		t.Errorf("a federation reloads: %v", err)
	}
	every("after refused reloads", score(10), "second")

	// Over HTTP with the token: the good file applies.
	res, err = remote.ReloadShadowPolicy(ctx)
	if err != nil || !res.Reloaded || res.Rules != 1 || res.SHA256 != hashOf(reloadFirst) {
		t.Errorf("remote reload of a good file: %+v, %v", res, err)
	}
	if h := c.Health(ctx).Shadow; h == nil || h.Error != "" || h.Rules != 1 {
		t.Errorf("health after a good reload: %+v", h)
	}
	every("after the remote reload", score(10), "first")

	// Each reload was logged as SIGHUP's is: two loads, one refusal.
	out := logs.String()
	if n := strings.Count(out, "shadow policy reloaded"); n != 2 {
		t.Errorf("%d reloads logged, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, "shadow policy not reloaded"); n != 1 || !strings.Contains(out, "shadow.toml:1:11") {
		t.Errorf("%d refusals logged, want 1 with the position:\n%s", n, out)
	}
}

// TestReloadWithoutShadowPolicy: a collector that runs no shadow policy,
// and a store read without a collector, answer a reload ErrInvalid, in
// process and over HTTP (400).
func TestReloadWithoutShadowPolicy(t *testing.T) {
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", newEmulator(t).URL, readToken)
	ctx := context.Background()
	if _, err := lc.c.Reader().ReloadShadowPolicy(ctx); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "runs none") {
		t.Errorf("in-process: %v", err)
	}
	if _, err := NewStoreReader(lc.db, nil).ReloadShadowPolicy(ctx); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("store reader: %v", err)
	}
	remote, err := api.Dial(lc.url, readToken, api.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if _, err := remote.ReloadShadowPolicy(ctx); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "runs none") {
		t.Errorf("remote: %v", err)
	}
}
