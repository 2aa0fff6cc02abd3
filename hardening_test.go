package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSafeeURLPasswordNeverShown runs the collector with a password in
// --safee-url and looks everywhere it used to show: the startup log,
// /healthz and /v1/health (which the Health view renders). The URL is
// shown without its credentials (issue 19, defect 11).
func TestSafeeURLPasswordNeverShown(t *testing.T) {
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "SAFEE_API_KEY=crash-test-key"}
	emu := start(t, env, "emulator", "--listen", "127.0.0.1:0", "--key", "crash-test-key", "--seed", "1")
	base := emu.await(t, reEmulatorURL, 10*time.Second)
	withPassword := strings.Replace(base, "http://", "http://alice:hunter2-secret@", 1)

	p := start(t, env, "collect", "--db", filepath.Join(dir, "rw.db"), "--safee-url", withPassword, "--listen", "127.0.0.1:0")
	var addr string
	deadline := time.After(10 * time.Second)
	for addr == "" {
		select {
		case l := <-p.lines:
			if strings.Contains(l, "hunter2") || strings.Contains(l, "alice") {
				t.Errorf("the startup log shows the URL's credentials: %s", l)
			}
			if m := reListen.FindStringSubmatch(l); m != nil {
				if !strings.Contains(l, base) {
					t.Errorf("the startup line does not name %s: %s", base, l)
				}
				addr = m[1]
			}
		case <-p.done:
			t.Fatal("collector exited early")
		case <-deadline:
			t.Fatal("no startup line")
		}
	}
	for _, path := range []string{"/healthz", "/v1/health"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "hunter2") || strings.Contains(string(body), "alice") {
			t.Errorf("%s shows the URL's credentials: %s", path, body)
		}
		var h struct {
			SafeeURL string `json:"safee_url"`
		}
		if err := json.Unmarshal(body, &h); err != nil || h.SafeeURL != base {
			t.Errorf("%s: safee_url %q (%v), want %q", path, h.SafeeURL, err, base)
		}
	}
}
