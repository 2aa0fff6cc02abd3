package alert

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// str returns the string at key, "" when absent.
func str(tab map[string]any, key string) (string, error) {
	v, ok := tab[key]
	if !ok {
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", fmt.Errorf("want a string, got %s", describe(v))
	}
	return s, nil
}

// number returns the number at key (a TOML integer or float).
func number(tab map[string]any, key string) (float64, bool, error) {
	v, ok := tab[key]
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int64:
		return float64(x), true, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false, fmt.Errorf("want a finite number, got %v", x)
		}
		return x, true, nil
	}
	return 0, false, fmt.Errorf("want a number, got %s", describe(v))
}

// duration returns the duration at key: a Go duration string ("2m",
// "1h30m") or a whole number of days ("1d").
func duration(tab map[string]any, key string) (time.Duration, bool, error) {
	s, err := str(tab, key)
	if err != nil || s == "" {
		if _, present := tab[key]; present && err == nil {
			err = errors.New(`want a duration such as "2m", got ""`)
		}
		return 0, false, err
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= 28 {
			return time.Duration(days) * 24 * time.Hour, true, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false, fmt.Errorf("want a duration such as \"2m\", \"1h\" or \"1d\", got %q", truncate(s, 40))
	}
	if d < 0 {
		return 0, false, fmt.Errorf("want a duration >= 0, got %q", s)
	}
	return d, true, nil
}

// describe names a decoded TOML value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(truncate(x, 40))
	case int64, float64, bool:
		return fmt.Sprintf("%v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("a %T", v)
}

// alertTables returns the value of the alert key as tables: an array of
// tables ([[alert]]) or an array of inline tables (alert = [{...}]).
func alertTables(v any) ([]map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []map[string]any:
		return x, nil
	case []any:
		tables := make([]map[string]any, len(x))
		for i, e := range x {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("want [[alert]] tables, got %s in the list", describe(e))
			}
			tables[i] = t
		}
		return tables, nil
	}
	return nil, fmt.Errorf("want [[alert]] tables, got %s", describe(v))
}

// oneLine escapes line breaks, so that an error quoting the file stays on
// one line (one line per problem is what callers print).
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}
