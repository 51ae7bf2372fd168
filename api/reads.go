package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/projections"
)

// pageParams are the pagination parameters of every list.
type pageParams struct {
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

func parseMinPosition(s string) (*uint64, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, &FieldError{Location: "query.min_position", Message: fmt.Sprintf("%q is not a global position (a non-negative integer)", s)}
	}
	return &n, nil
}

// paged is every list input: huma ignores parameters of embedded structs,
// so each input declares the fields and this reads them.
type paged interface{ pageFields() (int, string, string) }

func pageOf(in paged) (projections.Page, error) {
	limit, cursor, minPos := in.pageFields()
	mp, err := parseMinPosition(minPos)
	if err != nil {
		return projections.Page{}, err
	}
	return projections.Page{Limit: limit, Cursor: cursor, MinPosition: mp}, nil
}

func (p *pageParams) pageFields() (int, string, string)    { return p.Limit, p.Cursor, p.MinPosition }
func (p *caseListInput) pageFields() (int, string, string) { return p.Limit, p.Cursor, p.MinPosition }
func (p *exhibitListInput) pageFields() (int, string, string) {
	return p.Limit, p.Cursor, p.MinPosition
}
func (p *holdingsInput) pageFields() (int, string, string)  { return p.Limit, p.Cursor, p.MinPosition }
func (p *transfersInput) pageFields() (int, string, string) { return p.Limit, p.Cursor, p.MinPosition }
func (p *discrepancyInput) pageFields() (int, string, string) {
	return p.Limit, p.Cursor, p.MinPosition
}
func (p *labInput) pageFields() (int, string, string)   { return p.Limit, p.Cursor, p.MinPosition }
func (p *statsInput) pageFields() (int, string, string) { return p.Limit, p.Cursor, p.MinPosition }
func (p *feedInput) pageFields() (int, string, string)  { return p.Limit, p.Cursor, p.MinPosition }

func parseID(location, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || id.String() != strings.ToLower(s) {
		return uuid.Nil, &FieldError{Location: location, Message: fmt.Sprintf("%q is not a UUID", s)}
	}
	return id, nil
}

