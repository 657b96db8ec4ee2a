package personas

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ExportFormat is the bulk user import file of an identity provider that Export
// writes, for provisioning a candidate that has no SCIM endpoint.
type ExportFormat string

// The formats Export writes, each the one a provider documents for importing
// users with their password hashes.
const (
	// ExportAuth0 is the users file of Auth0's bulk user import (Management
	// API POST /api/v2/jobs/users-imports; "Bulk User Import Database Schema
	// and Examples"): a JSON array of users. Each has user_id (the persona id,
	// which Auth0 prefixes with the connection's strategy: auth0|patient-00001),
	// email (which Auth0 requires), email_verified, username, name, the password
	// as password_hash (bcrypt $2a$) or custom_password_hash (algorithm pbkdf2
	// or argon2 with a PHC string, sha256 with a prefix salt), and app_metadata:
	// persona_id, kind, roles (mapped), legacy_roles, panel, break_glass, wave,
	// hash_scheme, mrn, npi and the free-form attributes. Auth0 takes no
	// plaintext password and at most 500 KB per file.
	ExportAuth0 ExportFormat = "auth0"
	// ExportKeycloak is a Keycloak partial import file (Realm settings, Partial
	// import; or POST /admin/realms/{realm}/partialImport):
	// {"ifResourceExists": "FAIL", "users": [...]}. Each user has username,
	// email, emailVerified, enabled, firstName and lastName (the name split at
	// its first space), realmRoles (mapped, else the legacy roles: they must
	// exist in the realm), attributes (persona_id, kind, legacy_roles, panel,
	// break_glass, wave, hash_scheme, mrn, npi and the free-form attributes,
	// which a realm keeps when its user profile allows unmanaged attributes)
	// and one password credential: PBKDF2-SHA256 in Keycloak's own
	// secretData/credentialData, or the plaintext value.
	ExportKeycloak ExportFormat = "keycloak"
)

// ExportFormats lists the formats of Export, in the order help texts name them.
var ExportFormats = []ExportFormat{ExportAuth0, ExportKeycloak}

// The schemes Export hashes passwords under, besides HashBcrypt.
const (
	// HashPBKDF2SHA256 is PBKDF2 with HMAC-SHA-256, a 16-byte salt and a
	// 32-byte key: a PHC string $pbkdf2-sha256$i=N,l=32$SALT$HASH (standard
	// base64 without padding) for Auth0, Keycloak's pbkdf2-sha256 credential.
	HashPBKDF2SHA256 = "pbkdf2-sha256"
	// HashArgon2id is Argon2id (RFC 9106) with OWASP's minimum parameters
	// (19 MiB, 2 passes, 1 lane), a 16-byte salt and a 32-byte key: a PHC
	// string $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
	HashArgon2id = "argon2id"
	// HashCohort hashes each persona under its legacy cohort's scheme:
	// bcrypt, or salted SHA-256 (a 22-character salt before the password) for
	// the sha256-salted cohort, so the candidate holds what a migration of the
	// legacy hashes gives it and rehashes the older cohort at its first sign-in.
	HashCohort = "cohort"
)

// Defaults of ExportOptions.
const (
	// DefaultBcryptCost is the cost Auth0 documents for imported bcrypt hashes.
	DefaultBcryptCost = 10
	// DefaultPBKDF2Iterations is OWASP's minimum for PBKDF2-HMAC-SHA-256.
	DefaultPBKDF2Iterations = 600_000
)

// Argon2id parameters of HashArgon2id.
const (
	argon2Memory  = 19 * 1024 // KiB
	argon2Time    = 2
	argon2Threads = 1
	hashKeyLen    = 32
	saltLen       = 16
)

// ExportOptions says what Export writes.
type ExportOptions struct {
	// Format is the file written (default ExportAuth0).
	Format ExportFormat
	// Hash is the scheme passwords are hashed under: HashBcrypt (auth0 only),
	// HashPBKDF2SHA256, HashArgon2id (auth0 only) or HashCohort (auth0 only).
	// "" is the format's default: bcrypt for auth0, pbkdf2-sha256 for keycloak.
	Hash string
	// Plaintext writes the passwords themselves instead of hashes, for a
	// format that takes them (keycloak); Hash must then be "".
	Plaintext bool
	// MapRoles maps legacy roles to the candidate's; nil writes the legacy
	// roles only.
	MapRoles RoleMap
	// BcryptCost is the bcrypt cost (default DefaultBcryptCost).
	BcryptCost int
	// PBKDF2Iterations is the PBKDF2 iteration count (default
	// DefaultPBKDF2Iterations).
	PBKDF2Iterations int
}

