package store

// interner hands out one copy of each string it is asked for, so that a
// scan decoding many decisions allocates a value that repeats (an event
// type, a user agent) once instead of once per decision. It holds at most
// internMax strings of at most internLen bytes; others are copied each
// time. It is not safe for concurrent use: one per scan.
type interner struct {
	m map[string]string
}

const (
	internMax = 4096
	internLen = 256
)

func newInterner() *interner { return &interner{m: make(map[string]string, 64)} }

// get returns a string equal to b, which it does not keep.
func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(s) <= internLen && len(in.m) < internMax {
		in.m[s] = s
	}
	return s
}

// istr reads a string field as str does, from d.in when it has one.
func (d *decoder) istr() string {
	if d.in == nil {
		return d.str()
	}
	return d.in.get(d.view())
}
