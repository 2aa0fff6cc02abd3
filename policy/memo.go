package policy

// memo remembers the results of a function of a string (a user agent's
// device key or family, an address's network), up to memoSize of them:
// they repeat, and hashing, classifying or parsing costs more than a
// lookup.
type memo map[string]string

// memoSize bounds a memo's entries and memoKeyLen their keys.
const (
	memoSize   = 4096
	memoKeyLen = 512
)

func (m *memo) get(k string, f func(string) string) string {
	if len(k) > memoKeyLen {
		return f(k)
	}
	if v, ok := (*m)[k]; ok {
		return v
	}
	if *m == nil || len(*m) >= memoSize {
		*m = make(memo, 64)
	}
	v := f(k)
	(*m)[k] = v
	return v
}
