package collector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
)

func TestAuthReadAndStreamRoutes(t *testing.T) {
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, readToken)
	n := postEvents(t, lc.url, readToken, "mixed", 21, 20)
	waitScored(t, lc.db, uint64(n))
	id := storedIDs(t, lc.db)[0]

	paths := []string{
		"/v1/decisions/latest?n=5", "/v1/decisions/" + id, "/v1/decisions?limit=3", "/v1/users/u1/journey",
		"/v1/users?sort=denies", "/v1/rates", "/v1/stats", "/v1/histogram?score=risk",
		"/v1/whatif?score=risk&challenge=50&deny=80", "/v1/flips?score=risk&challenge=50&deny=80", "/v1/health",
		"/v1/stream",
	}
	creds := []struct {
		name   string
		header string // Authorization; "" sends none
		status int
		want   string
	}{
		{"no token", "", 401, "missing Authorization header"},
		{"wrong token", "Bearer not-" + readToken, 401, "invalid bearer token"},
		{"not bearer", "Basic " + readToken, 401, "not a Bearer token"},
		{"right token", "Bearer " + readToken, 200, ""},
	}
	for _, path := range paths {
		for _, c := range creds {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, lc.url+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				// Closing the body ends a stream; read only the error body.
				defer resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
				}
				if c.status == 200 {
					return
				}
				var e api.WireError
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || !strings.Contains(e.Error, c.want) {
					t.Errorf("error %q (%v), want it to say %q", e.Error, err, c.want)
				}
				if strings.Contains(e.Error, readToken) {
					t.Errorf("the answer repeats the token: %q", e.Error)
				}
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
}

func TestAuthRemoteWithAWrongToken(t *testing.T) {
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, readToken)
	wrong := "wrong-" + readToken
	r := dialRemote(t, lc.url, wrong)

	_, err := r.Latest(context.Background(), api.LatestQuery{N: 10})
	var ae *api.Error
	if !errors.As(err, &ae) || !ae.Unauthorized() || !strings.Contains(err.Error(), "invalid bearer token") {
		t.Fatalf("Latest with a wrong token: %v", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the error shows the token: %v", err)
	}
	if ok, _, cerr := r.Connection(); ok || cerr == nil {
		t.Errorf("Connection() = %v, %v after a refused token", ok, cerr)
	}

	// A subscription keeps trying, stays disconnected and says why.
	ctx, cancel := context.WithCancel(context.Background())
	sub := r.Subscribe(ctx)
	if _, err := r.Health(context.Background()); err == nil {
		t.Fatal("Health with a wrong token succeeded")
	}
	waitFor(t, "the stream to be refused", 10*time.Second, func() bool {
		ok, _, err := r.Connection()
		return !ok && err != nil && strings.Contains(err.Error(), "invalid bearer token")
	})
	cancel()
	for b := range sub {
		t.Errorf("batch through a refused stream: %+v", b)
	}

	// The right token works on the same collector.
	good := dialRemote(t, lc.url, readToken)
	if _, err := good.Health(context.Background()); err != nil {
		t.Fatalf("Health with the right token: %v", err)
	}
	if ok, _, err := good.Connection(); !ok || err != nil {
		t.Errorf("Connection() = %v, %v after an answer", ok, err)
	}
}

func TestAuthNonLoopbackReadNeedsAToken(t *testing.T) {
	db := openTestStore(t)
	hub := NewHub()
	defer hub.Close()
	_, err := NewServer(ServerOptions{Listen: "0.0.0.0:7676", Proxy: srvEchoProxy,
		Health: func(context.Context) api.Health { return api.Health{} }, Reader: &Reader{db: db, hub: hub}})
	if err == nil || !strings.Contains(err.Error(), "without an ingest token") {
		t.Errorf("NewServer on 0.0.0.0 without a token: %v", err)
	}
}
