package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/scelle-ledger/scelle/projections"
)

// fill sets every field reachable from v (a pointer) to a random value:
// strings of any runes (control characters, quotes, invalid UTF-8, U+2028
// included) or empty, numbers, booleans, times in any zone, nil or set
// pointers and slices. A field added to a type later is filled too, so the
// hand-written encoder cannot silently leave it out.
func fill(t *rapid.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if rapid.Bool().Draw(t, path+"?") {
			v.Set(reflect.New(v.Type().Elem()))
			fill(t, v.Elem(), path)
		}
		return
	}
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		zone := time.FixedZone("z", rapid.IntRange(-12, 12).Draw(t, path+".zone")*3600)
		ts := time.Unix(0, rapid.Int64().Draw(t, path)).In(zone)
		if rapid.Bool().Draw(t, path+".utc") {
			ts = ts.UTC()
		}
		v.Set(reflect.ValueOf(ts))
		return
	case reflect.TypeFor[uuid.UUID]():
		v.Set(reflect.ValueOf(uuid.New()))
		return
	case reflect.TypeFor[json.RawMessage]():
		p, _ := json.Marshal(map[string]any{"transfer_id": rapid.String().Draw(t, path), "n": rapid.Int().Draw(t, path+".n")})
		if rapid.Bool().Draw(t, path+".spaced") {
			p = append([]byte(" "), p...)
		}
		if rapid.Bool().Draw(t, path+".empty") {
			p = nil
		}
		v.Set(reflect.ValueOf(json.RawMessage(p)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		s := ""
		switch rapid.IntRange(0, 3).Draw(t, path+".kind") {
		case 1:
			s = rapid.String().Draw(t, path)
		case 2:
			s = string(rapid.SliceOf(rapid.Byte()).Draw(t, path))
		case 3:
			s = rapid.SampledFrom([]string{"a\"b\\c", "\u2028\u2029", "<&>", "\x00\x1f\x7f", "é€😀"}).Draw(t, path)
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(t, path))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rapid.Int64().Draw(t, path))
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(rapid.Uint64().Draw(t, path))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if rapid.IntRange(0, 4).Draw(t, path+".nil") == 0 {
			return
		}
		n := rapid.IntRange(0, 3).Draw(t, path+".len")
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(t, s.Index(i), path+"[]")
		}
		v.Set(s)
	default:
		t.Fatalf("fill: %s: kind %s not handled", path, v.Kind())
	}
}

// The hand-written encoder writes what huma's default JSON format does.
func TestFastJSON(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[projections.ExhibitCustody](),
		reflect.TypeFor[projections.ExhibitPage](),
		reflect.TypeFor[CommandResult](),
	} {
		t.Run(typ.Name(), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				v := reflect.New(typ)
				fill(t, v.Elem(), typ.Name())
				var want bytes.Buffer
				enc := json.NewEncoder(&want)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(v.Elem().Interface()); err != nil {
					t.Skip(err) // encoding/json refuses it (a year out of range)
				}
				var got bytes.Buffer
				if err := jsonFormat.Marshal(&got, v.Elem().Interface()); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("fast encoder:\n%s\nencoding/json:\n%s", got.Bytes(), want.Bytes())
				}
			})
		})
	}
	// Other types go to encoding/json.
	var got bytes.Buffer
	if err := jsonFormat.Marshal(&got, map[string]int{"a": 1}); err != nil || got.String() != "{\"a\":1}\n" {
		t.Fatalf("fallback: %q, %v", got.String(), err)
	}
}
