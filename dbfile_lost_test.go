package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var reFileLost = regexp.MustCompile(`(level=ERROR msg="DATABASE FILE LOST.*)`)

// TestTruncatedDatabaseIsReported: the database file is truncated under a
// running collector while events arrive. Before, ingest kept answering 202
// and /healthz 200, and the writer died of SIGBUS. Now the collector logs
// the loss as an ERROR, refuses events (503), /healthz says so (non-200,
// store_error), and it stops on SIGINT without dying of a signal.
func TestTruncatedDatabaseIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	col := start(t, env, "collect", "--emulator", "--listen", "127.0.0.1:0", "--db", db)
	addr := col.await(t, reListen, 20*time.Second)
	ingest := func(n int) int {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"type":"$login","status":"$succeeded","event_id":"ev-%d-%d","user":{"user_id":"u%d"}}`+"\n", time.Now().UnixNano(), i, i)
		}
		resp, err := http.Post("http://"+addr+"/v1/events", "application/x-ndjson", strings.NewReader(b.String()))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ingest(200); code != http.StatusAccepted {
		t.Fatalf("ingest before: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h, _ := getHealth(addr); h.Decisions == 0; h, _ = getHealth(addr) {
		if time.Now().After(deadline) {
			t.Fatal("nothing scored in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Events keep arriving while the file is truncated.
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ingest(50)
		}
	}()
	defer func() {
		close(stop)
		<-loaded
	}()
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	line := col.await(t, reFileLost, 10*time.Second)
	if !strings.Contains(line, "truncated") {
		t.Errorf("the log does not say the file was truncated: %s", line)
	}

	if code := ingest(1); code != http.StatusServiceUnavailable {
		t.Errorf("ingest after the truncation: %d, want 503", code)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("healthz after the truncation: %v", err)
	}
	var h struct {
		StoreError string `json:"store_error"`
	}
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || resp.StatusCode == http.StatusOK || !strings.Contains(h.StoreError, "truncated") {
		t.Errorf("healthz after the truncation: %d %+v (%v)", resp.StatusCode, h, err)
	}

	if err := col.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("the collector is gone: %v", err)
	}
	select {
	case <-col.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the collector did not stop within 15s of SIGINT")
	}
	err = col.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("the collector died of %v", ws.Signal())
		}
	}
}
