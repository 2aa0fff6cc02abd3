package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Secret holds a key or token. It formats as "[set]" or "[unset]" under
// every verb, so printing a Config never leaks it; Value returns the secret.
type Secret string

// Value returns the secret itself, for the one place that sends it.
func (s Secret) Value() string { return string(s) }

// String never returns the secret.
func (s Secret) String() string {
	if s == "" {
		return "[unset]"
	}
	return "[set]"
}

// GoString never returns the secret.
func (s Secret) GoString() string { return s.String() }

// Format never writes the secret, whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalText never writes the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the secret from the file.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret(strings.TrimSpace(string(b)))
	return nil
}

// Duration is a time.Duration written in the file as a string such as
// "2s", "500ms" or "30d" (days are accepted for retention).
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration, or a whole number of days ("30d").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalTOML accepts only strings: a bare number has no unit.
func (d *Duration) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a duration string such as \"2s\" (a bare number has no unit), got %v", v)
	}
	return d.UnmarshalText([]byte(s))
}

// ParseDuration parses a Go duration or a whole number of days such as "7d".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("want a duration such as \"2s\", \"15m\" or \"30d\", got %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as \"2s\", \"15m\" or \"30d\", got %q", s)
	}
	return v, nil
}

// Size is a byte count written as a number or with a unit: "512KiB", "4MiB", "1GiB".
type Size int64

// UnmarshalText parses a size with an optional KiB, MiB or GiB (or KB, MB, GB
// meaning the same binary units) suffix.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*z = Size(v)
	return nil
}

// UnmarshalTOML accepts a number of bytes or a string with a unit.
func (z *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("want a size >= 0, got %d", x)
		}
		*z = Size(x)
		return nil
	case string:
		return z.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("want a size such as \"4MiB\" or a number of bytes, got %T", v)
}

// MarshalText writes the size in bytes.
func (z Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(z), 10)), nil }

// ParseSize parses "1048576", "512KiB", "4MiB", "1GiB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a size such as \"4MiB\" or a number of bytes, got %q", s)
	}
	return n * mult, nil
}
