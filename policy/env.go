package policy

import (
	"unicode/utf8"

	"github.com/riskwatch/riskwatch/decision"
)

// MaxStringLen bounds the string variables a condition sees: a longer
// value (a hostile user agent) is cut to its first MaxStringLen bytes, on
// a character boundary, which bounds the cost of matches and of the
// string functions on any input.
const MaxStringLen = 1024

// variable is one name a condition can read, with its type (the type of
// zero) and how it is read from a decision.
type variable struct {
	name string
	zero any
	get  func(e *Evaluator, d *decision.Decision) any
}

// variables are the names SPEC section 12 gives conditions, in the order
// the documentation lists them.
var variables = [...]variable{
	{"risk", float64(0), func(_ *Evaluator, d *decision.Decision) any { return d.Risk }},
	{"ato", float64(0), func(_ *Evaluator, d *decision.Decision) any { return d.AccountTakeover }},
	{"bot", float64(0), func(_ *Evaluator, d *decision.Decision) any { return d.Bot }},
	{"abuse", float64(0), func(_ *Evaluator, d *decision.Decision) any { return d.AccountAbuse }},
	{"signals", []string(nil), func(_ *Evaluator, d *decision.Decision) any { return d.Signals }},
	{"type", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.Type) }},
	{"status", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.Status) }},
	{"user", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.UserID) }},
	{"email", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.Email) }},
	{"email_domain", "", func(_ *Evaluator, d *decision.Decision) any { return clip(decision.EmailDomain(d.Email)) }},
	{"ip", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.IP) }},
	{"ip24", "", func(_ *Evaluator, d *decision.Decision) any { return decision.IP24(d.IP) }},
	{"country", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.Country) }},
	{"ua", "", func(_ *Evaluator, d *decision.Decision) any { return clip(d.UserAgent) }},
	{"ua_family", "", func(e *Evaluator, d *decision.Decision) any { return e.families.get(d.UserAgent, uaFamily) }},
	{"hour", 0, func(_ *Evaluator, d *decision.Decision) any { return d.EventTime.UTC().Hour() }},
	{"action", "", func(_ *Evaluator, d *decision.Decision) any { return string(d.Action) }},
}

// lookupVariable returns the index of the variable called name.
func lookupVariable(name string) (int, bool) {
	for i := range variables {
		if variables[i].name == name {
			return i, true
		}
	}
	return 0, false
}

// The functions conditions call, and the internal ones calls are
// rewritten to. Internal names end in '#', which the expression lexer
// never reads as part of a name, so a policy cannot call them.
const (
	fnCount     = "count"
	fnDistinct  = "distinct"
	fnInList    = "in_list"
	fnInCIDR    = "in_cidr"
	fnVelocity  = "velocity#"   // velocity#(query index)
	fnHasSignal = "has_signal#" // has_signal#("name") for "name" in signals
)

// typeEnv returns the environment conditions are checked against: every
// variable and function with a value of its type. Checking is strict, so
// an unknown name or a mistyped use is a compile error.
func typeEnv() map[string]any {
	env := make(map[string]any, len(variables)+6)
	for _, v := range variables {
		env[v.name] = v.zero
	}
	env[fnCount] = (func(key, window string) int)(nil)
	env[fnDistinct] = (func(key, of, window string) int)(nil)
	env[fnInList] = (func(list, value string) bool)(nil)
	env[fnInCIDR] = (func(ip, cidr string) bool)(nil)
	env[fnVelocity] = (func(query int) int)(nil)
	env[fnHasSignal] = (func(signal string) bool)(nil)
	return env
}

// clip cuts s to at most MaxStringLen bytes on a character boundary.
func clip(s string) string {
	if len(s) <= MaxStringLen {
		return s
	}
	cut := MaxStringLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func uaFamily(ua string) string { return decision.ClassifyUA(ua).Family }
