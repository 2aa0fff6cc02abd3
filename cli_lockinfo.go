package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockInfo is what a process records beside the database while it holds
// its lock, in PATH.lock-info: another command that finds the database in
// use reads it to say who holds it and where to ask instead.
type lockInfo struct {
	PID int `json:"pid"`
	// Command is the riskwatch command holding the database: "collect",
	// "dashboard", "stats", "export".
	Command string `json:"command,omitempty"`
	// Listen is the address the holder's HTTP server listens on; empty
	// for a command without one, and while a collector is still starting
	// (opening or migrating the database before it binds).
	Listen  string    `json:"listen"`
	Started time.Time `json:"started"`
}

// lockInfoPath is where the holder of db is recorded: beside the file db
// names, symlinks resolved, so that every path to the same file finds it.
func lockInfoPath(db string) string {
	if real, err := filepath.EvalSymlinks(db); err == nil {
		db = real
	}
	return db + ".lock-info"
}

// writeLockInfo records this process, running command, as the holder of
// db, listening on addr ("" for none yet). The file is removed by
// removeLockInfo at a clean stop; one left by a crash is overwritten by the
// next holder and ignored by readers once its process is gone.
func writeLockInfo(db, command, addr string) error {
	b, err := json.Marshal(lockInfo{PID: os.Getpid(), Command: command, Listen: addr, Started: time.Now().UTC()})
	if err != nil {
		return err
	}
	return os.WriteFile(lockInfoPath(db), append(b, '\n'), 0o600)
}

// removeLockInfo removes the record writeLockInfo made for db, if it is
// this process's.
func removeLockInfo(db string) {
	if info, ok := readLockInfo(db); ok && info.PID == os.Getpid() {
		_ = os.Remove(lockInfoPath(db))
	}
}

// readLockInfo returns the holder recorded beside db; ok is false when
// there is no record, it cannot be read, or its process is gone.
func readLockInfo(db string) (info lockInfo, ok bool) {
	b, err := os.ReadFile(lockInfoPath(db))
	if err != nil || json.Unmarshal(b, &info) != nil || info.PID <= 0 {
		return lockInfo{}, false
	}
	if p, err := os.FindProcess(info.PID); err != nil || errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone) {
		return lockInfo{}, false
	}
	return info, true
}