// ExportResult says what Export wrote.
type ExportResult struct {
	// Users is how many users the file holds: the human personas.
	Users int
	// Skipped is how many service personas were left out: on a candidate they
	// are OAuth clients, registered apart, not users.
	Skipped int
	// Hash is the scheme the passwords were written under ("plaintext" for
	// Plaintext).
	Hash string
}

// ErrExportOption is what the errors of Export about its options, not the
// population, are (errors.Is): for a CLI, usage errors.
var ErrExportOption = errors.New("invalid export option")

// optionError is an error of Export about its options.
type optionError string

func (e optionError) Error() string        { return "export: " + string(e) }
func (e optionError) Is(target error) bool { return target == ErrExportOption }

// Export writes the human personas of pop in a provider's bulk import format,
// each with the password it signs in to the candidate with (its candidate
// secret where it has one) hashed as opt says. The file holds password hashes,
// or with Plaintext the passwords: a secret to write to a file of mode 0600. No
// error quotes a secret or a hash. The population is checked first (Validate),
// and every problem is reported at once.
func Export(w io.Writer, pop Population, opt ExportOptions) (ExportResult, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return ExportResult{}, err
	}
	if err := pop.Validate(); err != nil {
		return ExportResult{}, fmt.Errorf("export: %w", err)
	}
	var humans []Persona
	var errs []error
	for _, p := range pop.ForCandidate().Personas {
		if !p.Human() {
			continue
		}
		if p.Secret.IsZero() {
			errs = append(errs, fmt.Errorf("export: %s: no password", p.ID))
		}
		if opt.Format == ExportAuth0 && p.Email == "" {
			errs = append(errs, fmt.Errorf("export: %s: no email; Auth0 requires one for every user", p.ID))
		}
		if opt.Format == ExportKeycloak {
			for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
				if slices.Contains(exportAttrs, name) {
					errs = append(errs, fmt.Errorf("export: %s: attribute %q has the name of a built-in attribute of a keycloak user", p.ID, name))
				}
			}
		}
		humans = append(humans, p)
	}
	if err := errors.Join(errs...); err != nil {
		return ExportResult{}, err
	}
	res := ExportResult{Users: len(humans), Skipped: len(pop.Personas) - len(humans), Hash: opt.Hash}
	if opt.Plaintext {
		res.Hash = "plaintext"
	}
	hashes, err := opt.hashAll(humans)
	if err != nil {
		return ExportResult{}, err
	}
	bw := bufio.NewWriter(w)
	switch opt.Format {
	case ExportAuth0:
		err = writeAuth0(bw, humans, hashes, opt)
	case ExportKeycloak:
		err = writeKeycloak(bw, humans, hashes, opt)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: %w", err)
	}
	return res, nil
}

