package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/projections"
)

// ReadModels is what the API needs of the read side: queries scoped to
// the asking agency, each able to wait for a minimum position.
type ReadModels interface {
	Case(ctx context.Context, agency string, caseID uuid.UUID, minPosition *uint64) (projections.CaseSummary, error)
	Cases(ctx context.Context, agency string, f projections.CaseFilter, page projections.Page) (projections.CasePage, error)
	Seizure(ctx context.Context, agency string, seizureID uuid.UUID, now time.Time, minPosition *uint64) (projections.SeizureSummary, error)
	Custody(ctx context.Context, agency string, exhibitID uuid.UUID, now time.Time, minPosition *uint64) (projections.ExhibitCustody, error)
	Holdings(ctx context.Context, agency string, f projections.HoldingsFilter, page projections.Page) (projections.ExhibitPage, error)
	Exhibits(ctx context.Context, agency string, f projections.ExhibitFilter, page projections.Page) (projections.ExhibitPage, error)
	PendingTransfers(ctx context.Context, agency string, f projections.TransferFilter, now time.Time, page projections.Page) (projections.ExhibitPage, error)
	OverdueCheckouts(ctx context.Context, agency string, now time.Time, page projections.Page) (projections.ExhibitPage, error)
	Discrepancies(ctx context.Context, agency string, f projections.DiscrepancyFilter, page projections.Page) (projections.DiscrepancyPage, error)
	LabQueue(ctx context.Context, agency string, f projections.LabQueueFilter, page projections.Page) (projections.LabQueuePage, error)
	Turnaround(ctx context.Context, agency, lab string) (projections.LabTurnaround, error)
	Statistics(ctx context.Context, agency string, f projections.StatsFilter, page projections.Page) (projections.StatsPage, error)
	FeedEvents(ctx context.Context, agency string, f projections.FeedFilter, page projections.Page) (projections.FeedPage, error)
}

var _ ReadModels = (*projections.ReadModels)(nil)
