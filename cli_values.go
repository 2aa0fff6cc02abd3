package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// checkedValue is a flag value whose bad input is answered with what the
// flag expects, not with strconv's words: pflag reports it as
//
//	invalid argument "abc" for "--rate" flag: want events per second, a number >= 0 (0 = as fast as possible)
type checkedValue[T any] struct {
	p     *T
	parse func(string) (T, bool)
	want  string
	kind  string // the placeholder in --help: int, float, duration
	show  func(T) string
}

func (v *checkedValue[T]) Set(s string) error {
	x, ok := v.parse(strings.TrimSpace(s))
	if !ok {
		return errors.New("want " + v.want)
	}
	*v.p = x
	return nil
}

func (v *checkedValue[T]) String() string {
	if v.p == nil {
		return ""
	}
	return v.show(*v.p)
}

func (v *checkedValue[T]) Type() string { return v.kind }

// intAtLeast is an int flag that takes whole numbers from lo up.
func intAtLeast(p *int, def, lo int, want string) *checkedValue[int] {
	*p = def
	return &checkedValue[int]{p: p, want: want, kind: "int", show: strconv.Itoa, parse: func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo
	}}
}

// seedValue is an int64 flag that takes any whole number.
func seedValue(p *int64, def int64) *checkedValue[int64] {
	*p = def
	show := func(n int64) string { return strconv.FormatInt(n, 10) }
	return &checkedValue[int64]{p: p, want: "a whole number such as 42", kind: "int", show: show, parse: func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}}
}

// floatBetween is a float64 flag that takes finite numbers in [lo, hi].
func floatBetween(p *float64, def, lo, hi float64, want string) *checkedValue[float64] {
	*p = def
	show := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	return &checkedValue[float64]{p: p, want: want, kind: "float", show: show, parse: func(s string) (float64, bool) {
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && !math.IsNaN(f) && f >= lo && f <= hi
	}}
}

// durationAtLeast is a duration flag that takes Go durations from lo up.
func durationAtLeast(p *time.Duration, def, lo time.Duration, want string) *checkedValue[time.Duration] {
	*p = def
	show := func(d time.Duration) string {
		if d == 0 {
			return "0"
		}
		return d.String()
	}
	return &checkedValue[time.Duration]{p: p, want: want, kind: "duration", show: show, parse: func(s string) (time.Duration, bool) {
		d, err := time.ParseDuration(s)
		return d, err == nil && d >= lo
	}}
}
