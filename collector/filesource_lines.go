package collector

import (
	"bytes"
)

// rejectHeadLen bounds the first bytes of unusable input (a file's line, a
// posted item) kept in its rejected record.
const rejectHeadLen = 256

// frame is one line cut from a file by lineSplitter.
type frame struct {
	// Start is the file offset of the line's first byte; End is the offset
	// after its newline (or after its last byte for a flushed final line).
	Start, End int64
	// Line is the line without its "\n" and without one trailing "\r". It
	// aliases the splitter's buffer: valid only until the next feed.
	Line []byte
	// TooLong marks a line over the splitter's limit. Its bytes were
	// discarded as they streamed past; only Head (its first bytes, owned by
	// the frame) remains.
	TooLong bool
	Head    []byte
	// Partial marks a final line that had no newline, returned by flush.
	Partial bool
}

// lineSplitter cuts a byte stream that starts at a known file offset into
// NDJSON lines. It is fed in arbitrary chunks and yields the same frames
// whatever the chunking. Blank lines (only spaces, tabs and "\r") are
// skipped. A line longer than max bytes (excluding its "\n") is never
// buffered whole: once the buffered part exceeds max the splitter discards
// bytes until the next newline and reports a TooLong frame, so memory stays
// bounded by max plus one fed chunk.
type lineSplitter struct {
	max int
	// buf[r:] holds bytes not yet returned in a frame; buf[r] is at file
	// offset off. scan counts bytes of buf[r:] already searched for '\n'.
	buf  []byte
	r    int
	off  int64
	scan int
	// skipping is true inside an over-long line that started at skipStart.
	skipping  bool
	skipStart int64
	skipHead  []byte
}

func newLineSplitter(max int, off int64) *lineSplitter {
	return &lineSplitter{max: max, off: off}
}

// reset drops everything buffered and restarts at file offset off.
func (s *lineSplitter) reset(off int64) {
	*s = lineSplitter{max: s.max, buf: s.buf[:0], off: off}
}

// feed appends the next bytes of the stream. Frames returned earlier become
// invalid.
func (s *lineSplitter) feed(p []byte) {
	if s.skipping && s.r == len(s.buf) {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			i = len(p)
		}
		if need := rejectHeadLen - len(s.skipHead); need > 0 {
			s.skipHead = append(s.skipHead, p[:min(need, i)]...)
		}
		s.off += int64(i)
		p = p[i:]
	}
	if s.r > 0 {
		n := copy(s.buf, s.buf[s.r:])
		s.buf = s.buf[:n]
		s.r = 0
	}
	s.buf = append(s.buf, p...)
}

// consumed returns the offset after the last line returned or skipped: the
// checkpoint, before any partial or over-long line still in progress.
func (s *lineSplitter) consumed() int64 {
	if s.skipping {
		return s.skipStart
	}
	return s.off
}

// end returns the offset after the last byte fed.
func (s *lineSplitter) end() int64 {
	return s.off + int64(len(s.buf)-s.r)
}

// buffered reports whether a partial line (or an over-long one) is pending.
func (s *lineSplitter) buffered() bool {
	return s.skipping || len(s.buf) > s.r
}

// next returns the next complete non-blank line, or false when more input is
// needed.
func (s *lineSplitter) next() (frame, bool) {
	for {
		rest := s.buf[s.r:]
		i := bytes.IndexByte(rest[s.scan:], '\n')
		if i < 0 {
			s.scan = len(rest)
			if !s.skipping && len(rest) > s.max {
				s.startSkip(rest)
			}
			return frame{}, false
		}
		i += s.scan
		start := s.off
		end := s.off + int64(i) + 1
		line := rest[:i]
		s.r += i + 1
		s.off = end
		s.scan = 0
		if s.skipping {
			s.skipping = false
			return frame{Start: s.skipStart, End: end, TooLong: true, Head: s.skipHead}, true
		}
		if len(line) > s.max {
			return frame{Start: start, End: end, TooLong: true, Head: head(line)}, true
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if isBlank(line) {
			continue
		}
		return frame{Start: start, End: end, Line: line}, true
	}
}

// startSkip switches to discarding the over-long line held in rest.
func (s *lineSplitter) startSkip(rest []byte) {
	s.skipping = true
	s.skipStart = s.off
	s.skipHead = head(rest)
	s.off += int64(len(rest))
	s.buf = s.buf[:0]
	s.r = 0
	s.scan = 0
}

// flush returns the unterminated final line, if any, as a Partial frame and
// leaves the splitter empty at the end of the stream. It is for a file that
// will not grow again (rotated away or truncated). A blank remainder is
// consumed without a frame.
func (s *lineSplitter) flush() (frame, bool) {
	rest := s.buf[s.r:]
	end := s.end()
	switch {
	case s.skipping:
		f := frame{Start: s.skipStart, End: end, TooLong: true, Head: s.skipHead, Partial: true}
		s.reset(end)
		return f, true
	case len(rest) == 0:
		return frame{}, false
	}
	start := s.off
	line := bytes.TrimSuffix(rest, []byte{'\r'})
	s.r = len(s.buf)
	s.off = end
	s.scan = 0
	if isBlank(line) {
		return frame{}, false
	}
	if len(rest) > s.max {
		return frame{Start: start, End: end, TooLong: true, Head: head(rest), Partial: true}, true
	}
	return frame{Start: start, End: end, Line: line, Partial: true}, true
}

// head returns a copy of the first rejectHeadLen bytes of b.
func head(b []byte) []byte {
	return bytes.Clone(b[:min(len(b), rejectHeadLen)])
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
