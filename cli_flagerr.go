package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// invalidFlag matches pflag's "invalid argument" error: the value, the
// flag's long name, and the reason the value's parser gave.
var invalidFlag = regexp.MustCompile(`^invalid argument "((?:[^"\\]|\\.)*)" for "(?:-\w, )?--([\w-]+)" flag: (.*)$`)

// wants says what a flag of each pflag type takes, for the flags whose
// parser answers in strconv's or time's words.
var wants = map[string]string{
	"int":      "a whole number such as 10",
	"int8":     "a whole number such as 10",
	"int16":    "a whole number such as 10",
	"int32":    "a whole number such as 10",
	"int64":    "a whole number such as 10",
	"uint":     "a whole number >= 0 such as 10",
	"uint8":    "a whole number >= 0 such as 10",
	"uint16":   "a whole number >= 0 such as 10",
	"uint32":   "a whole number >= 0 such as 10",
	"uint64":   "a whole number >= 0 such as 10",
	"float32":  "a number such as 2.5",
	"float64":  "a number such as 2.5",
	"duration": "a duration such as 500ms, 30s, 5m or 2h",
	"bool":     "true or false",
}

// flagError is every command's answer to a flag it cannot read: it says
// what the flag expects rather than what strconv or pflag called the
// problem, and where the command's flags are listed. It exits with 2, as
// a usage error.
func flagError(cmd *cobra.Command, err error) error {
	help := "see " + cmd.CommandPath() + " --help"
	msg := err.Error()
	switch m := invalidFlag.FindStringSubmatch(msg); {
	case m != nil:
		value, name, reason := m[1], m[2], m[3]
		if f := cmd.Flags().Lookup(name); f != nil && parserWords(reason) {
			if want, ok := wants[f.Value.Type()]; ok {
				reason = "want " + want
			}
		}
		msg = fmt.Sprintf("--%s: %s, got \"%s\" (%s)", name, reason, value, help)
	case strings.HasPrefix(msg, "flag needs an argument: "):
		flag := strings.TrimPrefix(msg, "flag needs an argument: ")
		if i := strings.LastIndex(flag, " "); i >= 0 { // "'r' in -r"
			flag = flag[i+1:]
		}
		msg = fmt.Sprintf("%s needs a value (%s)", flag, help)
	case strings.HasPrefix(msg, "unknown flag: "), strings.HasPrefix(msg, "unknown shorthand flag: "):
		msg = fmt.Sprintf("%s (%s)", msg, help)
	default:
		msg = fmt.Sprintf("%s (%s)", msg, help)
	}
	return &exitError{code: 2, err: errors.New(msg)}
}

// parserWords reports whether a flag's parse error is in the words of
// strconv or time rather than the flag's own.
func parserWords(reason string) bool {
	return strings.HasPrefix(reason, "strconv.") || strings.HasPrefix(reason, "time: ") ||
		strings.HasPrefix(reason, "parse error")
}
