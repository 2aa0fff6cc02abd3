package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// sseEvent is one server-sent event: the id it set, if any, and its data
// lines joined by "\n".
type sseEvent struct {
	id    string
	hasID bool
	data  []byte
}

// readSSE reads server-sent events (lines ending in LF or CRLF) from r until
// the end of the stream, calling seen after every line (heartbeat comments
// included) and emit for every event that carries data or an id. It returns
// nil at the end of the stream (an unfinished event there is dropped, as
// the SSE specification says), or when emit returns false; an error when a
// line is longer than maxLine bytes or reading fails.
func readSSE(r io.Reader, maxLine int, seen func(), emit func(sseEvent) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine+len("\r\n"))
	sc.Split(scanTerminatedLines)
	var ev sseEvent
	var data bytes.Buffer
	hasData := false
	for sc.Scan() {
		line := sc.Bytes()
		seen()
		if len(line) == 0 {
			if hasData || ev.hasID {
				if hasData {
					ev.data = bytes.Clone(data.Bytes())
				}
				if !emit(ev) {
					return nil
				}
			}
			ev, hasData = sseEvent{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.id, ev.hasID = string(value), true
			}
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("stream line longer than %d bytes", maxLine)
	}
	return sc.Err()
}

// scanTerminatedLines is bufio.ScanLines without the last line of the stream
// when no end of line follows it: that line was cut off.
func scanTerminatedLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && bytes.IndexByte(data, '\n') < 0 {
		return 0, nil, nil
	}
	return bufio.ScanLines(data, atEOF)
}
