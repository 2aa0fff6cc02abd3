package whatif

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/riskwatch/riskwatch/decision"
)

// Which names one of the two thresholds.
type Which int

// The thresholds the keys move.
const (
	Challenge Which = iota
	Deny
)

// String names the threshold: "challenge" or "deny".
func (w Which) String() string {
	if w == Deny {
		return "deny"
	}
	return "challenge"
}

// Move returns t with threshold w moved by delta points. Both stay within
// 0-100 and challenge never goes above deny: moving challenge past deny
// takes deny along, and moving deny below challenge takes challenge along.
func Move(t decision.Thresholds, w Which, delta float64) decision.Thresholds {
	if w == Deny {
		return Set(t, w, t.Deny+delta)
	}
	return Set(t, w, t.Challenge+delta)
}

// Set returns t with threshold w at v, under the rules of Move. A NaN v
// leaves t as it is.
func Set(t decision.Thresholds, w Which, v float64) decision.Thresholds {
	if math.IsNaN(v) {
		return t
	}
	v = min(max(v, 0), 100)
	if w == Deny {
		t.Deny = v
		t.Challenge = min(t.Challenge, v)
	} else {
		t.Challenge = v
		t.Deny = max(t.Deny, v)
	}
	return t
}

// ParseValue reads a threshold as typed: a number from 0 to 100.
func ParseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("type a score from 0 to 100")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number: type a score from 0 to 100", s)
	}
	if v < 0 || v > 100 {
		return 0, fmt.Errorf("%s is out of range: type a score from 0 to 100", s)
	}
	return v, nil
}
