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
// zero) and how it is read from a decision: num for the scores, str for
// strings, get for the others.
type variable struct {
	name string
	zero any
	num  func(d *decision.Decision) float64
	str  func(e *Evaluator, d *decision.Decision) string
	get  func(d *decision.Decision) any
}

// variables are the names SPEC section 12 gives conditions, in the order
// the documentation lists them.
var variables = [...]variable{
	{name: "risk", zero: float64(0), num: func(d *decision.Decision) float64 { return d.Risk }},
	{name: "ato", zero: float64(0), num: func(d *decision.Decision) float64 { return d.AccountTakeover }},
	{name: "bot", zero: float64(0), num: func(d *decision.Decision) float64 { return d.Bot }},
	{name: "abuse", zero: float64(0), num: func(d *decision.Decision) float64 { return d.AccountAbuse }},
	{name: "signals", zero: []string(nil), get: func(d *decision.Decision) any { return d.Signals }},
	{name: "type", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.Type) }},
	{name: "status", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.Status) }},
	{name: "user", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.UserID) }},
	{name: "email", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.Email) }},
	{name: "email_domain", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(decision.EmailDomain(d.Email)) }},
	{name: "ip", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.IP) }},
	{name: "ip24", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return decision.IP24(d.IP) }},
	{name: "country", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.Country) }},
	{name: "ua", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return clip(d.UserAgent) }},
	{name: "ua_family", zero: "", str: func(e *Evaluator, d *decision.Decision) string { return e.families.get(d.UserAgent, uaFamily) }},
	{name: "hour", zero: 0, get: func(d *decision.Decision) any { return d.EventTime.UTC().Hour() }},
	{name: "action", zero: "", str: func(_ *Evaluator, d *decision.Decision) string { return string(d.Action) }},
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
