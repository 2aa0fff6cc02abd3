package decision

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var labelT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// bruteLabel is the contract of SPEC section 12 read literally: for each
// kind in precedence order, the subject's latest entry recorded before
// asOf; a retract clears it; a label applies from its applies-from on.
func bruteLabel(entries []LabelEntry, d *Decision, asOf time.Time) (LabelEntry, bool) {
	for _, k := range []SubjectKind{SubjectEvent, SubjectUser, SubjectEmail, SubjectIP} {
		var v string
		switch k {
		case SubjectEvent:
			v = d.EventID
		case SubjectUser:
			v = d.UserID
		case SubjectEmail:
			v = NormalizeSubject(k, d.Email)
		case SubjectIP:
			v = NormalizeSubject(k, d.IP)
		}
		if v == "" {
			continue
		}
		var last *LabelEntry
		for i := range entries {
			e := &entries[i]
			if e.Kind == k && e.Subject == v && (asOf.IsZero() || e.RecordedAt.Before(asOf)) {
				last = e
			}
		}
		if last == nil || last.Class == LabelRetract {
			continue
		}
		if !last.AppliesFrom.IsZero() && d.EventTime.Before(last.AppliesFrom) {
			continue
		}
		return *last, true
	}
	return LabelEntry{}, false
}

func randomLedger(r *rand.Rand, n int) []LabelEntry {
	classes := []LabelClass{LabelFraud, LabelLegit, LabelRetract}
	var out []LabelEntry
	for i := range n {
		k := SubjectKinds[r.IntN(len(SubjectKinds))]
		var v string
		switch k {
		case SubjectEvent:
			v = fmt.Sprintf("ev-%d", r.IntN(40))
		case SubjectUser:
			v = fmt.Sprintf("u%d", r.IntN(8))
		case SubjectEmail:
			v = fmt.Sprintf("u%d@example.com", r.IntN(8))
		case SubjectIP:
			v = fmt.Sprintf("10.0.0.%d", r.IntN(6))
		}
		e := LabelEntry{Seq: uint64(i + 1), Kind: k, Subject: v, Class: classes[r.IntN(3)], Source: SourceManual,
			RecordedAt: labelT0.Add(time.Duration(i) * time.Hour)}
		if r.IntN(3) == 0 {
			e.AppliesFrom = labelT0.Add(time.Duration(r.IntN(48)) * time.Hour)
		}
		out = append(out, e)
	}
	return out
}

func randomDecision(r *rand.Rand) Decision {
	u := r.IntN(10)
	d := Decision{EventID: fmt.Sprintf("ev-%d", r.IntN(50)), UserID: fmt.Sprintf("u%d", u),
		EventTime: labelT0.Add(time.Duration(r.IntN(72)) * time.Hour)}
	if r.IntN(4) > 0 {
		d.Email = fmt.Sprintf("U%d@Example.com", r.IntN(10))
	}
	if r.IntN(4) > 0 {
		d.IP = fmt.Sprintf("10.0.0.%d", r.IntN(8))
		if r.IntN(4) == 0 {
			d.IP = "::ffff:" + d.IP
		}
	}
	if r.IntN(8) == 0 {
		d.UserID = ""
	}
	return d
}

func TestLabelBookAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		entries := randomLedger(r, r.IntN(60))
		asOf := time.Time{}
		if round%2 == 1 {
			asOf = labelT0.Add(time.Duration(r.IntN(70)) * time.Hour)
		}
		book := NewLabelBook(entries, asOf)
		for range 50 {
			d := randomDecision(r)
			got, gok := book.Of(&d)
			want, wok := bruteLabel(entries, &d, asOf)
			if gok != wok || got.Seq != want.Seq {
				t.Fatalf("round %d, decision %+v as of %v: got %v %+v, want %v %+v", round, d, asOf, gok, got, wok, want)
			}
			got, gok = book.OfSubjects([]byte(d.EventID), []byte(d.UserID), []byte(d.Email), []byte(d.IP), d.EventTime)
			if gok != wok || got.Seq != want.Seq {
				t.Fatalf("round %d, decision %+v: OfSubjects gives %v %+v, want %v %+v", round, d, gok, got, wok, want)
			}
		}
	}
}

func TestLabelPrecedence(t *testing.T) {
	d := Decision{EventID: "e1", UserID: "u1", Email: "A@x.io", IP: "::ffff:10.0.0.1", EventTime: labelT0}
	add := func(b *LabelBook, k SubjectKind, v string, c LabelClass) {
		e := LabelEntry{Kind: k, Subject: v, Class: c, Source: SourceManual}
		if err := e.Check(); err != nil {
			t.Fatal(err)
		}
		b.Add(e)
	}
	b := &LabelBook{}
	add(b, SubjectIP, "10.0.0.1", LabelFraud)
	if e, ok := b.Of(&d); !ok || e.Kind != SubjectIP {
		t.Fatalf("IP label (mapped address) not found: %+v %v", e, ok)
	}
	add(b, SubjectEmail, " a@X.io", LabelLegit)
	if e, _ := b.Of(&d); e.Kind != SubjectEmail || e.Class != LabelLegit {
		t.Fatalf("email should win over IP: %+v", e)
	}
	add(b, SubjectUser, "u1", LabelFraud)
	if e, _ := b.Of(&d); e.Kind != SubjectUser {
		t.Fatalf("user should win over email: %+v", e)
	}
	add(b, SubjectEvent, "e1", LabelLegit)
	if e, _ := b.Of(&d); e.Kind != SubjectEvent {
		t.Fatalf("event should win over user: %+v", e)
	}
	add(b, SubjectEvent, "e1", LabelRetract)
	if e, _ := b.Of(&d); e.Kind != SubjectUser {
		t.Fatalf("after retracting the event label the user's applies: %+v", e)
	}
	if b.Len() != 3 {
		t.Fatalf("Len = %d, want 3", b.Len())
	}
	// A user label from a later time does not apply to earlier decisions:
	// the email's does.
	b.Add(LabelEntry{Kind: SubjectUser, Subject: "u1", Class: LabelFraud, AppliesFrom: labelT0.Add(time.Hour)})
	if e, _ := b.Of(&d); e.Kind != SubjectEmail {
		t.Fatalf("applies-from ignored: %+v", e)
	}
}

func TestLabelEntryCheck(t *testing.T) {
	long := make([]byte, MaxSubjectLen+1)
	for i := range long {
		long[i] = 'a'
	}
	bad := []LabelEntry{
		{Kind: "device", Subject: "x", Class: LabelFraud, Source: SourceManual},
		{Kind: SubjectUser, Subject: "x", Class: "chargeback", Source: SourceManual},
		{Kind: SubjectUser, Subject: "x", Class: "FRAUD", Source: SourceManual},
		{Kind: SubjectUser, Subject: "x", Class: LabelFraud, Source: "robot"},
		{Kind: SubjectUser, Subject: " ", Class: LabelFraud, Source: SourceManual},
		{Kind: SubjectUser, Subject: string(long), Class: LabelFraud, Source: SourceManual},
		{Kind: SubjectUser, Subject: "x\xff", Class: LabelFraud, Source: SourceManual},
	}
	for _, e := range bad {
		if err := e.Check(); err == nil {
			t.Errorf("Check(%+v) accepted", e)
		}
	}
}
