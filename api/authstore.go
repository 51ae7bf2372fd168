package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite" // the pure Go SQLite driver, registered as "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Roles a user can hold (DESIGN.md, "Access").
const (
	RoleOfficer    = "officer"
	RoleCustodian  = "custodian"
	RoleAnalyst    = "analyst"
	RoleMagistrate = "magistrate"
	RoleAuditor    = "auditor"
	RoleAdmin      = "admin"
)

// Roles lists every role, in a stable order.
var Roles = []string{RoleOfficer, RoleCustodian, RoleAnalyst, RoleMagistrate, RoleAuditor, RoleAdmin}

// TokenPrefix starts every bearer token, so that a leaked token is easy to
// recognise in logs and by secret scanners.
const TokenPrefix = "sct_"

var (
	// ErrUnauthenticated: no token, or a token that is unknown, revoked or expired.
	ErrUnauthenticated = errors.New("api: unauthenticated")
	// ErrExists: the agency, user or token already exists.
	ErrExists = errors.New("api: already exists")
	// ErrNoSuchEntity: the agency, user or token does not exist.
	ErrNoSuchEntity = errors.New("api: no such entity")
)

// Agency is an organisation whose users act on cases.
type Agency struct {
	Code    string    `json:"code"`
	Name    string    `json:"name"`
	Country string    `json:"country"`
	Kind    string    `json:"kind"`
	Created time.Time `json:"created_at"`
}

// User belongs to one agency and holds roles.
type User struct {
	ID       string    `json:"id"`
	Agency   string    `json:"agency"`
	Name     string    `json:"name"`
	Roles    []string  `json:"roles"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created_at"`
}

// Token describes an issued token; the secret itself is never stored.
type Token struct {
	ID      string     `json:"id"`
	UserID  string     `json:"user"`
	Label   string     `json:"label,omitempty"`
	Created time.Time  `json:"created_at"`
	Expires time.Time  `json:"expires_at"`
	Revoked *time.Time `json:"revoked_at,omitempty"`
}

// Principal is the authenticated caller of a request: the actor of every
// event it causes.
type Principal struct {
	User    string
	Name    string
	Agency  string
	Roles   []string
	TokenID string
}

// Has reports whether p holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// AuthStore keeps agencies, users and hashed tokens in a SQLite file of the
// data directory. `scelle admin` writes it; the server checks it for
// changes on every request (see authCache), so revocation takes effect at
// once.
type AuthStore struct {
	db    *sql.DB
	auth  *sql.Stmt
	cache authCache
}

const authSchema = `
CREATE TABLE IF NOT EXISTS agencies (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	country TEXT NOT NULL,
	kind TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
	id TEXT PRIMARY KEY,
	agency TEXT NOT NULL REFERENCES agencies(code),
	name TEXT NOT NULL,
	roles TEXT NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id),
	hash BLOB NOT NULL UNIQUE,
	label TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
`

