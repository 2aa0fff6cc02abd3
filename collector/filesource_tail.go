package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/riskwatch/riskwatch/internal/backoff"
	"github.com/riskwatch/riskwatch/store"
)

// readChunk is how many bytes one read from the file asks for.
const readChunk = 64 << 10

// markLen is how many of the last bytes read the tailer keeps to notice
// that the content before its position was rewritten in place.
const markLen = 32

// maxStoreBackoff caps the wait between attempts to commit to a failing store.
const maxStoreBackoff = 5 * time.Second

// fileTail is the state of one FileSource.Run: the state machine described
// at fileState, driven by step. Only Run's goroutine touches it.
type fileTail struct {
	s  *FileSource
	in *Intake
	// target is the file the path named (symlinks resolved) when f was
	// opened, for messages and for finding rotated files; "" until then.
	// The path itself is what is watched: a symlink re-pointed to another
	// file is a rotation, as for tail -F.
	target string
	// atStart is true until the first attempt to open the file: a file
	// found then with no checkpoint starts at its end unless FromStart.
	atStart bool
	state   fileState
	// resume is the state to return to when a pause ends.
	resume fileState

	// f is the open file, nil in waiting-for-file and error.
	f     *os.File
	id    fileIdentity
	split *lineSplitter
	chunk []byte
	// mark holds the last bytes read from f (at most markLen), which end at
	// split.end(): if the file no longer holds them there, it was rewritten.
	mark []byte
	// cp is the last committed (or, at start, stored) checkpoint.
	cp    store.Checkpoint
	hasCP bool

	// next is the file now at the path, pinned when the rotation was seen
	// so that it cannot be missed while f drains; nil if none yet.
	next *os.File
	// lastGrowth is when f last grew (or the rotation was seen).
	lastGrowth time.Time
	// lastErr is the last error logged, so a repeated one is logged once.
	lastErr string
	// lastLines is the number of lines of the last batch read, the room
	// the next one starts with.
	lastLines int
}

func newFileTail(s *FileSource, in *Intake, cp store.Checkpoint, hasCP bool) *fileTail {
	return &fileTail{
		s:       s,
		in:      in,
		atStart: true,
		state:   stateStarting,
		split:   newLineSplitter(s.opts.MaxLine, 0),
		chunk:   make([]byte, readChunk),
		mark:    make([]byte, 0, markLen),
		cp:      cp,
		hasCP:   hasCP,
	}
}

// step does one unit of work and reports whether to wait a poll interval
// before the next one.
func (t *fileTail) step(ctx context.Context) bool {
	switch t.state {
	case stateReading:
		return t.stepRead(ctx)
	case stateAtEOF:
		return t.stepAtEOF(ctx)
	case stateDraining:
		return t.stepDrain(ctx)
	case statePaused:
		return t.stepPaused()
	default:
		return t.stepWaiting(ctx)
	}
}

func (t *fileTail) setState(st fileState) {
	if st != t.state {
		t.s.log.Debug("file source state", "from", t.state.String(), "to", st.String())
	}
	t.state = st
	t.s.setState(st)
}

// stepWaiting tries to open the file. A file that appears after the start is
// read from its beginning.
func (t *fileTail) stepWaiting(ctx context.Context) bool {
	startAtEnd := t.atStart && !t.s.opts.FromStart
	t.atStart = false
	target, err := filepath.EvalSymlinks(t.s.path)
	if err != nil {
		t.waitFor(err)
		return true
	}
	t.target = target
	f, err := os.Open(t.target)
	if err != nil {
		t.waitFor(err)
		return true
	}
	if old := t.findCheckpointed(f); old != nil {
		// The checkpointed file was rotated away while the source was
		// stopped (or failing): drain its rest first, then read f.
		t.next = f
		if err := t.open(ctx, old, false); err != nil {
			t.fail(err)
			return true
		}
		t.s.log.Info("the checkpointed file was rotated: draining it before the file at the path",
			"path", t.target, "rotated", old.Name(), "file_id", t.id.String())
		t.setState(stateDraining)
		return false
	}
	if err := t.open(ctx, f, startAtEnd); err != nil {
		t.fail(err)
		return true
	}
	return false
}

