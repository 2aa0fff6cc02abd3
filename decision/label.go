package decision

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// SubjectKind is what a label is about: one event, or every decision of a
// user, an IP or an email.
type SubjectKind string

// The subject kinds.
const (
	SubjectEvent SubjectKind = "event"
	SubjectUser  SubjectKind = "user"
	SubjectIP    SubjectKind = "ip"
	SubjectEmail SubjectKind = "email"
)

// SubjectKinds lists the kinds in precedence order: a decision's label is
// its event's, else its user's, else its email's, else its IP's.
var SubjectKinds = [...]SubjectKind{SubjectEvent, SubjectUser, SubjectEmail, SubjectIP}

// ParseSubjectKind reads a subject kind.
func ParseSubjectKind(s string) (SubjectKind, error) {
	k := SubjectKind(strings.ToLower(strings.TrimSpace(s)))
	if k.index() < 0 {
		return "", fmt.Errorf("unknown subject kind %q (want event, user, ip or email)", s)
	}
	return k, nil
}

// index is k's position in SubjectKinds, -1 for an unknown kind.
func (k SubjectKind) index() int {
	for i, x := range SubjectKinds {
		if x == k {
			return i
		}
	}
	return -1
}

// NormalizeSubject returns value as labels of kind k hold it, so that a
// label matches a decision however the value was typed: an IP in its
// canonical form, an email trimmed and lower-cased; events and users as
// given.
func NormalizeSubject(k SubjectKind, value string) string {
	switch k {
	case SubjectIP:
		if a, err := netip.ParseAddr(strings.TrimSpace(value)); err == nil && a.Zone() == "" {
			return a.Unmap().String()
		}
	case SubjectEmail:
		return strings.ToLower(strings.TrimSpace(value))
	}
	return value
}

// SubjectOf returns d's value of kind k, normalised ("" when d has none).
func SubjectOf(d *Decision, k SubjectKind) string {
	switch k {
	case SubjectEvent:
		return d.EventID
	case SubjectUser:
		return d.UserID
	case SubjectIP:
		if d.IP == "" {
			return ""
		}
		return NormalizeSubject(k, d.IP)
	case SubjectEmail:
		if d.Email == "" {
			return ""
		}
		return NormalizeSubject(k, d.Email)
	}
	return ""
}

// LabelClass is what a label says: fraud or legit, or retract, which
// clears the subject's label.
type LabelClass string

// The classes.
const (
	LabelFraud   LabelClass = "fraud"
	LabelLegit   LabelClass = "legit"
	LabelRetract LabelClass = "retract"
)

// ParseLabelClass reads a class without regard to case.
func ParseLabelClass(s string) (LabelClass, error) {
	switch c := LabelClass(strings.ToLower(strings.TrimSpace(s))); c {
	case LabelFraud, LabelLegit, LabelRetract:
		return c, nil
	}
	return "", fmt.Errorf("unknown label %q (want fraud, legit or retract)", s)
}

// LabelSource says where a label came from.
type LabelSource string

// The sources.
const (
	SourceManual LabelSource = "manual"
	SourceImport LabelSource = "import"
	SourceRule   LabelSource = "rule"
)

// Limits of a label entry's text.
const (
	MaxSubjectLen = 512
	MaxReasonLen  = 1000
	MaxAuthorLen  = 200
)

// LabelEntry is one entry of the labels ledger. Entries are never changed
// or removed; a later entry of the same subject supersedes an earlier one.
type LabelEntry struct {
	// Seq orders the ledger: entries are recorded with increasing Seq.
	Seq     uint64      `json:"seq"`
	Kind    SubjectKind `json:"kind"`
	Subject string      `json:"subject"`
	Class   LabelClass  `json:"class"`
	Reason  string      `json:"reason"`
	Source  LabelSource `json:"source"`
	Author  string      `json:"author"`
	// AppliesFrom is the event time from which a subject's decisions carry
	// the label; zero means all of them.
	AppliesFrom time.Time `json:"applies_from,omitzero"`
	// RecordedAt is when the entry was written.
	RecordedAt time.Time `json:"recorded_at"`
}

// Check normalises e's subject and refuses an entry the ledger cannot
// hold: an unknown kind, class or source, an empty, over-long or invalid
// UTF-8 subject, reason or author.
func (e *LabelEntry) Check() error {
	if e.Kind.index() < 0 {
		return fmt.Errorf("unknown subject kind %q (want event, user, ip or email)", e.Kind)
	}
	if _, err := ParseLabelClass(string(e.Class)); err != nil || e.Class != LabelClass(strings.ToLower(string(e.Class))) {
		return fmt.Errorf("unknown label %q (want fraud, legit or retract)", e.Class)
	}
	switch e.Source {
	case SourceManual, SourceImport, SourceRule:
	default:
		return fmt.Errorf("unknown label source %q (want manual, import or rule)", e.Source)
	}
	e.Subject = NormalizeSubject(e.Kind, e.Subject)
	switch {
	case strings.TrimSpace(e.Subject) == "":
		return fmt.Errorf("empty %s", e.Kind)
	case len(e.Subject) > MaxSubjectLen:
		return fmt.Errorf("%s longer than %d bytes", e.Kind, MaxSubjectLen)
	case len(e.Reason) > MaxReasonLen:
		return fmt.Errorf("reason longer than %d bytes", MaxReasonLen)
	case len(e.Author) > MaxAuthorLen:
		return fmt.Errorf("author longer than %d bytes", MaxAuthorLen)
	case !utf8.ValidString(e.Subject) || !utf8.ValidString(e.Reason) || !utf8.ValidString(e.Author):
		return errors.New("subject, reason and author must be valid UTF-8")
	}
	return nil
}

