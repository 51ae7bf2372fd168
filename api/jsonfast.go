package api

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scelle-ledger/scelle/projections"
)

// jsonFormat is huma's JSON format with the hottest response bodies (an
// exhibit's custody, pages of them, a command's result) written by hand:
// encoding/json spends most of a list's time walking these structs by
// reflection. The output is byte for byte encoding/json's with HTML
// escaping off, as huma's default format writes it (TestFastJSON checks it
// on random values of every field); anything else goes to the default.
// The body is built in one buffer and written once.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		bp := jsonBufs.Get().(*[]byte)
		b, ok := appendFast((*bp)[:0], v)
		if !ok {
			jsonBufs.Put(bp)
			return huma.DefaultJSONFormat.Marshal(w, v)
		}
		b = append(b, '\n')
		_, err := w.Write(b)
		if cap(b) <= 1<<20 {
			*bp = b
			jsonBufs.Put(bp)
		}
		return err
	},
	Unmarshal: json.Unmarshal,
}

var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// appendFast appends v's JSON if it is one of the types written by hand.
func appendFast(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case projections.ExhibitCustody:
		return appendCustody(b, &x), true
	case projections.ExhibitPage:
		return appendExhibitPage(b, &x), true
	case CommandResult:
		return appendCommandResult(b, &x), true
	}
	return b, false
}

func appendExhibitPage(b []byte, p *projections.ExhibitPage) []byte {
	b = append(b, `{"items":`...)
	if p.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCustody(b, &p.Items[i])
		}
		b = append(b, ']')
	}
	if p.NextCursor != "" {
		b = appendKey(b, "next_cursor")
		b = appendString(b, p.NextCursor)
	}
	return append(b, '}')
}

func appendCustody(b []byte, x *projections.ExhibitCustody) []byte {
	b = append(b, `{"exhibit_id":`...)
	b = appendString(b, x.ExhibitID)
	b = appendKey(b, "case_id")
	b = appendString(b, x.CaseID)
	b = appendKey(b, "seizure_id")
	b = appendString(b, x.SeizureID)
	b = appendOptString(b, "parent_id", x.ParentID)
	b = appendKey(b, "label")
	b = appendString(b, x.Label)
	b = appendOptString(b, "reference", x.Reference)
	b = appendOptString(b, "description", x.Description)
	b = appendKey(b, "category")
	b = appendString(b, x.Category)
	b = appendOptString(b, "presumed_substance", x.PresumedSubstance)
	b = appendOptString(b, "identified_substance", x.IdentifiedSubstance)
	b = appendKey(b, "unit_count")
	b = strconv.AppendInt(b, x.UnitCount, 10)
	b = appendKey(b, "registered_at")
	b = appendTime(b, x.RegisteredAt)
	b = appendKey(b, "status")
	b = appendString(b, x.Status)
	b = appendKey(b, "custodian")
	b = appendParty(b, &x.Custodian)
	b = appendOptString(b, "seal", x.Seal)
	b = appendKey(b, "seal_state")
	b = appendString(b, x.SealState)
	b = appendKey(b, "weights")
	b = appendWeights(b, &x.Weights)
	b = appendKey(b, "flags")
	b = appendFlags(b, &x.Flags)
	b = appendKey(b, "open_discrepancies")
	b = strconv.AppendInt(b, x.OpenDiscrepancies, 10)
	if t := x.PendingTransfer; t != nil {
		b = append(b, `,"pending_transfer":{"transfer_id":`...)
		b = appendString(b, t.TransferID)
		b = appendKey(b, "from")
		b = appendParty(b, &t.From)
		b = appendKey(b, "to")
		b = appendParty(b, &t.To)
		b = appendKey(b, "purpose")
		b = appendString(b, t.Purpose)
		b = appendKey(b, "offered_at")
		b = appendTime(b, t.OfferedAt)
		b = append(b, '}')
	}
	if c := x.Checkout; c != nil {
		b = append(b, `,"checkout":{"checkout_id":`...)
		b = appendString(b, c.CheckoutID)
		b = appendKey(b, "to_agency")
		b = appendString(b, c.ToAgency)
		b = appendKey(b, "purpose")
		b = appendString(b, c.Purpose)
		b = appendKey(b, "due_at")
		b = appendTime(b, c.DueAt)
		b = appendKey(b, "checked_out_at")
		b = appendTime(b, c.CheckedOutAt)
		b = append(b, '}')
	}
	if d := x.Disposal; d != nil {
		b = append(b, `,"disposal":{"method":`...)
		b = appendString(b, d.Method)
		b = appendKey(b, "challenge_deadline")
		b = appendTime(b, d.ChallengeDeadline)
		b = append(b, '}')
	}
	b = appendKey(b, "revision")
	b = strconv.AppendUint(b, x.Revision, 10)
	b = appendKey(b, "updated_at")
	b = appendTime(b, x.UpdatedAt)
	b = appendKey(b, "position")
	b = strconv.AppendUint(b, x.Position, 10)
	return append(b, '}')
}