// findCheckpointed looks for the checkpointed file under another name
// (app.log.1, app.log-20261205, or a cronolog file the path no longer links
// to) when cur, the file now at the path, is not it: a file in the
// directory of the path or of its target with the checkpoint's device and
// inode, its fingerprint unchanged and at least the checkpoint's size. It
// returns that file opened, or nil.
func (t *fileTail) findCheckpointed(cur *os.File) *os.File {
	if !t.hasCP {
		return nil
	}
	prev, ok := parseFileID(t.cp.FileID)
	if !ok || (prev.dev == 0 && prev.ino == 0) {
		return nil
	}
	if ci, err := statFile(cur); err != nil || ci.sameFile(prev) {
		return nil
	}
	dirs := []string{filepath.Dir(t.target)}
	if d := filepath.Dir(t.s.path); d != dirs[0] {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.logErr(fmt.Errorf("look for the rotated file in %s: %w", dir, err))
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			st, err := e.Info()
			if err != nil || !infoOf(st).sameFile(prev) {
				continue
			}
			if f := t.openCheckpointed(filepath.Join(dir, e.Name()), prev); f != nil {
				return f
			}
		}
	}
	return nil
}

// openCheckpointed opens name if it is the checkpointed file prev, still
// holding the checkpoint's offset.
func (t *fileTail) openCheckpointed(name string, prev fileIdentity) *os.File {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	fi, err := statFile(f)
	if err == nil && fi.size >= t.cp.Offset {
		if same, err := matchIdentity(f, fi, prev); err == nil && same {
			return f
		}
	}
	_ = f.Close()
	return nil
}

// waitFor records why the file could not be opened: not there yet (waiting)
// or something worse (error).
func (t *fileTail) waitFor(err error) {
	if errors.Is(err, fs.ErrNotExist) {
		t.setState(stateWaiting)
		return
	}
	t.fail(fmt.Errorf("open %s: %w", t.s.path, err))
}

// open takes f as the file to read (f is closed with the source, also when
// open fails) and chooses where to start: at the checkpoint if f is the
// checkpointed file and still holds that offset; at 0 if there is a
// checkpoint of another file (replaced or truncated since); at the end of
// its last complete line if startAtEnd; else at 0.
func (t *fileTail) open(ctx context.Context, f *os.File, startAtEnd bool) error {
	t.setState(stateOpened)
	t.f = f
	id, fi, err := identify(f)
	if err != nil {
		return err
	}
	var off int64
	resumed := false
	switch {
	case t.hasCP:
		prev, ok := parseFileID(t.cp.FileID)
		if ok {
			match, err := matchIdentity(f, fi, prev)
			if err != nil {
				return err
			}
			resumed = match && t.cp.Offset <= fi.size
		}
		if resumed {
			off = t.cp.Offset
		} else {
			t.s.log.Info("file is not the checkpointed one (replaced or truncated): reading it from the start",
				"path", t.target, "checkpoint_file_id", t.cp.FileID, "checkpoint_offset", t.cp.Offset)
		}
	case startAtEnd:
		if off, err = lastLineEnd(f, fi.size, t.s.opts.MaxLine); err != nil {
			return err
		}
	}
	t.id = id
	t.split.reset(off)
	t.mark = t.mark[:0]
	t.lastGrowth = time.Now()
	t.lastErr = ""
	t.s.log.Info("file opened", "path", t.target, "file_id", id.String(), "offset", off,
		"resumed", resumed, "size", fi.size)
	t.s.setLag(fi.size - off)
	t.setState(stateReading)
	if !t.hasCP && startAtEnd {
		// Remember the starting point now, so a restart before the first
		// line does not skip what was written meanwhile.
		return t.commit(ctx, t.in.Batch())
	}
	return nil
}