// OpenAuthStore opens (creating if needed) the auth database at path.
func OpenAuthStore(ctx context.Context, path string) (*AuthStore, error) {
	db, err := openSQLite(ctx, path, "FULL")
	if err != nil {
		return nil, fmt.Errorf("api: open auth store: %w", err)
	}
	if _, err := db.ExecContext(ctx, authSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("api: open auth store: schema: %w", err)
	}
	st, err := db.PrepareContext(ctx, `SELECT t.id, t.expires_at, t.revoked_at, u.id, u.name, u.agency, u.roles, u.disabled
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("api: open auth store: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		st.Close()
		db.Close()
		return nil, fmt.Errorf("api: open auth store: %w", err)
	}
	version, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
	if err != nil {
		conn.Close()
		st.Close()
		db.Close()
		return nil, fmt.Errorf("api: open auth store: %w", err)
	}
	return &AuthStore{db: db, auth: st, cache: authCache{conn: conn, version: version, seen: -1, tokens: map[[32]byte]cachedToken{},
		shmPath: path + "-shm"}}, nil
}

// openSQLite opens a SQLite file in WAL mode with foreign keys and a busy
// timeout, so that `scelle admin` can write while the server reads. params
// are more URI parameters, by pairs.
func openSQLite(ctx context.Context, path, synchronous string, params ...string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(" + synchronous + ")"
	for i := 0; i+1 < len(params); i += 2 {
		dsn += "&" + url.QueryEscape(params[i]) + "=" + url.QueryEscape(params[i+1])
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// Keep connections (and their prepared statements) instead of closing
	// all but two after each burst, database/sql's default.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (s *AuthStore) Close() error {
	s.cache.version.Close()
	s.cache.conn.Close()
	if s.cache.shm != nil {
		s.cache.shm.Close()
	}
	s.auth.Close()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *AuthStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

var (
	codePattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,63}$`)
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// AddAgency registers an agency. Code is upper case letters, digits and
// dashes (MA-DOUANE-TGM); country an ISO 3166-1 alpha-2 code.
func (s *AuthStore) AddAgency(ctx context.Context, a Agency, now time.Time) error {
	switch {
	case !codePattern.MatchString(a.Code):
		return fmt.Errorf("api: add agency: code %q: want upper case letters, digits and dashes, 2 to 64 characters", a.Code)
	case len(a.Country) != 2 || strings.ToUpper(a.Country) != a.Country:
		return fmt.Errorf("api: add agency: country %q: want an ISO 3166-1 alpha-2 code such as MA or FR", a.Country)
	case strings.TrimSpace(a.Name) == "":
		return fmt.Errorf("api: add agency: name must not be empty")
	case strings.TrimSpace(a.Kind) == "":
		return fmt.Errorf("api: add agency: kind must not be empty (customs, lab, court, police...)")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO agencies(code,name,country,kind,created_at) VALUES(?,?,?,?,?)`,
		a.Code, a.Name, a.Country, a.Kind, now.UnixNano())
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("api: add agency %s: %w", a.Code, ErrExists)
		}
		return fmt.Errorf("api: add agency %s: %w", a.Code, err)
	}
	return nil
}

// Agencies lists every agency by code.
func (s *AuthStore) Agencies(ctx context.Context) ([]Agency, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT code,name,country,kind,created_at FROM agencies ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("api: list agencies: %w", err)
	}
	defer rows.Close()
	var out []Agency
	for rows.Next() {
		var a Agency
		var created int64
		if err := rows.Scan(&a.Code, &a.Name, &a.Country, &a.Kind, &created); err != nil {
			return nil, fmt.Errorf("api: list agencies: %w", err)
		}
		a.Created = time.Unix(0, created).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// Agency returns one agency.
func (s *AuthStore) Agency(ctx context.Context, code string) (Agency, error) {
	var a Agency
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT code,name,country,kind,created_at FROM agencies WHERE code=?`, code).
		Scan(&a.Code, &a.Name, &a.Country, &a.Kind, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("api: agency %s: %w", code, ErrNoSuchEntity)
	}
	if err != nil {
		return a, fmt.Errorf("api: agency %s: %w", code, err)
	}
	a.Created = time.Unix(0, created).UTC()
	return a, nil
}

// AddUser registers a user of an existing agency with at least one role.
func (s *AuthStore) AddUser(ctx context.Context, u User, now time.Time) error {
	if !idPattern.MatchString(u.ID) {
		return fmt.Errorf("api: add user: id %q: want lower case letters, digits, '.', '_' or '-', at most 64 characters", u.ID)
	}
	if len(u.Roles) == 0 {
		return fmt.Errorf("api: add user %s: roles: at least one of %s", u.ID, strings.Join(Roles, ", "))
	}
	for _, r := range u.Roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("api: add user %s: role %q: want one of %s", u.ID, r, strings.Join(Roles, ", "))
		}
	}
	if strings.TrimSpace(u.Name) == "" {
		u.Name = u.ID
	}
	if _, err := s.Agency(ctx, u.Agency); err != nil {
		return fmt.Errorf("api: add user %s: %w", u.ID, err)
	}
	roles := slices.Clone(u.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(id,agency,name,roles,created_at) VALUES(?,?,?,?,?)`,
		u.ID, u.Agency, u.Name, strings.Join(roles, ","), now.UnixNano())
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("api: add user %s: %w", u.ID, ErrExists)
		}
		return fmt.Errorf("api: add user %s: %w", u.ID, err)
	}
	return nil
}

// SetUserDisabled disables or re-enables a user; a disabled user's tokens
// stop working at once.
func (s *AuthStore) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET disabled=? WHERE id=?`, disabled, id)
	if err != nil {
		return fmt.Errorf("api: disable user %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("api: disable user %s: %w", id, ErrNoSuchEntity)
	}
	return nil
}