// withDefaults fills in the defaults and checks the options against each other.
func (opt ExportOptions) withDefaults() (ExportOptions, error) {
	if opt.Format == "" {
		opt.Format = ExportAuth0
	}
	bad := func(format string, args ...any) (ExportOptions, error) {
		return ExportOptions{}, optionError(fmt.Sprintf(format, args...))
	}
	hashes := map[ExportFormat][]string{
		ExportAuth0:    {HashBcrypt, HashPBKDF2SHA256, HashArgon2id, HashCohort},
		ExportKeycloak: {HashPBKDF2SHA256},
	}
	accepted, ok := hashes[opt.Format]
	switch {
	case !ok:
		return bad("format %q; want one of %s", opt.Format, joinFormats())
	case opt.Plaintext && opt.Hash != "":
		return bad("plaintext passwords or %s hashes: not both", opt.Hash)
	case opt.Plaintext && opt.Format != ExportKeycloak:
		return bad("%s imports no plaintext password: want %s hashes, or format %s", opt.Format, strings.Join(accepted, ", "), ExportKeycloak)
	case opt.Hash == "" && !opt.Plaintext:
		opt.Hash = accepted[0]
	case !opt.Plaintext && !slices.Contains(accepted, opt.Hash):
		also := ""
		if opt.Format == ExportKeycloak {
			also = " or plaintext passwords"
		}
		return bad("%s imports %s hashes%s, not %q", opt.Format, strings.Join(accepted, ", "), also, opt.Hash)
	}
	if opt.BcryptCost == 0 {
		opt.BcryptCost = DefaultBcryptCost
	}
	if opt.BcryptCost < bcrypt.MinCost || opt.BcryptCost > bcrypt.MaxCost {
		return bad("bcrypt cost %d; want %d to %d", opt.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if opt.PBKDF2Iterations == 0 {
		opt.PBKDF2Iterations = DefaultPBKDF2Iterations
	}
	if opt.PBKDF2Iterations < 1 {
		return bad("PBKDF2 iterations %d; want at least 1", opt.PBKDF2Iterations)
	}
	return opt, nil
}

func joinFormats() string {
	names := make([]string, len(ExportFormats))
	for i, f := range ExportFormats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// exportHash is a password as an export writes it.
type exportHash struct {
	scheme string // HashBcrypt, HashPBKDF2SHA256, HashArgon2id, HashSaltedSHA256 or "" (plaintext)
	// encoded is the bcrypt string or the PHC string.
	encoded string
	// salt and sum are the raw salt and digest (PBKDF2 for keycloak, salted
	// SHA-256), iter the PBKDF2 iterations.
	salt, sum []byte
	iter      int
	plaintext string
}

// hashAll hashes the password of every persona, on every core: bcrypt at cost 10
// or PBKDF2 at 600,000 iterations takes tens of milliseconds a password.
func (opt ExportOptions) hashAll(ps []Persona) ([]exportHash, error) {
	out := make([]exportHash, len(ps))
	errs := make([]error, len(ps))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = opt.hash(ps[i])
			}
		})
	}
	for i := range ps {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// hash hashes the password of p under the scheme of opt.
func (opt ExportOptions) hash(p Persona) (exportHash, error) {
	pw := p.Secret.Reveal()
	if opt.Plaintext {
		return exportHash{plaintext: pw}, nil
	}
	scheme := opt.Hash
	if scheme == HashCohort {
		scheme = HashBcrypt
		if p.Cohort.HashScheme == HashSaltedSHA256 {
			scheme = HashSaltedSHA256
		}
	}
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	b64 := base64.RawStdEncoding
	switch scheme {
	case HashBcrypt:
		sum, err := bcrypt.GenerateFromPassword([]byte(pw), opt.BcryptCost)
		if err != nil {
			// bcrypt's errors (a password over 72 bytes) quote no password.
			return exportHash{}, fmt.Errorf("export: %s: bcrypt: %w", p.ID, err)
		}
		return exportHash{scheme: scheme, encoded: string(sum)}, nil
	case HashPBKDF2SHA256:
		sum, err := pbkdf2.Key(sha256.New, pw, salt, opt.PBKDF2Iterations, hashKeyLen)
		if err != nil {
			return exportHash{}, fmt.Errorf("export: %s: pbkdf2: %w", p.ID, err)
		}
		phc := fmt.Sprintf("$pbkdf2-sha256$i=%d,l=%d$%s$%s", opt.PBKDF2Iterations, hashKeyLen, b64.EncodeToString(salt), b64.EncodeToString(sum))
		return exportHash{scheme: scheme, encoded: phc, salt: salt, sum: sum, iter: opt.PBKDF2Iterations}, nil
	case HashArgon2id:
		sum := argon2.IDKey([]byte(pw), salt, argon2Time, argon2Memory, argon2Threads, hashKeyLen)
		phc := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argon2Memory, argon2Time, argon2Threads, b64.EncodeToString(salt), b64.EncodeToString(sum))
		return exportHash{scheme: scheme, encoded: phc}, nil
	case HashSaltedSHA256:
		// A salt of text: Auth0 reads the salt of a sha256 hash as UTF-8.
		s := []byte(b64.EncodeToString(salt))
		sum := sha256.Sum256(append(slices.Clone(s), pw...))
		return exportHash{scheme: scheme, salt: s, sum: sum[:]}, nil
	}
	return exportHash{}, optionError(fmt.Sprintf("hash %q", scheme))
}