// readMore reads and commits one batch unless the inbox is full. Before
// reading it checks that the file still holds what was read so far: a file
// rewritten in place while reading was paused (copytruncate, then grown past
// the old position) is read again from its start, not from the old offset
// in foreign content. It reports whether the file is at its end, and
// whether the step must end now (reading paused, or it failed).
func (t *fileTail) readMore(ctx context.Context) (eof, stop bool) {
	if t.pauseIfFull() {
		return false, true
	}
	fi, err := statFile(t.f)
	if err != nil {
		t.fail(err)
		return false, true
	}
	changed, err := t.changedInPlace(fi)
	if err == nil && changed {
		err = t.truncated(ctx, fi)
	}
	if err != nil {
		t.fail(err)
		return false, true
	}
	eof, err = t.readBatch(ctx)
	if err != nil {
		t.fail(err)
		return false, true
	}
	return eof, false
}

// stepRead reads and commits one batch; at the end of the file it moves to
// at-eof.
func (t *fileTail) stepRead(ctx context.Context) bool {
	eof, stop := t.readMore(ctx)
	if stop {
		return true
	}
	if !eof {
		return false
	}
	t.setState(stateAtEOF)
	return true
}

// stepAtEOF looks at the file and the path once all complete lines are
// stored: the file grew (read on), shrank or was rewritten in place
// (copytruncate: read again from 0), or the path now names another file or
// none and the file was deleted (drain).
func (t *fileTail) stepAtEOF(ctx context.Context) bool {
	fi, err := statFile(t.f)
	if err != nil {
		t.fail(err)
		return true
	}
	end := t.split.end()
	t.s.setLag(fi.size - end)
	changed, err := t.changedInPlace(fi)
	if err != nil {
		t.fail(err)
		return true
	}
	switch {
	case changed:
		if err := t.truncated(ctx, fi); err != nil {
			t.fail(err)
			return true
		}
		return false
	case fi.size > end:
		t.setState(stateReading)
		return false
	}
	if t.rotatedAway(fi) {
		t.lastGrowth = time.Now()
		t.s.log.Info("file rotated: draining the old file", "path", t.target, "file_id", t.id.String())
		t.setState(stateDraining)
		return false
	}
	return true
}

// changedInPlace reports whether f (whose current look is fi) no longer
// holds what was read from it: it shrank below the read position, its
// fingerprinted first bytes changed, or the last bytes read are not where
// they were.
func (t *fileTail) changedInPlace(fi fileInfo) (bool, error) {
	end := t.split.end()
	if fi.size < end {
		return true, nil
	}
	same, err := matchIdentity(t.f, fi, t.id)
	if err != nil || !same {
		return !same, err
	}
	if len(t.mark) == 0 {
		return false, nil
	}
	got := make([]byte, len(t.mark))
	n, err := t.f.ReadAt(got, end-int64(len(got)))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s: %w", t.target, err)
	}
	return !bytes.Equal(got[:n], t.mark), nil
}

// remember keeps the last markLen bytes read, p being the latest.
func (t *fileTail) remember(p []byte) {
	if len(p) >= markLen {
		t.mark = append(t.mark[:0], p[len(p)-markLen:]...)
		return
	}
	t.mark = append(t.mark, p...)
	if over := len(t.mark) - markLen; over > 0 {
		t.mark = append(t.mark[:0], t.mark[over:]...)
	}
}

// rotatedAway reports whether the path now names another file (which it
// pins as next) or none while f has been deleted.
func (t *fileTail) rotatedAway(fi fileInfo) bool {
	pi, err := statPath(t.s.path)
	switch {
	case err == nil:
		return !pi.sameFile(t.id) && t.pinNext()
	case errors.Is(err, fs.ErrNotExist):
		// Renamed away with nothing new yet: keep reading it. Deleted:
		// drain it and let it go.
		return !fi.linked
	default:
		t.logErr(fmt.Errorf("stat %s: %w", t.s.path, err))
		return false
	}
}

// pinNext opens the file now at the path as next, unless it is f itself. It
// reports whether next is set.
func (t *fileTail) pinNext() bool {
	if t.next != nil {
		return true
	}
	nf, err := os.Open(t.s.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.logErr(fmt.Errorf("open %s: %w", t.s.path, err))
		}
		return false
	}
	ni, err := statFile(nf)
	if err != nil || ni.sameFile(t.id) {
		_ = nf.Close()
		return false
	}
	t.next = nf
	return true
}

