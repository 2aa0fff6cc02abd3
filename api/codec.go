package api

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// The codec carries a query struct as the query parameters and path values
// of a request, one codec per query type, built once by reflection. The
// exported fields of a query struct travel by their tags:
//
//	`query:"name"`            a query parameter; absent means the zero value
//	`query:"name,default=V"`  absent means V (in the parameter's text form)
//	`query:"name,required"`   must be given
//	`query:",inline"`         a struct whose fields are parameters, named by
//	                          their json tags; the options apply to each
//	`path:"name"`             the {name} segment of the op's path
//
// A parameter whose value is its absent value is left out of the request.
// The query of a write (a POST) is its JSON body instead: its untagged
// fields travel there, and only its path values are the codec's. The field
// types it knows: string, int, bool, float64 (finite), time.Time
// (RFC 3339 with nanoseconds, in UTC), time.Duration (Go's form, 720h),
// decision.UserSort (by its wire name)
// and any type with MarshalText and UnmarshalText (decision.Score).

// codec reads and writes the parameters of one query type.
type codec struct {
	typ    reflect.Type
	params []param // query parameters, in field order
	paths  []param // path values
	// body: the query is a JSON body, whose untagged fields travel there.
	body bool
}

// param is one parameter or path value.
type param struct {
	name     string
	index    []int // the field, for reflect.Value.FieldByIndex
	required bool
	hasDef   bool
	def      string // the text of the value an absent parameter has
	kind     paramKind
}

// paramKind is how one field type is written and read.
type paramKind struct {
	// want describes the expected text in messages ("a whole number");
	// "" when dec's error says it.
	want string
	enc  func(v reflect.Value) (string, error)
	dec  func(s string, v reflect.Value) error
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	userSortType = reflect.TypeFor[decision.UserSort]()
	textMarsh    = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarsh  = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// kindOf returns how fields of type t travel, false for a type the codec
// does not know.
func kindOf(t reflect.Type) (paramKind, bool) {
	switch {
	case t == timeType:
		return paramKind{want: "an RFC 3339 time such as 2026-11-25T10:00:00Z",
			enc: func(v reflect.Value) (string, error) {
				return v.Interface().(time.Time).UTC().Format(time.RFC3339Nano), nil
			},
			dec: func(s string, v reflect.Value) error {
				t, err := time.Parse(time.RFC3339Nano, s)
				v.Set(reflect.ValueOf(t))
				return err
			}}, true
	case t == durationType:
		return paramKind{want: "a duration such as 720h",
			enc: func(v reflect.Value) (string, error) { return time.Duration(v.Int()).String(), nil },
			dec: func(s string, v reflect.Value) error {
				d, err := time.ParseDuration(s)
				v.SetInt(int64(d))
				return err
			}}, true
	case t == userSortType:
		return paramKind{
			enc: func(v reflect.Value) (string, error) { return UserSortName(decision.UserSort(v.Int())) },
			dec: func(s string, v reflect.Value) error {
				us, err := ParseUserSort(s)
				v.SetInt(int64(us))
				return err
			}}, true
	case t.Implements(textMarsh) && reflect.PointerTo(t).Implements(textUnmarsh):
		return paramKind{
			enc: func(v reflect.Value) (string, error) {
				b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
				return string(b), err
			},
			dec: func(s string, v reflect.Value) error {
				return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
			}}, true
	}
	switch t.Kind() {
	case reflect.String:
		return paramKind{
			enc: func(v reflect.Value) (string, error) { return v.String(), nil },
			dec: func(s string, v reflect.Value) error { v.SetString(s); return nil }}, true
	case reflect.Int:
		return paramKind{want: "a whole number",
			enc: func(v reflect.Value) (string, error) { return strconv.FormatInt(v.Int(), 10), nil },
			dec: func(s string, v reflect.Value) error {
				n, err := strconv.Atoi(s)
				v.SetInt(int64(n))
				return err
			}}, true
	case reflect.Bool:
		return paramKind{want: "true or false",
			enc: func(v reflect.Value) (string, error) { return strconv.FormatBool(v.Bool()), nil },
			dec: func(s string, v reflect.Value) error {
				b, err := strconv.ParseBool(s)
				v.SetBool(b)
				return err
			}}, true
	case reflect.Float64:
		return paramKind{want: "a finite number such as 70",
			enc: func(v reflect.Value) (string, error) { return strconv.FormatFloat(v.Float(), 'g', -1, 64), nil },
			dec: func(s string, v reflect.Value) error {
				f, err := strconv.ParseFloat(s, 64)
				if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
					err = errors.New("not finite")
				}
				v.SetFloat(f)
				return err
			}}, true
	}
	return paramKind{}, false
}

// newCodec builds the codec of query type t, a JSON body's when body is
// set. It panics on a field it cannot carry: the table is checked when the
// package loads.
func newCodec(t reflect.Type, body bool) *codec {
	c := &codec{typ: t, body: body}
	if err := c.add(t, nil, "", false); err != nil {
		panic(fmt.Sprintf("api: query type %s: %v", t, err))
	}
	return c
}

