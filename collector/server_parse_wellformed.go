package collector

import "bytes"

// parseWellFormed is parseIngestBody for the common body: a JSON object,
// or a non-empty JSON array of objects, that are all valid events. It reads
// each item once, where the general way checks the whole body with
// json.Valid first and then parses every item. ok false means the body is
// anything else (or too many items); then it has called nothing and
// parseIngestBody takes the general way, which gives the same answer for
// every body this one accepts.
func parseWellFormed(body []byte, ndjson bool, maxItems int, newID func() string) (b ingestBatch, ok bool) {
	if ndjson {
		return ingestBatch{}, false
	}
	trimmed := bytes.Trim(bytes.TrimPrefix(body, utf8BOM), " \t\r\n")
	if len(trimmed) == 0 {
		return ingestBatch{}, false
	}
	var elems [][]byte
	switch trimmed[0] {
	case '{':
		elems = [][]byte{trimmed}
	case '[':
		elems, ok = splitArray(trimmed, maxItems)
		if !ok || len(elems) == 0 || !arrayLaidOut(trimmed, elems) {
			return ingestBatch{}, false
		}
	default:
		return ingestBatch{}, false
	}
	b = ingestBatch{Items: len(elems), Accepted: make([]acceptedItem, len(elems))}
	for i, e := range elems {
		ev, err := parseSourceEvent(e)
		if err != nil {
			return ingestBatch{}, false
		}
		b.Accepted[i] = acceptedItem{Index: i, ID: ev.EventID, Event: ev}
	}
	for i := range b.Accepted {
		if b.Accepted[i].ID == "" {
			b.Accepted[i].ID = newID()
		}
	}
	return b, true
}

// arrayLaidOut reports whether arr, a byte string that starts with '[',
// is exactly '[', the elements elems (subslices of arr, as splitArray
// returns them) separated by single commas, and ']', with nothing but JSON
// whitespace between them. With every element a valid JSON value, arr is
// then a valid JSON array of exactly those elements.
func arrayLaidOut(arr []byte, elems [][]byte) bool {
	if len(arr) < 2 || arr[len(arr)-1] != ']' {
		return false
	}
	pos := 1
	for i, e := range elems {
		if len(e) == 0 {
			return false
		}
		start := cap(arr) - cap(e) // e is arr[start : start+len(e)]
		if start < pos || start+len(e) > len(arr) {
			return false
		}
		gap := arr[pos:start]
		if i > 0 {
			before, after, found := bytes.Cut(gap, []byte{','})
			if !found || !jsonSpace(before) || !jsonSpace(after) {
				return false
			}
		} else if !jsonSpace(gap) {
			return false
		}
		pos = start + len(e)
	}
	return jsonSpace(arr[pos : len(arr)-1])
}

// jsonSpace reports whether b is only JSON whitespace.
func jsonSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