// stepDrain reads the rotated file to its end; once it has stayed unchanged
// for RotateWait, its unterminated last line (if any) is stored as a final
// line and the source moves to the next file.
func (t *fileTail) stepDrain(ctx context.Context) bool {
	eof, stop := t.readMore(ctx)
	if stop {
		return true
	}
	if !eof {
		return false
	}
	t.pinNext()
	if time.Since(t.lastGrowth) < t.s.opts.RotateWait {
		return true
	}
	if err := t.finish(ctx, "incomplete last line of a rotated file"); err != nil {
		t.fail(err)
		return true
	}
	t.closeFile()
	if t.next == nil {
		t.setState(stateWaiting)
		return false
	}
	nf := t.next
	t.next = nil
	if target, err := filepath.EvalSymlinks(t.s.path); err == nil {
		t.target = target
	}
	if err := t.open(ctx, nf, false); err != nil {
		t.fail(err)
		return true
	}
	return false
}

// truncated handles f shrinking below what was read, or its first bytes
// changing: the content was replaced in place (copytruncate). What was
// buffered of the old content is stored as a final line, then f is read
// again from 0 as a new file.
func (t *fileTail) truncated(ctx context.Context, fi fileInfo) error {
	if err := t.finish(ctx, "incomplete line before the file was truncated"); err != nil {
		return err
	}
	id, _, err := identify(t.f)
	if err != nil {
		return err
	}
	t.s.log.Info("file truncated: reading from the start", "path", t.target,
		"old_file_id", t.id.String(), "file_id", id.String(), "size", fi.size)
	t.id = id
	t.split.reset(0)
	t.mark = t.mark[:0]
	t.setState(stateReading)
	return nil
}

// finish commits the unterminated last line of a file that will not grow
// again, if any: accepted if it is a usable event, else rejected with why.
func (t *fileTail) finish(ctx context.Context, why string) error {
	b := t.in.Batch()
	if fr, ok := t.split.flush(); ok {
		t.add(b, fr, why)
	}
	return t.commit(ctx, b)
}

// stepPaused waits for the inbox to fall below its limit.
func (t *fileTail) stepPaused() bool {
	full, _, limit := t.in.Full()
	if full {
		return true
	}
	t.s.log.Info("inbox below its limit: reading resumes", "limit", limit)
	t.setState(t.resume)
	return false
}

// pauseIfFull enters paused when the inbox is at its limit.
func (t *fileTail) pauseIfFull() bool {
	full, _, limit := t.in.Full()
	if !full {
		return false
	}
	t.s.log.Info("inbox at its limit: reading paused", "limit", limit)
	t.resume = t.state
	t.setState(statePaused)
	return true
}

// readBatch reads complete lines until the batch is full or the file ends,
// and commits them with the checkpoint after the last one. It reports
// whether the end of the file was reached.
func (t *fileTail) readBatch(ctx context.Context) (bool, error) {
	b := t.in.Batch()
	b.Grow(t.lastLines)
	var size int64 // of the lines in b
	eof := false
	for b.Len() < fileBatchLines && size < fileBatchBytes {
		fr, ok := t.split.next()
		if ok {
			t.add(b, fr, "")
			size += fr.End - fr.Start
			continue
		}
		n, err := t.f.ReadAt(t.chunk, t.split.end())
		if n > 0 {
			t.split.feed(t.chunk[:n])
			t.remember(t.chunk[:n])
			t.lastGrowth = time.Now()
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("read %s: %w", t.target, err)
		}
		eof = true
		break
	}
	t.lastLines = b.Len()
	if err := t.commit(ctx, b); err != nil {
		return false, err
	}
	if fi, err := statFile(t.f); err == nil {
		t.s.setLag(fi.size - t.split.end())
	}
	return eof, nil
}

