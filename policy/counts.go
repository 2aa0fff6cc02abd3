package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/riskwatch/riskwatch/decision"
)

// Counts counts decisions by action, in decision.Actions order. In JSON it
// is an object with every action: {"allow":N,"challenge":N,"deny":N,"error":N}.
type Counts [decision.NumActions]int

// Add counts one decision with action a (an unknown action is not counted).
func (c *Counts) Add(a decision.Action) {
	if i := a.Index(); i >= 0 {
		c[i]++
	}
}

// MarshalJSON writes the object form.
func (c Counts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range decision.Actions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(string(a)))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(c[i]))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object form; an unknown action is an error.
func (c *Counts) UnmarshalJSON(data []byte) error {
	var m map[string]int
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*c = Counts{}
	for k, n := range m {
		i := decision.Action(k).Index()
		if i < 0 {
			return fmt.Errorf("counts: unknown action %q", k)
		}
		c[i] = n
	}
	return nil
}

// Matrix counts decisions by two actions: Matrix[from][to], rows and
// columns in decision.Actions order. Replay's rows are Safe-e's actions
// and its columns the policy's; Diff's are the old and the new policy's.
// In JSON: {"allow":{"allow":N,...},...}.
type Matrix [decision.NumActions]Counts

// Add counts one decision.
func (m *Matrix) Add(from, to decision.Action) {
	if i := from.Index(); i >= 0 {
		m[i].Add(to)
	}
}

// MarshalJSON writes the object form.
func (m Matrix) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range decision.Actions {
		if i > 0 {
			b.WriteByte(',')
		}
		row, _ := m[i].MarshalJSON()
		b.WriteString(strconv.Quote(string(a)))
		b.WriteByte(':')
		b.Write(row)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object form; an unknown action is an error.
func (m *Matrix) UnmarshalJSON(data []byte) error {
	var rows map[string]Counts
	if err := json.Unmarshal(data, &rows); err != nil {
		return err
	}
	*m = Matrix{}
	for k, row := range rows {
		i := decision.Action(k).Index()
		if i < 0 {
			return fmt.Errorf("matrix: unknown action %q", k)
		}
		m[i] = row
	}
	return nil
}
