package ledger

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText prints r for a person: the verdict, the checkpoint, the custody
// timeline with each event's checks, then the failures in full.
func (r *Report) WriteText(w io.Writer) error {
	verdict := "VERIFIED"
	if !r.OK {
		verdict = "NOT VERIFIED"
	}
	fmt.Fprintf(w, "Evidence bundle: %s (%d checks passed, %d failed)\n", verdict, r.Passed, r.Failed)
	if r.Origin != "" {
		fmt.Fprintf(w, "Log %s, tree size %d, root %s, %d witness cosignature(s)\n", r.Origin, r.TreeSize, r.Root, r.Witnesses)
	}
	if r.Redactions > 0 {
		fmt.Fprintf(w, "%d payload(s) redacted: their digests are verified, their content is not shown\n", r.Redactions)
	}
	fmt.Fprintln(w)
	for _, c := range r.Checks {
		if c.Event == nil {
			fmt.Fprintf(w, "  %s %-20s %s%s\n", mark(c.OK), c.What, keySuffix(c.Key), c.Detail)
		}
	}
	fmt.Fprintln(w, "\nCustody timeline:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tPOSITION\tSTREAM\tREV\tTYPE\tOCCURRED AT\tACTOR")
	byEvent := map[uint64][]Check{}
	for _, c := range r.Checks {
		if c.Event != nil {
			byEvent[c.Event.Position] = append(byEvent[c.Event.Position], c)
		}
	}
	for _, e := range r.Timeline {
		red := ""
		if e.Redacted {
			red = " (payload redacted)"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s%s\t%s\t%s/%s (%s)\n", mark(e.OK), e.Position, e.Stream, e.Revision, e.Type, red,
			e.OccurredAt.UTC().Format(time.RFC3339), e.Actor.Agency, e.Actor.User, e.Actor.Role)
	}
	tw.Flush()
	if r.Failed > 0 {
		fmt.Fprintln(w, "\nFailures:")
		for _, c := range r.Checks {
			if !c.OK {
				ev := ""
				if c.Event != nil {
					ev = " event " + c.Event.String() + ":"
				}
				fmt.Fprintf(w, "  FAIL %s%s %s%s\n", c.What, ev, keySuffix(c.Key), c.Detail)
			}
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func mark(ok bool) string {
	if ok {
		return "ok  "
	}
	return "FAIL"
}

func keySuffix(k string) string {
	if k == "" {
		return ""
	}
	return "[" + k + "] "
}