// exportAttrs are the attributes Export writes of every user, in app_metadata
// (auth0) or as user attributes (keycloak).
var exportAttrs = []string{"persona_id", "kind", "roles", "legacy_roles", "panel", "break_glass", "wave", "hash_scheme", "mrn", "npi", "attributes"}

// exportMetadata is the app_metadata of an auth0 user.
type exportMetadata struct {
	PersonaID   string            `json:"persona_id"`
	Kind        Kind              `json:"kind"`
	Roles       []string          `json:"roles,omitzero"` // [] when every role maps to none
	LegacyRoles []string          `json:"legacy_roles"`
	Panel       []string          `json:"panel,omitempty"`
	BreakGlass  bool              `json:"break_glass,omitempty"`
	Wave        string            `json:"wave,omitempty"`
	HashScheme  string            `json:"hash_scheme,omitempty"`
	MRN         string            `json:"mrn,omitempty"`
	NPI         string            `json:"npi,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
}

func metadataOf(p Persona, m RoleMap) exportMetadata {
	md := exportMetadata{
		PersonaID: p.ID, Kind: p.Kind, LegacyRoles: slices.Clone(p.Roles), Panel: p.Panel, BreakGlass: p.BreakGlass,
		Wave: p.Cohort.Wave, HashScheme: p.Cohort.HashScheme, MRN: p.MRN, NPI: p.NPI, Attributes: p.Attributes,
	}
	if md.LegacyRoles == nil {
		md.LegacyRoles = []string{}
	}
	if m != nil {
		md.Roles = m.Map(p.Roles)
	}
	return md
}

type auth0User struct {
	UserID             string           `json:"user_id"`
	Email              string           `json:"email"`
	EmailVerified      bool             `json:"email_verified"`
	Username           string           `json:"username,omitempty"`
	Name               string           `json:"name,omitempty"`
	PasswordHash       string           `json:"password_hash,omitempty"`
	CustomPasswordHash *auth0CustomHash `json:"custom_password_hash,omitempty"`
	AppMetadata        exportMetadata   `json:"app_metadata"`
}

type auth0CustomHash struct {
	Algorithm string `json:"algorithm"`
	Hash      struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
	} `json:"hash"`
	Salt *auth0Salt `json:"salt,omitempty"`
}

type auth0Salt struct {
	Value    string `json:"value"`
	Position string `json:"position"`
}

// writeAuth0 writes the users as a JSON array, one user a line.
func writeAuth0(w *bufio.Writer, ps []Persona, hashes []exportHash, opt ExportOptions) error {
	w.WriteString("[")
	for i, p := range ps {
		u := auth0User{
			UserID: p.ID, Email: p.Email, EmailVerified: true, Username: p.Username, Name: p.Name,
			AppMetadata: metadataOf(p, opt.MapRoles),
		}
		h := hashes[i]
		custom := &auth0CustomHash{}
		switch h.scheme {
		case HashBcrypt:
			u.PasswordHash = h.encoded
			custom = nil
		case HashPBKDF2SHA256, HashArgon2id:
			custom.Algorithm = map[string]string{HashPBKDF2SHA256: "pbkdf2", HashArgon2id: "argon2"}[h.scheme]
			custom.Hash.Value, custom.Hash.Encoding = h.encoded, "utf8"
		case HashSaltedSHA256:
			custom.Algorithm = "sha256"
			custom.Hash.Value, custom.Hash.Encoding = hex.EncodeToString(h.sum), "hex"
			custom.Salt = &auth0Salt{Value: string(h.salt), Position: "prefix"}
		}
		u.CustomPasswordHash = custom
		if err := writeMember(w, i, u, p.ID); err != nil {
			return err
		}
	}
	w.WriteString("\n]\n")
	return nil
}

// ParseExportFormat returns the format named s, or an error naming those there
// are.
func ParseExportFormat(s string) (ExportFormat, error) {
	if f := ExportFormat(s); slices.Contains(ExportFormats, f) {
		return f, nil
	}
	return "", optionError(fmt.Sprintf("format %q; want one of %s", s, joinFormats()))
}

// writeMember writes member i of a JSON array streamed to w, v marshalled;
// id names it in an error.
func writeMember(w *bufio.Writer, i int, v any, id string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if i > 0 {
		w.WriteString(",")
	}
	w.WriteString("\n")
	w.Write(b)
	return nil
}
