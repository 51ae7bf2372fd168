package projections

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// fastUnmarshal decodes the JSON payload p into v (a settable struct
// value, zero) the way json.Unmarshal would, for the plain JSON that
// domain.Encode writes: objects whose keys match the struct's json names
// exactly, strings without escapes, integers, booleans, null, arrays, and
// the values json.Unmarshaler and encoding.TextUnmarshaler types decode
// themselves (times, UUIDs). It reports false as soon as it meets anything
// else (an escape, an unknown or differently cased key, a float, a map, a
// malformed payload), leaving v partly written: the caller then decodes a
// fresh value with json.Unmarshal, which gives the result or the error.
// It exists for speed: encoding/json's reflection walk cost a rebuild
// about 8 µs an event, the largest share of its CPU after the writes.
func fastUnmarshal(p []byte, v reflect.Value) bool {
	i, ok := decodeValue(p, skipSpace(p, 0), v, infoOf(v.Type()))
	return ok && skipSpace(p, i) == len(p)
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// typeInfo is what fastUnmarshal needs to know of a type, worked out once.
type typeInfo struct {
	kind         reflect.Kind
	jsonU, textU bool // *T implements json.Unmarshaler, encoding.TextUnmarshaler
	elem         *typeInfo
	// fields maps a struct's JSON names to its fields (embedded structs
	// flattened, as encoding/json does); nil when the struct has something
	// fastUnmarshal leaves to encoding/json (a duplicate name, an embedded
	// pointer, a ",string" option).
	fields map[string]field
}

type field struct {
	index []int
	info  *typeInfo
}

var (
	infoMu sync.Mutex
	infos  sync.Map // reflect.Type -> *typeInfo, complete
)

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := infos.Load(t); ok {
		return ti.(*typeInfo)
	}
	infoMu.Lock()
	defer infoMu.Unlock()
	building := map[reflect.Type]*typeInfo{}
	ti := buildInfo(t, building)
	for bt, bi := range building {
		infos.Store(bt, bi)
	}
	return ti
}

// buildInfo works out t's info; building holds the types under way, so
// that a recursive type ends.
func buildInfo(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	if ti, ok := infos.Load(t); ok {
		return ti.(*typeInfo)
	}
	if ti, ok := building[t]; ok {
		return ti
	}
	pt := reflect.PointerTo(t)
	ti := &typeInfo{kind: t.Kind(), jsonU: pt.Implements(jsonUnmarshalerType), textU: pt.Implements(textUnmarshalerType)}
	building[t] = ti
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		ti.elem = buildInfo(t.Elem(), building)
	case reflect.Struct:
		ti.fields = map[string]field{}
		if !addFields(ti.fields, t, nil, building) {
			ti.fields = nil
		}
	}
	return ti
}

func addFields(m map[string]field, t reflect.Type, prefix []int, building map[reflect.Type]*typeInfo) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") {
			return false
		}
		index := append(append([]int(nil), prefix...), i)
		if f.Anonymous && name == "" {
			if f.Type.Kind() != reflect.Struct || !f.IsExported() {
				// An embedded pointer, non-struct or unexported struct:
				// encoding/json's rules for those are not repeated here.
				return false
			}
			if !addFields(m, f.Type, index, building) {
				return false
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; dup {
			return false // encoding/json's precedence rules: not ours to follow
		}
		m[name] = field{index: index, info: buildInfo(f.Type, building)}
	}
	return true
}

