package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/internal/backoff"
)

// Defaults for FileOptions left zero.
const (
	DefaultFilePoll       = 250 * time.Millisecond
	DefaultFileMaxLine    = 1 << 20
	DefaultFileRotateWait = time.Second
)

// Batch bounds: one commit carries at most this many lines or bytes.
const (
	fileBatchLines = 1000
	fileBatchBytes = 1 << 20
)

// FileOptions configures a FileSource.
type FileOptions struct {
	// Path is the NDJSON file to tail. It is followed as tail -F does: a
	// symlink re-pointed to another file (cronolog style) is a rotation, the
	// old file read to its end, then the new one from its start.
	Path string
	// FromStart reads a file found at start with no checkpoint from its
	// beginning instead of its end.
	FromStart bool
	// Poll is how often the file is checked for new data, rotation and
	// truncation (default DefaultFilePoll).
	Poll time.Duration
	// MaxLine is the longest usable line in bytes, without its newline
	// (default DefaultFileMaxLine). Longer lines are rejected.
	MaxLine int
	// RotateWait is how long a file that was rotated away (renamed and
	// replaced, or deleted) must stay unchanged before the source lets it go
	// and moves on (default DefaultFileRotateWait). It covers writers that
	// keep writing to the old file for a moment after the rotation.
	RotateWait time.Duration
	// Logger receives state changes and errors (default slog.Default()).
	Logger *slog.Logger
}

// FileSource tails one NDJSON file into the store's inbox through its
// Intake.
//
// Guarantees: each complete line is stored exactly once, as an inbox event
// or as a rejected record, together with the checkpoint (file identity and
// the offset after the line) in the same transaction, so a restart resumes
// after the last stored line with nothing lost or repeated. While the
// intake reports the inbox full, reading pauses (checked before each
// batch, so the inbox may pass its limit by one batch) and nothing is
// dropped: the file waits. It follows
// rename rotation (the old file is read to its end first), a symlink
// re-pointed to a new file, copytruncate and delete/recreate by polling; a partial last line waits for its newline.
// A file rotated by renaming while the source is stopped is found again
// under its new name in the same directory (same device and inode,
// unchanged fingerprint) and its rest read before the new file; lines after
// the checkpoint of a file that was deleted or compressed meanwhile cannot
// be found again and are lost.
//
// Event IDs are the event's own event_id, or "<FileID>:<offset of the line>"
// where FileID is the file's device, inode and fingerprint (see
// fileIdentity): the same line of the same file always gets the same ID.
type FileSource struct {
	opts   FileOptions
	path   string
	source string
	log    *slog.Logger

	// in is the intake of the current (or last) Run, for Stats.
	in atomic.Pointer[Intake]

	mu    sync.Mutex
	stats fileStats
}

// fileStats is the part of FileSource that Stats reads while Run writes.
type fileStats struct {
	state fileState
	// lag is the bytes of the file not read yet (a partial line waiting
	// for its newline has been read).
	lag int64
}

// NewFileSource returns a source for opts.Path. It does nothing until Run.
// Its name, and the Source of its events, rejections and checkpoint, is
// "file:" followed by the absolute path.
func NewFileSource(opts FileOptions) *FileSource {
	if opts.Poll <= 0 {
		opts.Poll = DefaultFilePoll
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultFileMaxLine
	}
	if opts.RotateWait <= 0 {
		opts.RotateWait = DefaultFileRotateWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	path := opts.Path
	if abs, err := filepath.Abs(path); err == nil && path != "" {
		path = abs
	}
	source := "file:" + path
	return &FileSource{
		opts:   opts,
		path:   path,
		source: source,
		log:    opts.Logger.With("source", source),
		stats:  fileStats{state: stateStarting},
	}
}

// Name returns the source's name, "file:" and the absolute path.
func (s *FileSource) Name() string { return s.source }

// Run tails the file until ctx ends, committing through in (whose source
// must be s.Name()), then returns nil once its current commit is done. It
// returns an error only when it cannot start (no path, the checkpoint
// unreadable). Failures while running (the file unreadable, the store
// refusing a write) are logged, shown in Stats and retried. Run must not
// be called again while it runs.
func (s *FileSource) Run(ctx context.Context, in *Intake) error {
	if s.opts.Path == "" {
		return errors.New("file source: no path given")
	}
	if in == nil || in.Source() != s.source {
		return fmt.Errorf("file source %s: needs an intake for %s", s.path, s.source)
	}
	s.in.Store(in)
	cp, hasCP, err := in.Checkpoint(s.source)
	if err != nil {
		return fmt.Errorf("file source %s: read checkpoint: %w", s.path, err)
	}
	t := newFileTail(s, in, cp, hasCP)
	defer t.close()
	defer s.setState(stateStopped)
	for ctx.Err() == nil {
		if t.step(ctx) && backoff.Sleep(ctx, s.opts.Poll) != nil {
			break
		}
	}
	return nil
}

// Stats returns the source's state and lag with what its intake counted
// (lines read, rejected, the latest rejections). Safe to call concurrently
// with Run.
func (s *FileSource) Stats() api.Source {
	st := s.in.Load().Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Name, st.State, st.LagBytes = s.source, s.stats.state.String(), s.stats.lag
	return st
}

func (s *FileSource) setState(st fileState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.state = st
}

func (s *FileSource) setLag(lag int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.lag = max(lag, 0)
}
