package personas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
)

// Secret holds a credential (password, API key, client secret). It never prints,
// marshals or logs its value: every formatting path yields "[redacted]". Use Reveal
// only at the point where the credential is sent to a stack.
type Secret struct{ v string }

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the credential value. Call it only to send it to a stack.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Hash returns a short, stable, non-reversible fingerprint of the secret, for
// telling two secrets apart in records without disclosing either.
func (s Secret) Hash() string {
	if s.v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("cutover-secret:" + s.v))
	return hex.EncodeToString(sum[:6])
}

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, so %#v does not leak the value either.
func (s Secret) GoString() string { return redacted }

// MarshalText implements encoding.TextMarshaler (and so JSON and YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// redact replaces in msg every occurrence of the secret value s, as it is and as it
// reads once quoted by Go (%q) or escaped by encoding/json, with "[redacted]".
func redact(msg, s string) string {
	if s == "" {
		return msg
	}
	forms := []string{s, strings.Trim(strconv.Quote(s), `"`)}
	if j, err := json.Marshal(s); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, redacted)
	}
	return msg
}