// decodeValue decodes the value at p[i] into v and returns the index after it.
func decodeValue(p []byte, i int, v reflect.Value, ti *typeInfo) (int, bool) {
	if i >= len(p) {
		return 0, false
	}
	if p[i] == 'n' {
		end, ok := literal(p, i, "null")
		if !ok {
			return 0, false
		}
		switch {
		case ti.jsonU:
			if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(p[i:end]); err != nil {
				return 0, false
			}
		case ti.kind == reflect.Pointer || ti.kind == reflect.Slice:
			v.SetZero()
		}
		return end, true // null leaves other values as they are
	}
	if ti.kind == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeValue(p, i, v.Elem(), ti.elem)
	}
	if ti.jsonU {
		_, end, ok := plainString(p, i) // times are strings; anything else is encoding/json's
		if !ok {
			return 0, false
		}
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(p[i:end]); err != nil {
			return 0, false
		}
		return end, true
	}
	if ti.textU {
		if p[i] != '"' {
			return 0, false
		}
		s, end, ok := plainString(p, i)
		if !ok {
			return 0, false
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(s); err != nil {
			return 0, false
		}
		return end, true
	}
	switch ti.kind {
	case reflect.String:
		if p[i] != '"' {
			return 0, false
		}
		s, end, ok := plainString(p, i)
		if !ok {
			return 0, false
		}
		v.SetString(string(s))
		return end, true
	case reflect.Bool:
		if end, ok := literal(p, i, "true"); ok {
			v.SetBool(true)
			return end, true
		}
		if end, ok := literal(p, i, "false"); ok {
			v.SetBool(false)
			return end, true
		}
		return 0, false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		end, ok := integerEnd(p, i)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(string(p[i:end]), 10, v.Type().Bits())
		if err != nil {
			return 0, false
		}
		v.SetInt(n)
		return end, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		end, ok := integerEnd(p, i)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseUint(string(p[i:end]), 10, v.Type().Bits())
		if err != nil {
			return 0, false
		}
		v.SetUint(n)
		return end, true
	case reflect.Struct:
		return decodeObject(p, i, v, ti)
	case reflect.Slice:
		return decodeArray(p, i, v, ti)
	}
	return 0, false
}

func decodeObject(p []byte, i int, v reflect.Value, ti *typeInfo) (int, bool) {
	if ti.fields == nil || p[i] != '{' {
		return 0, false
	}
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(p) || p[i] != '"' {
			return 0, false
		}
		key, next, ok := plainString(p, i)
		if !ok {
			return 0, false
		}
		f, ok := ti.fields[string(key)]
		if !ok {
			return 0, false // unknown, or a case-insensitive match encoding/json would make
		}
		i = skipSpace(p, next)
		if i >= len(p) || p[i] != ':' {
			return 0, false
		}
		if i, ok = decodeValue(p, skipSpace(p, i+1), v.FieldByIndex(f.index), f.info); !ok {
			return 0, false
		}
		i = skipSpace(p, i)
		if i >= len(p) {
			return 0, false
		}
		switch p[i] {
		case ',':
			i = skipSpace(p, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

func decodeArray(p []byte, i int, v reflect.Value, ti *typeInfo) (int, bool) {
	if p[i] != '[' {
		return 0, false
	}
	out := reflect.MakeSlice(v.Type(), 0, 0) // [] gives an empty slice, not nil, as in encoding/json
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == ']' {
		v.Set(out)
		return i + 1, true
	}
	for {
		out = reflect.Append(out, reflect.Zero(v.Type().Elem()))
		var ok bool
		if i, ok = decodeValue(p, i, out.Index(out.Len()-1), ti.elem); !ok {
			return 0, false
		}
		i = skipSpace(p, i)
		if i >= len(p) {
			return 0, false
		}
		switch p[i] {
		case ',':
			i = skipSpace(p, i+1)
		case ']':
			v.Set(out)
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// literal reports whether p[i:] starts with word, and the index after it.
func literal(p []byte, i int, word string) (int, bool) {
	if len(p)-i < len(word) || string(p[i:i+len(word)]) != word {
		return 0, false
	}
	return i + len(word), true
}

// integerEnd returns the index after the JSON integer starting at p[i]:
// -?(0|[1-9][0-9]*). A fraction or an exponent after it is left for the
// caller to reject (it expects a delimiter).
func integerEnd(p []byte, i int) (int, bool) {
	j := i
	if j < len(p) && p[j] == '-' {
		j++
	}
	start := j
	for j < len(p) && p[j] >= '0' && p[j] <= '9' {
		j++
	}
	if j == start || (p[start] == '0' && j-start > 1) {
		return 0, false
	}
	return j, true
}

// plainString reads the JSON string at p[i]: its content and the index
// after it, ok only if it needs no decoding (no escape, no control
// character, valid UTF-8, which encoding/json would replace).
func plainString(p []byte, i int) ([]byte, int, bool) {
	if i >= len(p) || p[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(p); j++ {
		switch c := p[j]; {
		case c == '"':
			s := p[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}
