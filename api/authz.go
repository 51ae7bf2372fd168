package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// forbiddenError: the caller is authenticated but its roles do not allow
// the operation. Whether a case is visible is never a 403 but a 404.
type forbiddenError struct {
	Operation string
	Need      []string
}

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("%s needs one of the roles: %s", e.Operation, strings.Join(e.Need, ", "))
}

// anyCaseRole: everyone who works on cases; admins manage, never read cases.
var anyCaseRole = []string{RoleOfficer, RoleCustodian, RoleAnalyst, RoleMagistrate, RoleAuditor}

// policy is the one table saying which roles may call which operation.
// Agency scoping (which cases an agency may see and act on) is decided by
// visibleCase; the domain then checks the finer rules (the custodian's
// agency offers, the named receiver accepts...). Every authenticated
// operation MUST have an entry: register panics otherwise.
var policy = map[string][]string{
	// queries
	"list-cases":              anyCaseRole,
	"get-case":                anyCaseRole,
	"get-case-history":        anyCaseRole,
	"get-seizure":             anyCaseRole,
	"get-seizure-history":     anyCaseRole,
	"list-exhibits":           anyCaseRole,
	"get-exhibit":             anyCaseRole,
	"get-exhibit-history":     anyCaseRole,
	"list-holdings":           anyCaseRole,
	"list-pending-transfers":  anyCaseRole,
	"list-lab-queue":          anyCaseRole,
	"get-lab-turnaround":      anyCaseRole,
	"list-overdue-checkouts":  anyCaseRole,
	"list-open-discrepancies": anyCaseRole,
	"get-statistics":          anyCaseRole,
	// attachments
	"upload-attachment":   writerRoles,
	"download-attachment": anyCaseRole,
	// integrity (authenticated parts)
	"download-exhibit-bundle": anyCaseRole,
	"download-case-bundle":    anyCaseRole,
	// feed
	"feed":      anyCaseRole,
	"list-feed": anyCaseRole,
	// who am I
	"whoami": append(slices.Clone(anyCaseRole), RoleAdmin),
}

// writerRoles may send commands; the domain then decides, per command,
// which of these roles may act and on what (its ErrForbidden is a 403):
// an auditor may only annotate, for instance. Admins never write custody
// events.
var writerRoles = anyCaseRole

// allow reports whether p may call the operation, by role only.
func allow(operation string, p Principal) error {
	need, ok := policy[operation]
	if !ok {
		return &forbiddenError{Operation: operation}
	}
	for _, r := range need {
		if p.Has(r) {
			return nil
		}
	}
	return &forbiddenError{Operation: operation, Need: need}
}

// principalOf returns the request's principal; register has already
// refused anonymous calls to authenticated operations.
func principalOf(ctx context.Context) Principal {
	p, _ := PrincipalFrom(ctx)
	return p
}
