package domain

import (
	"fmt"
	"slices"
)

// Role is what a user may do within their agency.
type Role string

// The roles of DESIGN.md, "Access".
const (
	RoleOfficer    Role = "officer"
	RoleCustodian  Role = "custodian"
	RoleAnalyst    Role = "analyst"
	RoleMagistrate Role = "magistrate"
	RoleAuditor    Role = "auditor"
	RoleAdmin      Role = "admin"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleOfficer, RoleCustodian, RoleAnalyst, RoleMagistrate, RoleAuditor, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Principal is the authenticated user acting: always taken from the
// authentication layer, never from a command's payload. It is an argument of
// every decision.
type Principal struct {
	User   string
	Agency string
	Roles  []Role
}

// Has reports whether p holds role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// check reports a principal that cannot act at all.
func (p Principal) check() error {
	if p.User == "" || p.Agency == "" {
		return fmt.Errorf("domain: principal without user or agency: %w", ErrForbidden)
	}
	for _, r := range p.Roles {
		if !r.Valid() {
			return fmt.Errorf("domain: principal %s has unknown role %q: %w", p.User, r, ErrForbidden)
		}
	}
	return nil
}

// actingRole returns the first of allowed that p holds: the role recorded in
// the envelope's actor. It fails with ErrForbidden when p holds none.
func (p Principal) actingRole(op string, allowed ...Role) (Role, error) {
	for _, r := range allowed {
		if p.Has(r) {
			return r, nil
		}
	}
	return "", forbidden(op, "requires role %s", joinRoles(allowed))
}

func joinRoles(rs []Role) string {
	s := ""
	for i, r := range rs {
		switch {
		case i == 0:
		case i == len(rs)-1:
			s += " or "
		default:
			s += ", "
		}
		s += string(r)
	}
	return s
}