// add adds the tagged fields of struct type t, found at index prefix;
// inline is the option list of an inline parent ("" for the top level).
func (c *codec) add(t reflect.Type, prefix []int, inline string, isInline bool) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s is not a struct", t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(slices.Clone(prefix), i)
		qtag, hasQuery := f.Tag.Lookup("query")
		ptag, hasPath := f.Tag.Lookup("path")
		if isInline {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				return fmt.Errorf("inline field %s needs a json name", f.Name)
			}
			qtag, hasQuery = name+inline, true
		}
		switch {
		case hasQuery && c.body && !isInline:
			return fmt.Errorf("field %s: a body's fields travel in the body, not as parameters", f.Name)
		case hasQuery && hasPath:
			return fmt.Errorf("field %s is both a parameter and a path value", f.Name)
		case !hasQuery && !hasPath:
			if f.IsExported() && !c.body {
				return fmt.Errorf("field %s has neither a query nor a path tag", f.Name)
			}
			continue
		case hasPath:
			k, ok := kindOf(f.Type)
			if !ok {
				return fmt.Errorf("field %s: type %s cannot travel", f.Name, f.Type)
			}
			c.paths = append(c.paths, param{name: ptag, index: index, required: true, kind: k})
			continue
		}
		name, opts, _ := strings.Cut(qtag, ",")
		if list := strings.Split(opts, ","); slices.Contains(list, "inline") {
			var rest strings.Builder
			for _, o := range list {
				if o != "inline" && o != "" {
					rest.WriteString("," + o)
				}
			}
			if err := c.add(f.Type, index, rest.String(), true); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
			continue
		}
		k, ok := kindOf(f.Type)
		if !ok {
			return fmt.Errorf("field %s: type %s cannot travel", f.Name, f.Type)
		}
		p := param{name: name, index: index, kind: k}
		for o := range strings.SplitSeq(opts, ",") {
			switch {
			case o == "":
			case o == "required":
				p.required = true
			case strings.HasPrefix(o, "default="):
				p.hasDef, p.def = true, strings.TrimPrefix(o, "default=")
			default:
				return fmt.Errorf("field %s: unknown option %q", f.Name, o)
			}
		}
		if !p.hasDef {
			zero, err := k.enc(reflect.New(f.Type).Elem())
			if err != nil {
				return fmt.Errorf("field %s: its zero value cannot travel: %w", f.Name, err)
			}
			p.def = zero
		} else if err := k.dec(p.def, reflect.New(f.Type).Elem()); err != nil {
			return fmt.Errorf("field %s: default %q: %w", f.Name, p.def, err)
		}
		if name == "" || slices.ContainsFunc(c.params, func(q param) bool { return q.name == name }) {
			return fmt.Errorf("field %s: parameter name %q is empty or taken", f.Name, name)
		}
		c.params = append(c.params, p)
	}
	return nil
}

// names lists the query parameters, in field order.
func (c *codec) names() []string {
	out := make([]string, len(c.params))
	for i, p := range c.params {
		out[i] = p.name
	}
	return out
}

// encode writes q (of the codec's type) into pattern's {name} segments and
// query parameters. Its errors wrap ErrInvalid.
func (c *codec) encode(q reflect.Value, pattern string) (path string, vals url.Values, err error) {
	path = pattern
	for _, p := range c.paths {
		s, err := p.kind.enc(q.FieldByIndex(p.index))
		if err != nil {
			return "", nil, Invalid(fmt.Errorf("%s: %w", p.name, err))
		}
		path = strings.Replace(path, "{"+p.name+"}", escapeSegment(s), 1)
	}
	vals = url.Values{}
	for _, p := range c.params {
		s, err := p.kind.enc(q.FieldByIndex(p.index))
		if err != nil {
			return "", nil, Invalid(fmt.Errorf("%s: %w", p.name, err))
		}
		if p.required || s != p.def {
			vals.Set(p.name, s)
		}
	}
	return path, vals, nil
}

// emptyPath reports whether a path value of q is empty: no route matches
// an empty segment, so such a query is answered without asking.
func (c *codec) emptyPath(q reflect.Value) bool {
	for _, p := range c.paths {
		if s, err := p.kind.enc(q.FieldByIndex(p.index)); err == nil && s == "" {
			return true
		}
	}
	return false
}

// decode reads r's query parameters and path values into q (a pointer's
// element of the codec's type): every parameter at most once, none the
// route does not take. Its errors wrap ErrInvalid and name the parameter.
func (c *codec) decode(r *http.Request, q reflect.Value) error {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Invalid(fmt.Errorf("bad query string: %v", err))
	}
	given := slices.Sorted(func(yield func(string) bool) {
		for name := range vals {
			if !yield(name) {
				return
			}
		}
	})
	takes := c.names()
	for _, name := range given {
		if !slices.Contains(takes, name) {
			list := "no parameters"
			if len(takes) > 0 {
				list = strings.Join(takes, ", ")
			}
			return Invalid(fmt.Errorf("unknown parameter %q (%s takes %s)", name, r.URL.Path, list))
		}
		if n := len(vals[name]); n > 1 {
			return Invalid(fmt.Errorf("parameter %q given %d times", name, n))
		}
	}
	for _, p := range c.paths {
		if err := p.set(q, r.PathValue(p.name)); err != nil {
			return err
		}
	}
	for _, p := range c.params {
		s, ok := vals[p.name]
		switch {
		case ok:
			err = p.set(q, s[0])
		case p.required:
			err = Invalid(fmt.Errorf("%s: required", p.name))
		case p.hasDef:
			err = p.set(q, p.def)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// set reads s into p's field of q.
func (p param) set(q reflect.Value, s string) error {
	if err := p.kind.dec(s, q.FieldByIndex(p.index)); err != nil {
		if p.kind.want != "" {
			return Invalid(fmt.Errorf("%s: want %s, got %q", p.name, p.kind.want, s))
		}
		return Invalid(fmt.Errorf("%s: %w", p.name, err))
	}
	return nil
}

// escapeSegment escapes s for one path segment, dots included, so that no
// value can add, remove or reorder segments ("..", "a/b").
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ".", "%2E")
}