func appendParty(b []byte, p *projections.Party) []byte {
	b = append(b, `{"agency":`...)
	b = appendString(b, p.Agency)
	b = appendOptString(b, "person", p.Person)
	b = appendOptString(b, "location", p.Location)
	return append(b, '}')
}

func appendWeights(b []byte, w *projections.Weights) []byte {
	b = append(b, '{')
	first := true
	opt := func(b []byte, key string, v *int64) []byte {
		if v == nil {
			return b
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		return strconv.AppendInt(b, *v, 10)
	}
	b = opt(b, "gross_mg", w.GrossMg)
	b = opt(b, "net_mg", w.NetMg)
	b = opt(b, "tare_mg", w.TareMg)
	b = opt(b, "uncertainty_mg", w.UncertaintyMg)
	if w.WeighedAt != nil {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `"weighed_at":`...)
		b = appendTime(b, *w.WeighedAt)
	}
	if !first {
		b = append(b, ',')
	}
	b = append(b, `"subsampled_mg":`...)
	b = strconv.AppendInt(b, w.SubsampledMg, 10)
	return append(b, '}')
}

func appendFlags(b []byte, f *projections.Flags) []byte {
	b = append(b, `{"hold":`...)
	b = strconv.AppendBool(b, f.Hold)
	b = append(b, `,"discrepancy":`...)
	b = strconv.AppendBool(b, f.Discrepancy)
	b = append(b, `,"seal_broken":`...)
	b = strconv.AppendBool(b, f.SealBroken)
	b = append(b, `,"missing":`...)
	b = strconv.AppendBool(b, f.Missing)
	b = append(b, `,"overdue":`...)
	b = strconv.AppendBool(b, f.Overdue)
	return append(b, '}')
}

func appendCommandResult(b []byte, r *CommandResult) []byte {
	b = append(b, `{"command":`...)
	b = appendString(b, r.Command)
	b = appendKey(b, "position")
	b = strconv.AppendUint(b, r.Position, 10)
	b = appendKey(b, "stream")
	b = appendString(b, r.Stream)
	b = appendKey(b, "revision")
	b = strconv.AppendUint(b, r.Revision, 10)
	b = appendKey(b, "appends")
	if r.Appends == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, a := range r.Appends {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"stream":`...)
			b = appendString(b, a.Stream)
			b = appendKey(b, "revision")
			b = strconv.AppendUint(b, a.Revision, 10)
			b = appendKey(b, "position")
			b = strconv.AppendUint(b, a.Position, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(r.Created) > 0 {
		b = append(b, `,"created":[`...)
		for i, c := range r.Created {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"kind":`...)
			b = appendString(b, c.Kind)
			b = append(b, `,"id":"`...)
			b = append(b, c.ID.String()...)
			b = append(b, `"}`...)
		}
		b = append(b, ']')
	}
	b = appendKey(b, "events")
	if r.Events == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	for i, e := range r.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`...)
		b = append(b, e.ID.String()...)
		b = append(b, `","type":`...)
		b = appendString(b, e.Type)
		b = appendKey(b, "stream")
		b = appendString(b, e.Stream)
		b = appendKey(b, "payload")
		b = appendRaw(b, e.Payload)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendRaw appends a json.RawMessage as encoding/json does: null when
// empty, else compacted (without HTML escaping).
func appendRaw(b []byte, m json.RawMessage) []byte {
	if len(m) == 0 {
		return append(b, "null"...)
	}
	if isCompact(m) {
		return append(b, m...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		// encoding/json would fail the whole response; a payload the
		// store accepted is valid JSON, so this does not happen.
		return append(b, "null"...)
	}
	return append(b, buf.Bytes()...)
}

// isCompact reports whether m has no whitespace outside its strings.
func isCompact(m []byte) bool {
	in := false
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = appendKey(b, key)
	return appendString(b, v)
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, in t's own zone).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as encoding/json does with HTML escaping off:
// quotes, backslashes and control characters escaped, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
