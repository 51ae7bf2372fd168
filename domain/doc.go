// Package domain owns scelle's business rules: the commands users issue
// about cases, seizures and exhibits, the events they produce, the states
// folded from those events, and every invariant of the chain of custody
// (DESIGN.md, "Domain" and "Access"). It is pure: it imports only the
// standard library, github.com/google/uuid and go-playground/validator; it
// does no I/O, reads no clock and draws no random number. Time (now, and
// each command's occurred_at) and the idempotency key are arguments; every
// new ID is derived from them (UUIDv5, see EntityID and EventID).
//
// # Shape
//
// One entry point serves every command:
//
//	func Decide(p Principal, cmd Command, v View, now time.Time, key string) (Decision, error)
//
// where:
//
//   - p is the authenticated Principal (user, agency, roles). It is never
//     part of a command's payload; the role it acted in is Decision.Role.
//   - cmd is one of the command structs (OpenCase, RecordSeizure,
//     OfferTransfer, ...; NewCommand makes one by name). Their JSON form is
//     the API's request body; validate tags check their shape.
//   - v is a View of the folded states the caller preloaded: first
//     cmd.Targets(), then, for every exhibit loaded, Exhibit.Related() (its
//     case, its seizure, its parent and its sub-samples). One level only.
//   - Decision is an ordered list of Appends {Stream, ExpectedRevision,
//     Events}; ExpectedRevision is NoStream (-1) for a stream the decision
//     creates, otherwise the Revision() of the state it was based on. Each
//     NewEvent has a deterministic ID, the occurred_at, and the Event.
//
// To store a decision, encode each NewEvent with Encode into an
// eventstore.EventData {ID, Type, SchemaVersion, Payload, OccurredAt,
// Actor{User, Agency, Role: string(Decision.Role)}} and append each Append
// in order (ExpectedRevision NoStream -> eventstore.NoStream, n ->
// eventstore.Exact(n)), stopping at the first error.
//
// Streams are "case-<uuid>", "seizure-<uuid>" and "exhibit-<uuid>"
// (CaseStream, SeizureStream, ExhibitStream). States (Case, Seizure,
// Exhibit) are folded with NewCase / NewSeizure / NewExhibit or Apply;
// folding never fails and is deterministic.
//
// # Events and codec
//
// Each event type is a Go struct with snake_case JSON tags; quantities are
// integers (milligrams, basis points), times RFC 3339 in UTC. Its name
// (EventType) and schema version travel in the envelope. Encode returns
// (type, version, payload); Decode parses a payload at any known version,
// running registered Upcasters from older versions to the current struct.
// Every event type has a frozen fixture in testdata/events that must always
// decode and re-encode to the same bytes.
//
// # Multi-stream decisions
//
// A decision that touches several streams orders them so that the last
// append is its commit record: RecordSeizure appends each exhibit's stream
// first and SeizureRecorded (listing them) last; TakeSubSample appends the
// sub-sample's stream first and SubSampleTaken on the parent last. A crash
// half-way leaves streams that nothing lists: read models MUST NOT show an
// exhibit until its SeizureRecorded or SubSampleTaken exists, and Decide
// treats such an exhibit as not found. Retrying the same command with the
// same principal and key reproduces the same IDs and events; the store
// accepts the re-appended ones as already written and the rest completes.
// occurred_at defaults to now: a retry MUST pass the occurred_at of the first
// attempt, or its events differ. A retry after a complete success is
// recognised by looking up EventID(p, key, 0) before deciding again.
//
// # Commands
//
// Who may issue each command, and what it appends (the rules that refuse
// each one are on its type and in docs/DOMAIN.md). "Handler" is an
// officer, custodian or analyst; "holder" the agency holding the exhibit
// (its custodian, or whom it is checked out to); "auto" marks the automatic
// DiscrepancyRaised that follows a seal or weight that does not match.
//
//	OpenCase            officer, magistrate                    CaseOpened
//	ShareCase           magistrate of a participant            CaseShared
//	RevokeCaseSharing   magistrate of owner/supervisor/granter CaseSharingRevoked
//	CloseCase           officer or magistrate of the owner     CaseClosed
//	PlaceHold           magistrate of a participant            HoldPlaced (case or exhibit stream)
//	ReleaseHold         magistrate of the placing agency       HoldReleased
//	RecordSeizure       officer of a participant               per exhibit ExhibitRegistered [ExhibitSealed] [ExhibitWeighed]; SeizureRecorded
//	SealExhibit         handler of the holder                  ExhibitSealed
//	WeighExhibit        handler of the holder                  ExhibitWeighed + auto
//	InspectSeal         handler of the holder, auditor         SealInspected + auto
//	OpenSeal            handler of the holder                  SealOpened
//	ResealExhibit       handler of the holder                  ExhibitResealed
//	StoreExhibit        custodian/officer of the custodian     ExhibitStored
//	OfferTransfer       handler of the custodian agency        TransferOffered
//	AcceptTransfer      the named receiver                     TransferAccepted + auto
//	RejectTransfer      the named receiver                     TransferRejected
//	CancelTransfer      handler of the offering agency         TransferCancelled
//	CheckOut            custodian of the custodian agency      CheckedOut
//	CheckIn             custodian of the custodian agency      CheckedIn + auto
//	TakeSubSample       handler of the holder                  sub-sample ExhibitRegistered ExhibitSealed ExhibitWeighed; parent SubSampleTaken
//	RecordLabReceipt    analyst of the holding lab             LabReceiptRecorded + auto
//	ReportAnalysis      analyst of the holding lab             AnalysisReported + auto
//	AmendReport         analyst of the reporting lab           ReportAmended
//	RaiseDiscrepancy    handler of the holder, auditor         DiscrepancyRaised
//	ResolveDiscrepancy  custodian of the custodian, magistrate DiscrepancyResolved
//	AuditInventory      custodian of the custodian, auditor    InventoryAudited + auto (missing, location, seal, weight)
//	AddAnnotation       anyone but admin, of a participant     AnnotationAdded (also on terminal exhibits)
//	AuthoriseDisposal   magistrate of a participant            DisposalAuthorised
//	DestroyExhibit      custodian of the custodian agency      ExhibitDestroyed
//	ReturnExhibit       custodian of the custodian agency      ExhibitReturned
//	ReleaseExhibit      custodian of the custodian agency      ExhibitReleased
//
// Admins never write custody events: no command accepts the admin role.
//
// # Errors
//
// *ValidationError (422, fields named as in the JSON form of the command),
// *RuleError (409, a stable Code such as "custody.pending-transfer" and the
// field concerned), ErrNotFound (404), ErrForbidden (403). All are wrapped
// with %w; use errors.Is / errors.As.
//
// # Policy
//
// Policy holds the tunable parameters: MaxClockSkew (DefaultMaxClockSkew, 5
// minutes) and WeightToleranceMg (added to the combined uncertainty).
// Decide uses DefaultPolicy; Policy.Decide takes another.
//
// docs/DOMAIN.md lists every command, who may issue it, the events it
// produces and the rules that refuse it.
package domain
