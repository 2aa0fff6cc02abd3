// Package policy reads policy files, evaluates them on decisions with
// velocity as of each decision's event time, and replays them over
// history (SPEC section 12). It imports only decision of the project.
//
// # Files
//
// A policy file is TOML:
//
//	default = "allow"                  # allow, challenge or deny; allow when absent
//	[lists]
//	vip = ["u100001", "u100002"]       # strings, compared exactly
//	[[rule]]
//	name = "stuffing ip"               # unique, 1-64 printable bytes
//	when = 'status == "$failed" && distinct("ip", "user", "10m") >= 5'
//	action = "challenge"               # allow, challenge or deny, any case
//	types = ["$login"]                 # optional: event types, compared without case
//
// Parse reports every problem (up to MaxErrors) as FILE:LINE:COL at the
// offending key or value, and inside a condition at the offending
// character, whether the condition is a basic, literal or multi-line
// string, escapes included. Unknown keys, wrong types, duplicate rule
// names, unknown actions and event types without "$" are errors.
//
// # Conditions
//
// A condition is an expr-lang expression (https://expr-lang.org),
// type-checked when the file is parsed, so a misspelt name or a string
// compared with a number is an error with its place. It reads:
//
//	risk, ato, bot, abuse     float   Safe-e's scores
//	signals                   []string
//	type, status              string  "$login", "$failed"
//	user, email, ip, country  string
//	email_domain, ip24        string  decision.EmailDomain, decision.IP24
//	ua, ua_family             string  the user agent and decision.ClassifyUA's family
//	hour                      int     of the event time, UTC
//	action                    string  Safe-e's action: allow, challenge or deny
//
// and calls:
//
//	count(key, window)          decisions with this event's key in [t-window, t)
//	distinct(key, of, window)   distinct non-empty values of of among them
//	in_cidr(ip, "cidr")         whether an address is in a network
//	in_list("name", value)      whether a value is in a list of [lists]
//
// Keys are "user", "ip", "ip24", "email", "email_domain" and "device"
// (see Key.Value); windows are durations such as "90s", "10m", "1h" or
// "7d", from MinWindow to MaxWindow. Keys, windows, list names and CIDRs
// must be string literals, checked when the file is parsed. Conditions
// do no I/O and cannot read the clock: a rule sees only the decision and
// the past, so live and replayed evaluation agree. Of expr-lang's
// builtins only a bounded allowlist is available (see the errors for the
// list); there are no ranges, no predicate inside another one, and a
// matches pattern must be a literal of at most MaxPatternLen bytes, run
// on strings cut to MaxStringLen, so every evaluation takes bounded time.
//
// # Evaluation
//
// Rules are tried in order; the first whose types include the event's
// type and whose condition holds decides, else the default. A decision
// whose action is error passes through as error (it has no scores), but
// it counts in the velocity of later decisions, live and in replay. A
// condition that fails at run time (an index out of range) counts as
// false and is reported in Result.Failed. Velocity comes from a
// Velocity: a Window in memory for replay, a LiveWindow (fed out of order
// with Insert and asked with Lookup) for the live shadow, the store's
// indexes for what memory no longer holds; all with the same answers.
//
// # Limits
//
// MaxFileSize, MaxRules, MaxWhenLen, MaxNodes, MaxPatternLen, MaxLists,
// MaxListEntries, MaxListEntryLen and MaxQueries bound what a file may
// ask for. A file with more rules than MaxRules is refused before it is
// decoded, so any file is refused or compiled in time linear in its
// size.
package policy
