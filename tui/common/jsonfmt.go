package common

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/riskwatch/riskwatch/decision"
)

// DecisionJSON returns d as one line of JSON, the form `y` copies. Raw
// request or response bytes that are not valid JSON are kept as strings.
func DecisionJSON(d *decision.Decision) (string, error) {
	b, err := json.Marshal(d)
	if err == nil {
		return string(b), nil
	}
	c := *d
	c.Request = rawOrString(d.Request)
	c.Response = rawOrString(d.Response)
	b, err = json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode decision %s: %w", d.ID, err)
	}
	return string(b), nil
}

func rawOrString(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || json.Valid(raw) {
		return raw
	}
	return json.RawMessage(strconv.Quote(string(raw)))
}

// PrettyJSON indents raw JSON by two spaces. ok is false when raw is not
// valid JSON; then the text is raw itself, for showing as is.
func PrettyJSON(raw []byte) (text string, ok bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", true
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw), false
	}
	return b.String(), true
}
