package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a policy file, at a place in it. Line and Col
// are 1-based; Col counts bytes, as Go's own tools do. Its text is
// "FILE:LINE:COL: message", the form editors and CI annotate.
type Error struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Msg  string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem Parse found in a file (at most MaxErrors), in
// the order they appear in it. Its text is one Error per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// MaxErrors bounds how many problems Parse reports for one file.
const MaxErrors = 20

// problems collects the errors of one file, by byte offset.
type problems struct {
	file  string
	lines lineIndex
	list  []problem
}

type problem struct {
	off int
	msg string
}

func (p *problems) add(off int, format string, args ...any) {
	p.list = append(p.list, problem{off: off, msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems as Errors, sorted by position and
// capped at MaxErrors, or nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b problem) int { return cmp.Compare(a.off, b.off) })
	n := min(len(p.list), MaxErrors)
	es := make(Errors, 0, n+1)
	for _, pr := range p.list[:n] {
		es = append(es, p.at(pr.off, pr.msg))
	}
	if len(p.list) > n {
		last := es[n-1]
		es = append(es, &Error{File: p.file, Line: last.Line, Col: last.Col,
			Msg: fmt.Sprintf("too many errors (%d more not shown)", len(p.list)-n)})
	}
	return es
}

// at makes an Error at byte offset off.
func (p *problems) at(off int, msg string) *Error {
	line, col := p.lines.position(off)
	return &Error{File: p.file, Line: line, Col: col, Msg: msg}
}

// lineIndex holds the offset at which each line of a file starts.
type lineIndex []int

func newLineIndex(src string) lineIndex {
	starts := lineIndex{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// position returns the 1-based line and byte column of offset off.
func (li lineIndex) position(off int) (line, col int) {
	off = max(off, 0)
	i, found := slices.BinarySearch(li, off)
	if !found {
		i--
	}
	return i + 1, off - li[i] + 1
}

// offset returns the byte offset of a 1-based line and column, clamped to
// the file.
func (li lineIndex) offset(line, col int) int {
	line = min(max(line, 1), len(li))
	return li[line-1] + max(col-1, 0)
}
