package main

import (
	"encoding/json"
	"errors"
	"os"
	"syscall"
	"time"
)

// lockInfo is what a collector records beside its database while it holds
// it, in PATH.lock-info: another command that finds the database in use
// reads it to say who holds it and where to ask instead.
type lockInfo struct {
	PID int `json:"pid"`
	// Listen is the address the collector's HTTP server listens on.
	Listen  string    `json:"listen"`
	Started time.Time `json:"started"`
}

func lockInfoPath(db string) string { return db + ".lock-info" }

// writeLockInfo records this process as the holder of db, listening on
// addr. The file is removed by removeLockInfo at a clean stop; one left by
// a crash is overwritten by the next holder and ignored by readers once
// its process is gone.
func writeLockInfo(db, addr string) error {
	b, err := json.Marshal(lockInfo{PID: os.Getpid(), Listen: addr, Started: time.Now().UTC()})
	if err != nil {
		return err
	}
	return os.WriteFile(lockInfoPath(db), append(b, '\n'), 0o600)
}

// removeLockInfo removes the record writeLockInfo made for db.
func removeLockInfo(db string) { _ = os.Remove(lockInfoPath(db)) }

// readLockInfo returns the holder recorded beside db; ok is false when
// there is no record, it cannot be read, or its process is gone.
func readLockInfo(db string) (info lockInfo, ok bool) {
	b, err := os.ReadFile(lockInfoPath(db))
	if err != nil || json.Unmarshal(b, &info) != nil || info.PID <= 0 || info.Listen == "" {
		return lockInfo{}, false
	}
	if p, err := os.FindProcess(info.PID); err != nil || errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone) {
		return lockInfo{}, false
	}
	return info, true
}