// appliesTo reports whether e, a label in force, labels a decision with
// event time t.
func (e *LabelEntry) appliesTo(t time.Time) bool {
	return e.AppliesFrom.IsZero() || !t.Before(e.AppliesFrom)
}

// LabelBook holds the labels in force: for each subject its latest entry
// unless that was a retract. Build it by adding ledger entries in Seq
// order (Add), or with NewLabelBook.
type LabelBook struct {
	m [len(SubjectKinds)]map[string]LabelEntry
	n int
}

// NewLabelBook returns the labels in force as of asOf: from entries (in
// Seq order) only those recorded before asOf; a zero asOf reads them all.
func NewLabelBook(entries []LabelEntry, asOf time.Time) *LabelBook {
	b := &LabelBook{}
	for i := range entries {
		if asOf.IsZero() || entries[i].RecordedAt.Before(asOf) {
			b.Add(entries[i])
		}
	}
	return b
}

// Add applies the next entry of the ledger: it becomes its subject's
// label, or clears it when it is a retract.
func (b *LabelBook) Add(e LabelEntry) {
	i := e.Kind.index()
	if i < 0 {
		return
	}
	if b.m[i] == nil {
		b.m[i] = map[string]LabelEntry{}
	}
	_, had := b.m[i][e.Subject]
	if e.Class == LabelRetract {
		if had {
			delete(b.m[i], e.Subject)
			b.n--
		}
		return
	}
	b.m[i][e.Subject] = e
	if !had {
		b.n++
	}
}

// Len is the number of subjects with a label.
func (b *LabelBook) Len() int { return b.n }

// Subject returns the label in force of one subject (its value as
// NormalizeSubject gives it).
func (b *LabelBook) Subject(k SubjectKind, value string) (LabelEntry, bool) {
	i := k.index()
	if i < 0 || b.m[i] == nil {
		return LabelEntry{}, false
	}
	e, ok := b.m[i][value]
	return e, ok
}

// Of returns d's label: its event's, else its user's, else its email's,
// else its IP's, each only when it applies from d's event time on.
func (b *LabelBook) Of(d *Decision) (LabelEntry, bool) {
	for i, k := range SubjectKinds {
		if len(b.m[i]) == 0 {
			continue
		}
		v := SubjectOf(d, k)
		if v == "" {
			continue
		}
		if e, ok := b.m[i][v]; ok && e.appliesTo(d.EventTime) {
			return e, true
		}
	}
	return LabelEntry{}, false
}

// Apply sets the Label of each decision in ds to its label in force ("" when
// it has none).
func (b *LabelBook) Apply(ds []Decision) {
	for i := range ds {
		ds[i].Label = ""
		if e, ok := b.Of(&ds[i]); ok {
			ds[i].Label = e.Class
		}
	}
}

// Each calls fn with every label in force, in no particular order, until
// fn returns false.
func (b *LabelBook) Each(fn func(LabelEntry) bool) {
	for i := range b.m {
		for _, e := range b.m[i] {
			if !fn(e) {
				return
			}
		}
	}
}

// LabelStats counts the labels in force by class and subject kind, and
// the entries of the ledger.
type LabelStats struct {
	Entries uint64                                `json:"entries"`
	InForce map[LabelClass]map[SubjectKind]uint64 `json:"in_force"`
}

// StatsOf counts b's labels; entries is the ledger's length.
func (b *LabelBook) StatsOf(entries uint64) LabelStats {
	s := LabelStats{Entries: entries, InForce: map[LabelClass]map[SubjectKind]uint64{}}
	for _, c := range []LabelClass{LabelFraud, LabelLegit} {
		s.InForce[c] = map[SubjectKind]uint64{}
		for _, k := range SubjectKinds {
			s.InForce[c][k] = 0
		}
	}
	b.Each(func(e LabelEntry) bool {
		s.InForce[e.Class][e.Kind]++
		return true
	})
	return s
}

// CompareLabels orders labels by when they were recorded, then by Seq.
func CompareLabels(a, b LabelEntry) int {
	if c := a.RecordedAt.Compare(b.RecordedAt); c != 0 {
		return c
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// OfSubjects is Of for a decision given by its subject values as stored
// (not normalised) and its event time. It allocates nothing for the usual
// values: IPv4 addresses in dotted form and lower-case emails.
func (b *LabelBook) OfSubjects(event, user, email, ip []byte, t time.Time) (LabelEntry, bool) {
	vals := [len(SubjectKinds)][]byte{event, user, email, ip}
	for i, k := range SubjectKinds {
		m, v := b.m[i], vals[i]
		if len(m) == 0 || len(v) == 0 {
			continue
		}
		var e LabelEntry
		var ok bool
		if canonical(k, v) {
			e, ok = m[string(v)]
		} else {
			e, ok = m[NormalizeSubject(k, string(v))]
		}
		if ok && e.appliesTo(t) {
			return e, true
		}
	}
	return LabelEntry{}, false
}

// canonical reports whether NormalizeSubject would leave v as it is,
// checking cheaply: any IP of digits and dots (a canonical IPv4 address,
// or not an address at all), any email without upper case, spaces or
// non-ASCII; events and users always.
func canonical(k SubjectKind, v []byte) bool {
	switch k {
	case SubjectIP:
		for _, c := range v {
			if (c < '0' || c > '9') && c != '.' {
				return false
			}
		}
	case SubjectEmail:
		for _, c := range v {
			if c <= ' ' || c >= 0x80 || (c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
