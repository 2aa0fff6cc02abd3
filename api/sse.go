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
func readSSE(r *bufio.Reader, maxLine int, seen func(), emit func(sseEvent) bool) error {
	var ev sseEvent
	var data bytes.Buffer
	hasData := false
	for {
		line, err := readLine(r, maxLine)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
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
}

// readLine returns the next line without its end of line. At the end of the
// stream it returns io.EOF, dropping a last line that has no end of line.
func readLine(r *bufio.Reader, maxLine int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > maxLine+2 {
			return nil, fmt.Errorf("stream line longer than %d bytes", maxLine)
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}
