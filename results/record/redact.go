package record

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
)

// Redactor removes credentials from the free-text fields of records before they
// are written or analysed. Records carry no credential fields by design (persona
// ids, not usernames with passwords; decisions, not tokens); the Redactor guards
// the fields whose text comes from a stack or an error message, in case a stack
// echoes a credential into a role name or an error:
//
//   - known secrets (the personas' passwords, API keys and client secrets), wherever
//     they appear;
//   - anything shaped like a credential: JWTs, "Bearer x" and "Basic x", values of
//     keys named like password, secret, token, key, cookie, session or code, and
//     long random-looking strings (opaque tokens and session ids).
//
// Each is replaced by "[redacted:HASH]", where HASH is a keyed hash that is the same
// for the same value within one run (so two sides carrying the same role still
// compare equal) and means nothing outside it. A Redactor is safe for concurrent
// use once built.
type Redactor struct {
	key []byte
	// known secrets by their first minKnown bytes; short ones match whole fields.
	known    map[string][]string
	short    map[string]bool
	minKnown int
}

// minKnownLen is the shortest secret searched for inside a field; a shorter one
// is only redacted when it is the whole field (a 4-character password found
// inside a role name would be a coincidence, not a leak).
const minKnownLen = 6

// NewRedactor returns a Redactor that also removes the given secret values.
func NewRedactor(secrets ...string) *Redactor {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	r := &Redactor{key: key, known: map[string][]string{}, short: map[string]bool{}, minKnown: minKnownLen}
	for _, s := range secrets {
		switch {
		case s == "":
		case len(s) < minKnownLen:
			r.short[s] = true
		default:
			r.known[s[:minKnownLen]] = append(r.known[s[:minKnownLen]], s)
		}
	}
	return r
}

// Record redacts the free-text fields of rec in place. Lists are copied before an
// element changes (copy on write): a record's slices may be shared with the
// journey that emitted it, which may still be reading them.
func (r *Redactor) Record(rec *Record) {
	// Fields are written only when redaction changes them.
	for _, s := range []*string{&rec.Error, &rec.Target, &rec.Cohort, &rec.Facts.Decision, &rec.Facts.Expected} {
		if red := r.String(*s); red != *s {
			*s = red
		}
	}
	f := &rec.Facts
	for _, l := range []*[]string{&rec.Endpoints, &f.Roles, &f.Scopes, &f.MissingClaims, &f.Widened} {
		copied := false
		for i, s := range *l {
			if red := r.String(s); red != s {
				if !copied {
					*l, copied = slices.Clone(*l), true
				}
				(*l)[i] = red
			}
		}
	}
}

// Credential shapes, whatever the value: a JWT (header "eyJ"), an HTTP
// Authorization value, and the value of a credential-named key in a query string,
// a form, JSON or a message. The last group of each is what gets replaced.
var credentialShapes = []*regexp.Regexp{
	regexp.MustCompile(`(eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?)`),
	regexp.MustCompile(`(?i)\b(?:bearer|basic|dpop)\s+([A-Za-z0-9._~+/=-]{6,})`),
	// An API key after its scheme word, whatever its alphabet.
	regexp.MustCompile(`(?i)\b(?:apikey|api-key|api_key)\s+([^\s"',;]{6,})`),
	// The value of a credential-named key in a query string, a form or a cookie
	// (key=value), or in JSON ("key": "value").
	regexp.MustCompile(`(?i)(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|cookie|session[_-]?id|assertion|code[_-]?verifier|authorization)(?:=|"\s*:\s*")([^\s"&,;]{4,})`),
	// An authorization code in a query string or form (code=..., not "code: 503").
	regexp.MustCompile(`(?i)\bcode=([^\s"&,;#]{4,})`),
}

// firstNamedShape is the first of credentialShapes that matches only after "="
// or ":"; those after it do too.
const firstNamedShape = 3

// namedValue is a credential-named key followed by ": " in a message ("token:
// x", "password: x"), where what follows is usually a word of the message
// ("oidc token: signature is invalid"): its value is replaced only when it looks
// like a credential (credentialLike).
var namedValue = regexp.MustCompile(`(?i)(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|cookie|session[_-]?id|assertion|authorization)\s*:\s*([^\s"&,;]{4,})`)

// credentialLike reports whether a value after "key: " is a credential rather
// than the next word of a message: digits in it, or mixed case, or random.
func credentialLike(v string) bool {
	var upper, lower, digits int
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= '0' && c <= '9':
			digits++
		}
	}
	return len(v) >= 6 && (digits >= 2 || upper >= 1 && lower >= 1 && digits >= 1 || upper >= 2 && lower >= 2) || LooksRandom(v)
}

// String returns s with every credential replaced.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	if r.short[s] {
		return r.mark(s)
	}
	s = r.knownSecrets(s)
	if mayHoldCredential(s) {
		// The named shapes (key=value, "key": "value", key: value) need a
		// separator; a target such as "POST /token" has none.
		named := strings.ContainsAny(s, "=:")
		for i, re := range credentialShapes {
			if i >= firstNamedShape && !named {
				break
			}
			s = r.replaceLastGroup(re, s, nil)
		}
		if named {
			s = r.replaceLastGroup(namedValue, s, credentialLike)
		}
	}
	return r.randomRuns(s)
}

