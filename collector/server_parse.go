package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/riskwatch/riskwatch/safee"
)

// Reasons a whole ingest body is refused before any item is looked at.
var (
	errEmptyBody    = errors.New("empty body: want a JSON object, a JSON array of objects, or NDJSON (one object per line)")
	errEmptyArray   = errors.New("empty array: no events to accept")
	errTooManyItems = errors.New("too many events in one request")
)

// ingestReject is one unusable item of a body.
type ingestReject struct {
	// Index is the item's position among the body's items, from 0.
	Index int
	// Position names it for people: "item 3" (array or object), "line 7"
	// (NDJSON).
	Position string
	Err      error
	// Head is a copy of the item's first bytes.
	Head []byte
}

// acceptedItem is one usable item: its event ID and the event. An item
// that repeats an event ID seen earlier in the body is accepted too; the
// store keeps the first.
type acceptedItem struct {
	Index int
	ID    string
	Event safee.Event
}

// ingestBatch is a parsed body. Every item is either in Accepted or in
// Rejected, each list in item order.
type ingestBatch struct {
	Items    int
	Accepted []acceptedItem
	Rejected []ingestReject
}

// parseIngestBody splits body into items and validates each with
// safee.ParseEvent. A body that is valid JSON as a whole is one object or an
// array of objects; otherwise, or when ndjson is set (the Content-Type said
// so), each non-blank line is an item; a body that is neither (one line, not
// JSON) is a single item. newID names items without an event_id. The error
// is for the body as a whole (empty, or more than maxItems items).
func parseIngestBody(body []byte, ndjson bool, maxItems int, newID func() string) (ingestBatch, error) {
	if b, ok := parseWellFormed(body, ndjson, maxItems, newID); ok {
		return b, nil
	}
	return parseItems(body, ndjson, maxItems, newID)
}

// parseItems is parseIngestBody's general way, for any body.
func parseItems(body []byte, ndjson bool, maxItems int, newID func() string) (ingestBatch, error) {
	raw, err := splitItems(body, ndjson, maxItems)
	if err != nil {
		return ingestBatch{}, err
	}
	b := ingestBatch{Items: len(raw)}
	for i, it := range raw {
		ev, err := parseSourceEvent(it.b)
		if err != nil {
			b.Rejected = append(b.Rejected, ingestReject{Index: i, Position: it.pos, Err: err, Head: head(it.b)})
			continue
		}
		id := ev.EventID
		if id == "" {
			id = newID()
		}
		b.Accepted = append(b.Accepted, acceptedItem{Index: i, ID: id, Event: ev})
	}
	return b, nil
}

// rawItem is one item's bytes and its position for messages.
type rawItem struct {
	pos string
	b   []byte
}

// utf8BOM is skipped at the start of a body (some Windows tools write it).
var utf8BOM = []byte("\xef\xbb\xbf")

// splitItems cuts body into items without decoding them (see
// parseIngestBody). Items alias body.
func splitItems(body []byte, ndjson bool, maxItems int) ([]rawItem, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	trimmed := bytes.Trim(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errEmptyBody
	}
	tooMany := fmt.Errorf("%w: the limit is %d, split the batch", errTooManyItems, maxItems)
	if !ndjson && json.Valid(trimmed) {
		if trimmed[0] != '[' {
			return []rawItem{{"item 0", trimmed}}, nil
		}
		elems, ok := splitArray(trimmed, maxItems)
		switch {
		case !ok:
			return nil, tooMany
		case len(elems) == 0:
			return nil, errEmptyArray
		}
		items := make([]rawItem, len(elems))
		for i, e := range elems {
			items[i] = rawItem{"item " + strconv.Itoa(i), e}
		}
		return items, nil
	}
	var items []rawItem
	lineNo := 0
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		lineNo++
		line = bytes.Trim(line, " \t\r")
		if len(line) == 0 {
			continue
		}
		if len(items) == maxItems {
			return nil, tooMany
		}
		items = append(items, rawItem{"line " + strconv.Itoa(lineNo), line})
	}
	if !ndjson && len(items) == 1 {
		items[0].pos = "item 0"
	}
	return items, nil
}

// splitArray returns the elements of b, which must be one valid JSON array,
// as subslices of b, without decoding them. It reports false, having stopped
// early, when there are more than limit elements.
func splitArray(b []byte, limit int) ([][]byte, bool) {
	var elems [][]byte
	depth, start := 0, -1
	inString, escaped := false, false
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth == 1 {
				start = i + 1
			}
		case ']', '}':
			if depth == 1 {
				if e := bytes.TrimSpace(b[start:i]); len(e) > 0 {
					if len(elems) == limit {
						return nil, false
					}
					elems = append(elems, e)
				}
			}
			depth--
		case ',':
			if depth == 1 {
				if len(elems) == limit {
					return nil, false
				}
				elems = append(elems, bytes.TrimSpace(b[start:i]))
				start = i + 1
			}
		}
	}
	return elems, true
}

// ndjsonTypes are the media types that declare a body NDJSON.
var ndjsonTypes = map[string]bool{
	"application/x-ndjson":     true,
	"application/ndjson":       true,
	"application/jsonl":        true,
	"application/x-jsonlines":  true,
	"application/jsonlines":    true,
	"application/x-json-lines": true,
}

// isNDJSON reports whether a Content-Type declares NDJSON.
func isNDJSON(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	return ndjsonTypes[mt]
}
