package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// thresholdsTable is the table SaveThresholds edits.
const thresholdsTable = "thresholds"

// thresholdKeys are the keys of [thresholds], in the order they are added.
var thresholdKeys = [...]string{"score", "challenge", "deny"}

// SaveThresholds writes th as the [thresholds] table of the TOML file at
// path. In an existing file it replaces the values of score, challenge and
// deny in that table (adding the ones missing, or the table at the end of
// the file) and keeps every other line, comment and table byte for byte,
// including comments after the values and each line's own line end; keys
// match without regard to case, as Load reads them. A missing file is
// created (with its directory) holding only the table. The file is
// replaced atomically (a temporary file renamed over it, with the
// original's permissions), so a crash leaves the old or the new file,
// never half of one; a symbolic link is followed and the file it names is
// replaced. th is validated first, a file that is not valid TOML is left
// alone, and the result is parsed back before it is written: a file whose
// thresholds are written some other way (dotted keys, an inline table) is
// left alone with an error saying so.
func SaveThresholds(path string, th Thresholds) error {
	if errs := th.check(); len(errs) > 0 {
		return fmt.Errorf("save thresholds to %s: %w", path, errors.Join(errs...))
	}
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return fmt.Errorf("save thresholds to %s: %w", path, err)
		}
	}
	src, err := os.ReadFile(target)
	mode := fs.FileMode(0o600)
	switch {
	case err == nil:
		if fi, err := os.Stat(target); err == nil {
			mode = fi.Mode().Perm()
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return fmt.Errorf("save thresholds: create directory for %s: %w", target, err)
		}
	default:
		return fmt.Errorf("save thresholds: read %s: %w", target, err)
	}
	out, err := updateThresholds(src, th)
	if err != nil {
		return fmt.Errorf("save thresholds to %s: %w", target, err)
	}
	if err := writeAtomic(target, out, mode); err != nil {
		return fmt.Errorf("save thresholds: %w", err)
	}
	return nil
}

// thresholdValue is the TOML text of key's value in th.
func thresholdValue(th Thresholds, key string) string {
	switch key {
	case "score":
		return strconv.Quote(th.Score)
	case "challenge":
		return tomlFloat(th.Challenge)
	}
	return tomlFloat(th.Deny)
}

// tomlFloat writes v as a TOML float: 50.0, 72.5.
func tomlFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// updateThresholds returns src with its [thresholds] table set to th (see
// SaveThresholds). It refuses a file that is not valid TOML, and checks
// that the result reads back as th.
func updateThresholds(src []byte, th Thresholds) ([]byte, error) {
	if !utf8.Valid(src) {
		return nil, errors.New("the file is not UTF-8 text")
	}
	text := string(src)
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return nil, fmt.Errorf("the file does not parse as TOML, so it is left as it is: %w", err)
	}
	// Lines keep their own "\r" (line ends may be mixed); added lines end
	// like the file's first line.
	eol := ""
	if i := strings.IndexByte(text, '\n'); i > 0 && text[i-1] == '\r' {
		eol = "\r"
	}
	final := text == "" || strings.HasSuffix(text, "\n")
	var lines []string
	if text != "" {
		lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	}
	out, atEnd, err := editTable(lines, th, eol)
	if err != nil {
		return nil, err
	}
	res := strings.Join(out, "\n")
	if final || atEnd {
		res += "\n"
	}
	var got struct {
		Thresholds Thresholds `toml:"thresholds"`
	}
	if _, err := toml.Decode(res, &got); err != nil {
		return nil, fmt.Errorf("the edited file would not parse (%w), so it is left as it is", err)
	}
	if got.Thresholds != th {
		return nil, fmt.Errorf("[%s] is written in a form riskwatch cannot edit (dotted keys or an inline table); set score = %q, challenge = %s, deny = %s there by hand",
			thresholdsTable, th.Score, tomlFloat(th.Challenge), tomlFloat(th.Deny))
	}
	return []byte(res), nil
}

// editTable sets the keys of the [thresholds] table in lines (each without
// its "\n" but with any "\r"), or appends the table at the end. Added lines
// end with eol; atEnd reports that lines were added after the last one.
func editTable(lines []string, th Thresholds, eol string) (out []string, atEnd bool, err error) {
	var sc scanner
	root := true               // before the first table header
	in := false                // inside [thresholds]
	start, lastKey := -1, -1   // its header and the last line of its last key/value
	found := map[string]bool{} // its keys seen
	out = make([]string, 0, len(lines)+len(thresholdKeys)+2)
	for n, raw := range lines {
		line, cr := strings.CutSuffix(raw, "\r")
		if !sc.atTop() {
			sc.value(line)
			if in {
				lastKey = len(out)
			}
			out = append(out, raw)
			continue
		}
		if path, array, ok := header(line); ok {
			root = false
			in = len(path) == 1 && strings.EqualFold(path[0], thresholdsTable)
			if in {
				if array {
					return nil, false, fmt.Errorf("line %d: [[%s]] is an array of tables; edit it by hand", n+1, thresholdsTable)
				}
				if start < 0 {
					start = len(out)
				}
				lastKey = len(out)
			}
			out = append(out, raw)
			continue
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			out = append(out, raw)
			continue
		}
		parts, rest, kerr := keyPath(trimmed, "=")
		if kerr != nil {
			return nil, false, fmt.Errorf("line %d: cannot read the key", n+1)
		}
		eq := len(line) - len(rest) // offset of "=" in line
		if root && strings.EqualFold(parts[0], thresholdsTable) {
			return nil, false, fmt.Errorf("line %d: %s is set with dotted keys or an inline table; edit it by hand", n+1, thresholdsTable)
		}
		k := thresholdKey(parts)
		if !in || k == "" {
			sc.value(line[eq+1:])
			if in {
				lastKey = len(out)
			}
			out = append(out, raw)
			continue
		}
		found[k] = true
		comment := sc.value(line[eq+1:])
		if !sc.atTop() {
			return nil, false, fmt.Errorf("line %d: the value of %s spans lines; edit it by hand", n+1, k)
		}
		tail := ""
		if comment >= 0 {
			value := line[eq+1 : eq+1+comment]
			tail = value[len(strings.TrimRight(value, " \t")):] + line[eq+1+comment:]
			if tail[0] == '#' {
				tail = " " + tail
			}
		}
		edited := strings.TrimRight(line[:eq], " \t") + " = " + thresholdValue(th, k) + tail
		if cr {
			edited += "\r"
		}
		lastKey = len(out)
		out = append(out, edited)
	}
	var add []string
	for _, k := range thresholdKeys {
		if !found[k] {
			add = append(add, k+" = "+thresholdValue(th, k)+eol)
		}
	}
	if start < 0 {
		if n := len(out); n > 0 && strings.TrimSpace(out[n-1]) != "" {
			out = append(out, eol)
		}
		out = append(out, "["+thresholdsTable+"]"+eol)
		return append(out, add...), true, nil
	}
	atEnd = len(add) > 0 && lastKey == len(out)-1
	return append(out[:lastKey+1], append(add, out[lastKey+1:]...)...), atEnd, nil
}

// thresholdKey returns the threshold key a key path names, or "". Keys
// match without regard to case, as the configuration loader reads them.
func thresholdKey(parts []string) string {
	if len(parts) != 1 {
		return ""
	}
	for _, t := range thresholdKeys {
		if strings.EqualFold(parts[0], t) {
			return t
		}
	}
	return ""
}

// writeAtomic replaces path with data: a temporary file in the same
// directory, synced, then renamed over it.
func writeAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