// replaceLastGroup replaces the last group of every match of re in s, unless it
// is already a placeholder or only (when not nil) says it is not a credential.
func (r *Redactor) replaceLastGroup(re *regexp.Regexp, s string, only func(string) bool) string {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		from, to := m[len(m)-2], m[len(m)-1]
		if from < 0 || strings.HasPrefix(s[from:], redactedPrefix) || only != nil && !only(s[from:to]) {
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(r.mark(s[from:to]))
		last = to
	}
	b.WriteString(s[last:])
	return b.String()
}

const redactedPrefix = "[redacted:"

// credentialHints are substrings every credential shape above contains
// (lowercase); a field without any of them skips the regular expressions.
var credentialHints = []string{"eyj", "bearer", "basic", "dpop", "passw", "pwd", "secret", "token", "api",
	"cookie", "session", "assertion", "verifier", "authorization", "code="}

// mayHoldCredential is a cheap filter in front of the regular expressions: most
// fields are short role names, targets and messages without any hint.
func mayHoldCredential(s string) bool {
	l := strings.ToLower(s)
	for _, h := range credentialHints {
		if strings.Contains(l, h) {
			return true
		}
	}
	return false
}

// knownSecrets replaces every occurrence of a known secret.
func (r *Redactor) knownSecrets(s string) string {
	if len(r.known) == 0 || len(s) < r.minKnown {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+r.minKnown <= len(s); {
		hit := ""
		for _, sec := range r.known[s[i:i+r.minKnown]] {
			if strings.HasPrefix(s[i:], sec) && len(sec) > len(hit) {
				hit = sec
			}
		}
		if hit == "" {
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(r.mark(hit))
		i += len(hit)
		last = i
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// RandomRunLen is the length from which a run of token characters can be taken
// for an opaque credential: session ids, refresh tokens, codes and API keys are 20
// to 64 such characters; role names, persona ids and paths are words.
const RandomRunLen = 20

// tokenChar reports the characters of the alphabets credentials are written in:
// base64 (with + / =), base64url (with - _), hex, base32, and the dots and tildes
// of JWTs and RFC 6749 tokens.
func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '.' || c == '~'
}

// LooksRandom reports whether a run of token characters looks like a credential
// rather than words: long enough, and random in one of the ways encoded secrets
// are (many digits, as numbers and hex have; mixed case and digits, as base64 and
// base64url have; mixed case with upper-case pairs, or changing character class
// at most characters, as base64 does even without digits; a long word of letters
// and digits, as ids in hex or base32 are; a long word in upper case, as base32
// is). Paths, role names and messages are words
// between separators: "wave-3/sha256-salted", "/api/patients/patient-00012/record"
// and "ROLE_CLINICAL_RECORDS_ADMIN" do not look random.
func LooksRandom(run string) bool {
	if len(run) < RandomRunLen {
		return false
	}
	var upper, lower, digits, pairs, word, mixedWord, oddWord, changes int
	var wordLetters, wordDigits, wordUpper int
	class := func(c byte) int {
		switch {
		case c >= 'A' && c <= 'Z':
			return 0
		case c >= 'a' && c <= 'z':
			return 1
		case c >= '0' && c <= '9':
			return 2
		}
		return 3
	}
	endWord := func() {
		if wordLetters > 0 && wordDigits > 0 {
			mixedWord = max(mixedWord, word)
		}
		if word >= 16 && (wordUpper > 0 || wordDigits > 0) {
			oddWord = max(oddWord, word)
		}
		word, wordLetters, wordDigits, wordUpper = 0, 0, 0, 0
	}
	for i := 0; i < len(run); i++ {
		c := run[i]
		if i > 0 && class(c) != class(run[i-1]) {
			changes++
		}
		switch {
		case c >= 'A' && c <= 'Z':
			upper++
			wordLetters++
			wordUpper++
			word++
			if i+1 < len(run) && run[i+1] >= 'A' && run[i+1] <= 'Z' {
				pairs++
			}
		case c >= 'a' && c <= 'z':
			lower++
			wordLetters++
			word++
		case c >= '0' && c <= '9':
			digits++
			wordDigits++
			word++
		default:
			endWord()
		}
	}
	endWord()
	switch {
	case digits >= 12:
		return true
	case upper >= 2 && lower >= 2 && digits >= 2:
		return true
	case upper >= 3 && lower >= 3 && pairs >= 2:
		return true
	case upper >= 2 && lower >= 2 && 5*changes >= 2*(len(run)-1):
		// Random base64 changes class at two characters of three; words in
		// CamelCase at one of five or six.
		return true
	case mixedWord >= 10 && digits >= 3:
		return true
	}
	return oddWord > 0
}

// RandomRuns returns s with every run of token characters that LooksRandom
// replaced by mark's placeholder. Runs that already end a placeholder are kept.
func RandomRuns(s string, mark func(string) string) string {
	if len(s) < RandomRunLen {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !tokenChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && tokenChar(s[j]) {
			j++
		}
		if LooksRandom(s[i:j]) && !strings.HasSuffix(s[:i], redactedPrefix) {
			b.WriteString(s[last:i])
			b.WriteString(mark(s[i:j]))
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// randomRuns replaces the runs of s that look random.
func (r *Redactor) randomRuns(s string) string { return RandomRuns(s, r.mark) }

// mark returns the placeholder of a secret value.
func (r *Redactor) mark(v string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(v))
	return redactedPrefix + hex.EncodeToString(m.Sum(nil)[:6]) + "]"
}