func optionalID(location, s string) (*uuid.UUID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := parseID(location, s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// classifyReads maps the read side's errors: not found (or not visible)
// 404, bad cursor or filter 422 naming the parameter, not caught up 503.
func classifyReads(err error) *Problem {
	var (
		fe *projections.FilterError
		ce *projections.CursorError
		nc *projections.NotCaughtUpError
	)
	switch {
	case errors.Is(err, projections.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", "no such resource, or not visible to your agency")
	case errors.As(err, &ce):
		p := newProblem(http.StatusUnprocessableEntity, "validation", "query.cursor: "+ce.Reason)
		p.Errors = []FieldProblem{{Location: "query.cursor", Message: ce.Reason}}
		return p
	case errors.As(err, &fe):
		p := newProblem(http.StatusUnprocessableEntity, "validation", "query."+fe.Field+": "+fe.Reason)
		p.Errors = []FieldProblem{{Location: "query." + fe.Field, Message: fe.Reason}}
		return p
	case errors.As(err, &nc):
		p := newProblem(http.StatusServiceUnavailable, "not-caught-up", fmt.Sprintf("the read models have not reached position %d yet; retry shortly", nc.Position))
		p.retryAfter(1)
		return p
	}
	return nil
}

type body[T any] struct {
	Body T
}

type itemOutput[T any] struct {
	ETag string `header:"ETag" doc:"The stream revision the item reflects."`
	Body T
}

type caseListInput struct {
	OwnerAgency string `query:"owner_agency" maxLength:"100" doc:"Only cases owned by this agency."`
	Open        bool   `query:"open" doc:"Only cases not closed."`
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type idInput struct {
	ID          string `path:"id" format:"uuid" doc:"The UUID of the case, seizure or exhibit."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position."`
}

type exhibitListInput struct {
	CaseID      string `query:"case_id" format:"uuid"`
	SeizureID   string `query:"seizure_id" format:"uuid"`
	Status      string `query:"status" maxLength:"50"`
	Substance   string `query:"substance" maxLength:"200"`
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type holdingsInput struct {
	Agency      string `query:"agency" maxLength:"100" doc:"The holding agency (default: yours)."`
	Person      string `query:"person" maxLength:"100"`
	Location    string `query:"location" maxLength:"200"`
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type transfersInput struct {
	ToAgency    string `query:"to_agency" maxLength:"100"`
	FromAgency  string `query:"from_agency" maxLength:"100"`
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type discrepancyInput struct {
	ExhibitID       string `query:"exhibit_id" format:"uuid"`
	CaseID          string `query:"case_id" format:"uuid"`
	Kind            string `query:"kind" maxLength:"50"`
	IncludeResolved bool   `query:"include_resolved"`
	Limit           int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor          string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition     string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type labInput struct {
	Lab         string `query:"lab" maxLength:"100" doc:"The lab agency (default: yours)."`
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type turnaroundInput struct {
	Lab string `query:"lab" maxLength:"100" doc:"The lab agency (default: yours)."`
}

type statsInput struct {
	GroupBy     []string `query:"group_by" doc:"Dimensions: substance, month, country, place, agency."`
	FromMonth   string   `query:"from_month" pattern:"^[0-9]{4}-[0-9]{2}$"`
	ToMonth     string   `query:"to_month" pattern:"^[0-9]{4}-[0-9]{2}$"`
	Substance   string   `query:"substance" maxLength:"200"`
	Country     string   `query:"country" maxLength:"2"`
	Agency      string   `query:"agency" maxLength:"100"`
	Limit       int      `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string   `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string   `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

func get(id, path, summary, desc string, tags ...string) huma.Operation {
	return huma.Operation{OperationID: id, Method: http.MethodGet, Path: path, Summary: summary, Description: desc, Tags: tags,
		Errors: []int{http.StatusNotFound}}
}

func (s *Server) registerReads() {
	if s.cfg.Reads == nil {
		return
	}
	rm := s.cfg.Reads
	register(s, authenticated, get("list-cases", "/v1/cases", "List cases", "The cases your agency owns, supervises or that were shared with it.", "cases"),
		func(ctx context.Context, in *caseListInput) (*body[projections.CasePage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			out, err := rm.Cases(ctx, principalOf(ctx).Agency, projections.CaseFilter{OwnerAgency: in.OwnerAgency, Open: in.Open}, pg)
			return &body[projections.CasePage]{out}, err
		})
	register(s, authenticated, get("get-case", "/v1/cases/{id}", "Get a case", "A case's summary: owner, participants, holds, exhibits.", "cases"),
		func(ctx context.Context, in *idInput) (*itemOutput[projections.CaseSummary], error) {
			id, mp, err := in.parse()
			if err != nil {
				return nil, err
			}
			out, err := rm.Case(ctx, principalOf(ctx).Agency, id, mp)
			return &itemOutput[projections.CaseSummary]{ETag: etag(uint64(max(out.Revision, 0))), Body: out}, err
		})
	register(s, authenticated, get("get-seizure", "/v1/seizures/{id}", "Get a seizure", "A seizure record and its exhibits.", "cases"),
		func(ctx context.Context, in *idInput) (*body[projections.SeizureSummary], error) {
			id, mp, err := in.parse()
			if err != nil {
				return nil, err
			}
			out, err := rm.Seizure(ctx, principalOf(ctx).Agency, id, s.now(), mp)
			return &body[projections.SeizureSummary]{out}, err
		})
	register(s, authenticated, get("list-exhibits", "/v1/exhibits", "List exhibits", "Exhibits of the cases your agency may see.", "exhibits"),
		func(ctx context.Context, in *exhibitListInput) (*body[projections.ExhibitPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			f := projections.ExhibitFilter{Status: in.Status, Substance: in.Substance, Now: s.now()}
			if f.CaseID, err = optionalID("query.case_id", in.CaseID); err != nil {
				return nil, err
			}
			if f.SeizureID, err = optionalID("query.seizure_id", in.SeizureID); err != nil {
				return nil, err
			}
			out, err := rm.Exhibits(ctx, principalOf(ctx).Agency, f, pg)
			return &body[projections.ExhibitPage]{out}, err
		})
	register(s, authenticated, get("get-exhibit", "/v1/exhibits/{id}", "Get an exhibit's custody", "Current state, custodian, location, seal, weight, flags. The ETag is the exhibit stream's revision: send it as If-Match with a command.", "exhibits"),
		func(ctx context.Context, in *idInput) (*itemOutput[projections.ExhibitCustody], error) {
			id, mp, err := in.parse()
			if err != nil {
				return nil, err
			}
			out, err := rm.Custody(ctx, principalOf(ctx).Agency, id, s.now(), mp)
			return &itemOutput[projections.ExhibitCustody]{ETag: etag(uint64(max(out.Revision, 0))), Body: out}, err
		})
	register(s, authenticated, get("list-holdings", "/v1/holdings", "What an agency, person or location holds", "Exhibits in the custody of an agency (default yours), optionally one person or storage location of it.", "custody"),
		func(ctx context.Context, in *holdingsInput) (*body[projections.ExhibitPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			p := principalOf(ctx)
			agency := in.Agency
			if agency == "" {
				agency = p.Agency
			}
			out, err := rm.Holdings(ctx, p.Agency, projections.HoldingsFilter{Agency: agency, Person: in.Person, Location: in.Location, Now: s.now()}, pg)
			return &body[projections.ExhibitPage]{out}, err
		})
	register(s, authenticated, get("list-pending-transfers", "/v1/transfers/pending", "Pending transfers", "Exhibits offered and not yet accepted, rejected or cancelled.", "custody"),
		func(ctx context.Context, in *transfersInput) (*body[projections.ExhibitPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			out, err := rm.PendingTransfers(ctx, principalOf(ctx).Agency, projections.TransferFilter{ToAgency: in.ToAgency, FromAgency: in.FromAgency}, s.now(), pg)
			return &body[projections.ExhibitPage]{out}, err
		})
	register(s, authenticated, get("list-overdue-checkouts", "/v1/checkouts/overdue", "Overdue checkouts", "Exhibits checked out past their due date.", "custody"),
		func(ctx context.Context, in *pageParams) (*body[projections.ExhibitPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			out, err := rm.OverdueCheckouts(ctx, principalOf(ctx).Agency, s.now(), pg)
			return &body[projections.ExhibitPage]{out}, err
		})
	register(s, authenticated, get("list-open-discrepancies", "/v1/discrepancies", "Discrepancies", "Open discrepancies (weights, seals), or all with include_resolved.", "custody"),
		func(ctx context.Context, in *discrepancyInput) (*body[projections.DiscrepancyPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			f := projections.DiscrepancyFilter{Kind: in.Kind, IncludeResolved: in.IncludeResolved}
			if f.ExhibitID, err = optionalID("query.exhibit_id", in.ExhibitID); err != nil {
				return nil, err
			}
			if f.CaseID, err = optionalID("query.case_id", in.CaseID); err != nil {
				return nil, err
			}
			out, err := rm.Discrepancies(ctx, principalOf(ctx).Agency, f, pg)
			return &body[projections.DiscrepancyPage]{out}, err
		})
	register(s, authenticated, get("list-lab-queue", "/v1/lab/queue", "Lab queue", "Exhibits submitted to or held by a lab without a result yet, oldest first.", "lab"),
		func(ctx context.Context, in *labInput) (*body[projections.LabQueuePage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			p := principalOf(ctx)
			lab := in.Lab
			if lab == "" {
				lab = p.Agency
			}
			out, err := rm.LabQueue(ctx, p.Agency, projections.LabQueueFilter{Lab: lab, Now: s.now()}, pg)
			return &body[projections.LabQueuePage]{out}, err
		})
	register(s, authenticated, get("get-lab-turnaround", "/v1/lab/turnaround", "Lab turnaround", "How long a lab takes from receipt to result.", "lab"),
		func(ctx context.Context, in *turnaroundInput) (*body[projections.LabTurnaround], error) {
			p := principalOf(ctx)
			lab := in.Lab
			if lab == "" {
				lab = p.Agency
			}
			out, err := rm.Turnaround(ctx, p.Agency, lab)
			return &body[projections.LabTurnaround]{out}, err
		})
	register(s, authenticated, get("get-statistics", "/v1/statistics", "Statistics", "Seizures and weights grouped by substance, month, place.", "statistics"),
		func(ctx context.Context, in *statsInput) (*body[projections.StatsPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			out, err := rm.Statistics(ctx, principalOf(ctx).Agency, projections.StatsFilter{GroupBy: in.GroupBy, FromMonth: in.FromMonth, ToMonth: in.ToMonth,
				Substance: in.Substance, Country: in.Country, Agency: in.Agency}, pg)
			return &body[projections.StatsPage]{out}, err
		})
}

func (in *idInput) parse() (uuid.UUID, *uint64, error) {
	id, err := parseID("path.id", in.ID)
	if err != nil {
		return uuid.Nil, nil, err
	}
	mp, err := parseMinPosition(in.MinPosition)
	return id, mp, err
}