// add turns one line into an inbox event or a rejected record. why prefixes
// the reason of a rejected final line.
func (t *fileTail) add(b *Batch, fr frame, why string) {
	pos := "offset " + strconv.FormatInt(fr.Start, 10)
	reject := func(err error, head []byte) {
		if why != "" {
			err = fmt.Errorf("%s: %w", why, err)
		}
		b.Reject(pos, err, head)
	}
	if fr.TooLong {
		n := fr.End - fr.Start
		if !fr.Partial {
			n--
		}
		reject(lineTooLongError{n: n, max: t.s.opts.MaxLine}, fr.Head)
		return
	}
	ev, err := parseSourceEvent(fr.Line)
	if err != nil {
		reject(err, head(fr.Line))
		return
	}
	id := ev.EventID
	if id == "" {
		id = t.fileID() + ":" + strconv.FormatInt(fr.Start, 10)
	}
	b.AcceptEvent(id, ev)
}

// lineTooLongError is why a line over the size limit is rejected; its
// class is errLineTooLong ("too_long").
type lineTooLongError struct {
	n   int64
	max int
}

func (e lineTooLongError) Error() string {
	return fmt.Sprintf("line of %d bytes is over the %d-byte limit", e.n, e.max)
}

func (e lineTooLongError) Unwrap() error { return errLineTooLong }

// fileID returns the FileID for an event ID. A pending fingerprint is
// recomputed first: the line being stored is complete, so the fingerprint
// now covers the whole first line and is final.
func (t *fileTail) fileID() string {
	if t.id.pending {
		id, fi, err := identify(t.f)
		if err == nil {
			if same, err := matchIdentity(t.f, fi, t.id); err == nil && same {
				t.id = id
			}
		}
	}
	return t.id.String()
}

// commit stores b with the checkpoint at the current position through the
// intake, retrying while the store fails until ctx ends. Nothing is
// written when there is nothing new.
func (t *fileTail) commit(ctx context.Context, b *Batch) error {
	cp := store.Checkpoint{Source: t.s.source, FileID: t.id.String(), Offset: t.split.consumed()}
	if b.Len() == 0 && t.hasCP && cp == t.cp {
		return nil
	}
	b.Checkpoint(cp)
	prev := t.state
	for attempt := 0; ; attempt++ {
		// The commit completes even if ctx ends meanwhile: Run returns
		// after its current commit.
		_, err := t.in.Commit(context.WithoutCancel(ctx), b)
		if err == nil {
			t.cp, t.hasCP = cp, true
			if prev != t.state {
				t.setState(prev)
			}
			return nil
		}
		t.logErr(err)
		t.setState(stateError)
		if err := backoff.Sleep(ctx, backoff.Ceiling(t.s.opts.Poll, maxStoreBackoff, attempt)); err != nil {
			return err
		}
	}
}

// fail logs a failure to open or read the file (once while it repeats),
// closes what is open and enters the error state: the next step opens the
// path again and resumes at the last checkpoint if it is still that file.
// A commit cut short because Run is ending is no failure: Run returns next.
func (t *fileTail) fail(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	t.logErr(err)
	t.close()
	t.setState(stateError)
}

func (t *fileTail) logErr(err error) {
	if msg := err.Error(); msg != t.lastErr {
		t.lastErr = msg
		t.s.log.Warn("file source", "err", err)
	}
}

func (t *fileTail) closeFile() {
	if t.f != nil {
		_ = t.f.Close()
		t.f = nil
	}
}

// close releases every file Run opened.
func (t *fileTail) close() {
	t.closeFile()
	if t.next != nil {
		_ = t.next.Close()
		t.next = nil
	}
}

// lastLineEnd returns the offset after the last newline among the last
// maxLine+1 bytes of f: where reading "from the end" starts, so that a line
// being written is read whole. With no newline there, a file shorter than
// that is all one partial line (start at 0); a longer one starts at size.
func lastLineEnd(f *os.File, size int64, maxLine int) (int64, error) {
	lo := max(size-int64(maxLine)-1, 0)
	buf := make([]byte, min(readChunk, size-lo))
	for hi := size; hi > lo; {
		n := min(int64(len(buf)), hi-lo)
		p := buf[:n]
		if _, err := f.ReadAt(p, hi-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read end of %s: %w", f.Name(), err)
		}
		if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
			return hi - n + int64(i) + 1, nil
		}
		hi -= n
	}
	if lo == 0 {
		return 0, nil
	}
	return size, nil
}