// Users lists users, of one agency if agency is not empty.
func (s *AuthStore) Users(ctx context.Context, agency string) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id,agency,name,roles,disabled,created_at FROM users WHERE ?='' OR agency=? ORDER BY agency,id`, agency, agency)
	if err != nil {
		return nil, fmt.Errorf("api: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var roles string
		var created int64
		if err := rows.Scan(&u.ID, &u.Agency, &u.Name, &roles, &u.Disabled, &created); err != nil {
			return nil, fmt.Errorf("api: list users: %w", err)
		}
		u.Roles = strings.Split(roles, ",")
		u.Created = time.Unix(0, created).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// IssueToken creates a token for a user, valid for ttl, and returns its
// secret: the only time it is ever visible. Only its SHA-256 is stored.
func (s *AuthStore) IssueToken(ctx context.Context, userID, label string, ttl time.Duration, now time.Time) (Token, string, error) {
	if ttl <= 0 {
		return Token{}, "", fmt.Errorf("api: issue token: ttl must be positive, got %v", ttl)
	}
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id=? AND disabled=0`, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, "", fmt.Errorf("api: issue token: user %s: %w", userID, ErrNoSuchEntity)
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("api: issue token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", fmt.Errorf("api: issue token: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Token{}, "", fmt.Errorf("api: issue token: %w", err)
	}
	t := Token{
		ID:      fmt.Sprintf("tok_%x", idb[:]),
		UserID:  userID,
		Label:   label,
		Created: now.UTC(),
		Expires: now.Add(ttl).UTC(),
	}
	h := sha256.Sum256([]byte(secret))
	_, err = s.db.ExecContext(ctx, `INSERT INTO tokens(id,user_id,hash,label,created_at,expires_at) VALUES(?,?,?,?,?,?)`,
		t.ID, userID, h[:], label, t.Created.UnixNano(), t.Expires.UnixNano())
	if err != nil {
		return Token{}, "", fmt.Errorf("api: issue token: %w", err)
	}
	return t, secret, nil
}

// RevokeToken revokes a token by its id.
func (s *AuthStore) RevokeToken(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at=? WHERE id=? AND revoked_at IS NULL`, now.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("api: revoke token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("api: revoke token %s: %w (or already revoked)", id, ErrNoSuchEntity)
	}
	return nil
}

// Tokens lists tokens, of one user if userID is not empty.
func (s *AuthStore) Tokens(ctx context.Context, userID string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id,user_id,label,created_at,expires_at,revoked_at FROM tokens WHERE ?='' OR user_id=? ORDER BY created_at`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("api: list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var created, expires int64
		var revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Label, &created, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("api: list tokens: %w", err)
		}
		t.Created, t.Expires = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
		if revoked.Valid {
			r := time.Unix(0, revoked.Int64).UTC()
			t.Revoked = &r
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Authenticate resolves a bearer token to its principal. Unknown, revoked
// and expired tokens and disabled users all fail with ErrUnauthenticated,
// without saying which.
func (s *AuthStore) Authenticate(ctx context.Context, secret string, now time.Time) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	h := sha256.Sum256([]byte(secret))
	p, ok, version, err := s.cache.lookup(ctx, h, now)
	if err != nil {
		return Principal{}, fmt.Errorf("api: authenticate: %w", err)
	}
	if ok {
		return p, nil
	}
	var roles string
	var expires int64
	var revoked sql.NullInt64
	var disabled bool
	err = s.auth.QueryRowContext(ctx, h[:]).
		Scan(&p.TokenID, &expires, &revoked, &p.User, &p.Name, &p.Agency, &roles, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("api: authenticate: %w", err)
	}
	if revoked.Valid || disabled || now.UnixNano() >= expires {
		return Principal{}, ErrUnauthenticated
	}
	p.Roles = strings.Split(roles, ",")
	s.cache.remember(h, p, expires, version)
	return p, nil
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
