package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/store"
)

// A collector refused because another process holds the database says who
// holds it from the record that process made as soon as it took the lock:
// never its own --listen address. Before, a holder that was not a running
// collector (a query, a collector still migrating) left no record and the
// hint named the refused collector's own port.
func TestRefusedCollectorNamesTheHolder(t *testing.T) {
	for _, tc := range []struct {
		command string
		want    string
	}{
		{"export", "(riskwatch export)"},
		{"collect", "(riskwatch collect)"},
	} {
		t.Run(tc.command, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "held.db")
			cfg := config.Default(func(string) string { return "" })
			cfg.Store.Path = path
			db, err := openStore(cfg, store.Options{}, tc.command)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				db.Close()
				removeLockInfo(path)
				if _, err := os.Stat(lockInfoPath(path)); !os.IsNotExist(err) {
					t.Errorf("the record of the holder outlived it: %v", err)
				}
			}()
			code, _, stderr := runCLI(t, nil, "collect", "--emulator", "--listen", "127.0.0.1:7699", "--db", path)
			if code != 3 || !strings.Contains(stderr, fmt.Sprintf("pid %d %s", os.Getpid(), tc.want)) || strings.Contains(stderr, "7699") {
				t.Errorf("code %d, stderr %q", code, stderr)
			}
		})
	}
}

// The record is found whatever path names the database: a collector
// refused through a symlink names the holder's address, not its own.
func TestRefusedCollectorNamesTheHolderThroughASymlink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.db"), filepath.Join(dir, "rw.db")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	col := start(t, env, "collect", "--emulator", "--listen", "127.0.0.1:0", "--db", real)
	addr := col.await(t, reListen, 20*time.Second)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	own := ln.Addr().String()
	ln.Close()
	code, _, stderr := runCLI(t, nil, "collect", "--emulator", "--listen", own, "--db", link)
	if code != 3 || !strings.Contains(stderr, "--connect http://"+addr) || strings.Contains(stderr, own) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
