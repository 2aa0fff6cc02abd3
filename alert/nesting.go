package alert

// maxNesting bounds how deep arrays and inline tables may nest in an alerts
// file. The TOML decoder takes time quadratic in the depth, and a rule
// needs two levels (the notify list inside an [[alert]] table).
const maxNesting = 16

// tooDeep returns the line where arrays or inline tables first nest deeper
// than limit, or 0. Brackets inside strings and comments do not count.
// (config applies the same guard to the config file.)
func tooDeep(data []byte, limit int) int {
	depth, line := 0, 1
	var quote byte // the quote of the string we are in, 0 outside
	comment := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			line++
			comment = false
		case comment:
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			comment = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return line
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return 0
}
