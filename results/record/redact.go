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
	regexp.MustCompile(`(?i)(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|cookie|session[_-]?id|assertion|code[_-]?verifier|authorization)"?\s*[:=]\s*"?([^\s"&,;]{4,})`),
	// An authorization code in a query string or form (code=..., not "code: 503").
	regexp.MustCompile(`(?i)\bcode=([^\s"&,;#]{4,})`),
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
		for _, re := range credentialShapes {
			s = r.replaceLastGroup(re, s)
		}
	}
	return r.randomRuns(s)
}

// replaceLastGroup replaces the last group of every match of re in s, unless it
// is already a placeholder.
func (r *Redactor) replaceLastGroup(re *regexp.Regexp, s string) string {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		from, to := m[len(m)-2], m[len(m)-1]
		if from < 0 || strings.HasPrefix(s[from:], redactedPrefix) {
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

// randomRunLen is the length from which a run of token characters is taken for
// an opaque credential (session ids, refresh tokens and codes are 20 to 64 such
// characters; role names and persona ids are words), when it mixes letters and
// digits or holds a segment (between "_" and "-") of randomSegmentLen characters
// that is not a lowercase word, like a base32 session id.
const (
	randomRunLen     = 20
	randomSegmentLen = 16
)

// randomRuns replaces the runs of [A-Za-z0-9_-] that look random.
func (r *Redactor) randomRuns(s string) string {
	if len(s) < randomRunLen {
		return s
	}
	var b strings.Builder
	last, start := 0, 0
	var letters, digits, seg int
	var segOdd, oddSegment bool // the current / some segment has an uppercase letter or digit
	flush := func(end int) {
		random := letters >= 2 && digits >= 2 || oddSegment || seg >= randomSegmentLen && segOdd
		if end-start >= randomRunLen && random && !strings.HasSuffix(s[:start], redactedPrefix) {
			b.WriteString(s[last:start])
			b.WriteString(r.mark(s[start:end]))
			last = end
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' || c >= 'A' && c <= 'Z':
			if c <= '9' {
				digits++
			} else {
				letters++
			}
			seg++
			segOdd = true
		case c >= 'a' && c <= 'z':
			letters++
			seg++
		case c == '_' || c == '-':
			oddSegment = oddSegment || seg >= randomSegmentLen && segOdd
			seg, segOdd = 0, false
		default:
			flush(i)
			start, letters, digits, seg, segOdd, oddSegment = i+1, 0, 0, 0, false, false
		}
	}
	flush(len(s))
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// mark returns the placeholder of a secret value.
func (r *Redactor) mark(v string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(v))
	return redactedPrefix + hex.EncodeToString(m.Sum(nil)[:6]) + "]"
}
