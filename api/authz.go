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

// Everyone who works on cases; auditors and admins read only where stated.
var (
	anyCaseRole = []string{RoleOfficer, RoleCustodian, RoleAnalyst, RoleMagistrate, RoleAuditor}
	handlers    = []string{RoleOfficer, RoleCustodian, RoleAnalyst}
)

// policy is the one table saying which roles may call which operation.
// Agency scoping (which cases an agency may see and act on) is decided by
// visibleCase; the domain then checks the finer rules (the custodian's
// agency offers, the named receiver accepts...). Every authenticated
// operation MUST have an entry: register panics otherwise.
var policy = map[string][]string{
	// cases
	"open-case":           {RoleOfficer, RoleMagistrate},
	"share-case":          {RoleMagistrate},
	"revoke-case-sharing": {RoleMagistrate},
	"place-hold":          {RoleMagistrate},
	"release-hold":        {RoleMagistrate},
	"list-cases":          anyCaseRole,
	"get-case":            anyCaseRole,
	"get-case-history":    anyCaseRole,
	// seizures
	"record-seizure":      {RoleOfficer},
	"get-seizure":         anyCaseRole,
	"get-seizure-history": anyCaseRole,
	// exhibits
	"register-exhibit":    {RoleOfficer},
	"seal-exhibit":        handlers,
	"weigh-exhibit":       handlers,
	"take-sub-sample":     handlers,
	"offer-transfer":      handlers,
	"accept-transfer":     handlers,
	"reject-transfer":     handlers,
	"cancel-transfer":     handlers,
	"store-exhibit":       {RoleCustodian},
	"inspect-seal":        handlers,
	"open-seal":           handlers,
	"reseal-exhibit":      handlers,
	"record-lab-receipt":  {RoleAnalyst},
	"report-analysis":     {RoleAnalyst},
	"amend-report":        {RoleAnalyst},
	"check-out-exhibit":   {RoleCustodian},
	"check-in-exhibit":    {RoleCustodian},
	"raise-discrepancy":   anyCaseRole,
	"resolve-discrepancy": {RoleCustodian, RoleMagistrate},
	"audit-inventory":     {RoleCustodian, RoleAuditor},
	"authorise-disposal":  {RoleMagistrate},
	"destroy-exhibit":     {RoleCustodian},
	"return-exhibit":      {RoleCustodian},
	"annotate-exhibit":    anyCaseRole,
	"list-exhibits":       anyCaseRole,
	"get-exhibit":         anyCaseRole,
	"get-exhibit-history": anyCaseRole,
	// read models
	"list-holdings":           anyCaseRole,
	"list-pending-transfers":  anyCaseRole,
	"list-lab-queue":          {RoleAnalyst, RoleMagistrate, RoleAuditor},
	"list-open-discrepancies": anyCaseRole,
	"list-overdue-checkouts":  anyCaseRole,
	"get-statistics":          anyCaseRole,
	// attachments
	"upload-attachment":   anyCaseRole,
	"download-attachment": anyCaseRole,
	// integrity (authenticated parts)
	"download-exhibit-bundle": anyCaseRole,
	"download-case-bundle":    anyCaseRole,
	// feed
	"feed": anyCaseRole,
	// who am I
	"whoami": append(slices.Clone(anyCaseRole), RoleAdmin),
}

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
