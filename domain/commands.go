package domain

import "sort"

// commands maps every command name to a constructor of its zero value, so
// that the application layer can decode a request body into the right
// struct without a switch of its own.
var commands = map[string]func() Command{
	"OpenCase":           func() Command { return &OpenCase{} },
	"ShareCase":          func() Command { return &ShareCase{} },
	"RevokeCaseSharing":  func() Command { return &RevokeCaseSharing{} },
	"CloseCase":          func() Command { return &CloseCase{} },
	"PlaceHold":          func() Command { return &PlaceHold{} },
	"ReleaseHold":        func() Command { return &ReleaseHold{} },
	"RecordSeizure":      func() Command { return &RecordSeizure{} },
	"SealExhibit":        func() Command { return &SealExhibit{} },
	"WeighExhibit":       func() Command { return &WeighExhibit{} },
	"InspectSeal":        func() Command { return &InspectSeal{} },
	"OpenSeal":           func() Command { return &OpenSeal{} },
	"ResealExhibit":      func() Command { return &ResealExhibit{} },
	"StoreExhibit":       func() Command { return &StoreExhibit{} },
	"OfferTransfer":      func() Command { return &OfferTransfer{} },
	"AcceptTransfer":     func() Command { return &AcceptTransfer{} },
	"RejectTransfer":     func() Command { return &RejectTransfer{} },
	"CancelTransfer":     func() Command { return &CancelTransfer{} },
	"CheckOut":           func() Command { return &CheckOut{} },
	"CheckIn":            func() Command { return &CheckIn{} },
	"TakeSubSample":      func() Command { return &TakeSubSample{} },
	"RecordLabReceipt":   func() Command { return &RecordLabReceipt{} },
	"ReportAnalysis":     func() Command { return &ReportAnalysis{} },
	"AmendReport":        func() Command { return &AmendReport{} },
	"RaiseDiscrepancy":   func() Command { return &RaiseDiscrepancy{} },
	"ResolveDiscrepancy": func() Command { return &ResolveDiscrepancy{} },
	"AuditInventory":     func() Command { return &AuditInventory{} },
	"AddAnnotation":      func() Command { return &AddAnnotation{} },
	"AuthoriseDisposal":  func() Command { return &AuthoriseDisposal{} },
	"DestroyExhibit":     func() Command { return &DestroyExhibit{} },
	"ReturnExhibit":      func() Command { return &ReturnExhibit{} },
	"ReleaseExhibit":     func() Command { return &ReleaseExhibit{} },
}

// NewCommand returns a pointer to a zero command of that name (for
// json.Unmarshal), or false. Pointers to commands are Commands too.
func NewCommand(name string) (Command, bool) {
	f, ok := commands[name]
	if !ok {
		return nil, false
	}
	return f(), true
}

// CommandNames lists every command, sorted.
func CommandNames() []string {
	out := make([]string, 0, len(commands))
	for n := range commands {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
