// Package passhash stores and verifies passwords under the schemes a legacy user store
// holds: bcrypt, and the salted SHA-256 of an older cohort. The candidate imports these
// hashes as they are and rehashes salted SHA-256 to bcrypt on first login.
package passhash

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Schemes a Hash can be stored under; the values match personas.Cohort.HashScheme.
const (
	Bcrypt       = "bcrypt"
	SaltedSHA256 = "sha256-salted"
)

// Hash is a stored password: the scheme, a salt (salted SHA-256 only) and the digest
// (for bcrypt, the whole modular-crypt string).
type Hash struct {
	Scheme string
	Salt   []byte
	Sum    []byte
}

// New hashes password under scheme; cost is the bcrypt cost (ignored for SHA-256).
func New(scheme, password string, cost int) (Hash, error) {
	switch scheme {
	case Bcrypt, "":
		sum, err := bcrypt.GenerateFromPassword([]byte(password), cost)
		if err != nil {
			return Hash{}, fmt.Errorf("passhash: bcrypt: %w", err)
		}
		return Hash{Scheme: Bcrypt, Sum: sum}, nil
	case SaltedSHA256:
		salt := make([]byte, 16)
		_, _ = rand.Read(salt) // crypto/rand.Read never fails
		return Hash{Scheme: SaltedSHA256, Salt: salt, Sum: saltedSum(salt, password)}, nil
	default:
		return Hash{}, fmt.Errorf("passhash: unknown scheme %q", scheme)
	}
}

// Verify reports whether password matches h, in constant time for SHA-256 and bcrypt's
// own comparison for bcrypt.
func (h Hash) Verify(password string) bool {
	switch h.Scheme {
	case Bcrypt:
		return bcrypt.CompareHashAndPassword(h.Sum, []byte(password)) == nil
	case SaltedSHA256:
		return subtle.ConstantTimeCompare(h.Sum, saltedSum(h.Salt, password)) == 1
	default:
		return false
	}
}

func saltedSum(salt []byte, password string) []byte {
	d := sha256.New()
	d.Write(salt)
	d.Write([]byte(password))
	return d.Sum(nil)
}
