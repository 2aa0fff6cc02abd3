package alert

import (
	"fmt"
	"strings"

	"github.com/riskwatch/riskwatch/decision"
)

// filterTerms splits the canonical text of f into its terms, as typed in
// that text (quotes and escapes kept). It relies on what Filter.String
// guarantees: one space between terms, field names in lower case, and
// values with spaces or quotes written in double quotes with \" and \\
// escaped, so that only an unquoted space separates terms and a term for
// field F starts with "F:" or "-F:" (a bare word holding a colon is quoted).
func filterTerms(f *decision.Filter) []string {
	s := f.String()
	var terms []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ' ':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		terms = append(terms, s[start:])
	}
	return terms
}

// termField returns the field of a canonical term ("action" for
// "-action:deny"), its value with quotes removed, and whether it is
// negated; field is "" for a score comparison or a bare word.
func termField(term string) (field, value string, neg bool) {
	if neg = strings.HasPrefix(term, "-"); neg {
		term = term[1:]
	}
	name, value, ok := strings.Cut(term, ":")
	if !ok || strings.ContainsAny(name, `"<>=`) {
		return "", "", neg
	}
	if strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`) && len(value) >= 2 {
		r := strings.NewReplacer(`\"`, `"`, `\\`, `\`)
		value = r.Replace(value[1 : len(value)-1])
	}
	return name, value, neg
}

// checkFilter returns what is wrong with an alert's filter, "" when
// nothing is: since: and until: would fix the window to the time the rule
// was parsed, while a rule's window moves with each evaluation.
func checkFilter(f *decision.Filter) string {
	for _, t := range filterTerms(f) {
		if field, _, _ := termField(t); field == "since" || field == "until" {
			return fmt.Sprintf("%s: an alert measures its own window; drop since: and until:", t)
		}
	}
	return ""
}
