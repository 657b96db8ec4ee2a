package passhash

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestVerify(t *testing.T) {
	for _, scheme := range []string{Bcrypt, SaltedSHA256} {
		h, err := New(scheme, "correct horse", bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			password string
			want     bool
		}{{"correct horse", true}, {"correct horse ", false}, {"", false}}
		for _, tt := range tests {
			if got := h.Verify(tt.password); got != tt.want {
				t.Errorf("%s Verify(%q) = %t; want %t", scheme, tt.password, got, tt.want)
			}
		}
	}
}

func TestSaltsDiffer(t *testing.T) {
	a, _ := New(SaltedSHA256, "same", 0)
	b, _ := New(SaltedSHA256, "same", 0)
	if string(a.Sum) == string(b.Sum) {
		t.Error("two hashes of one password are equal; want distinct salts")
	}
}

func TestUnknownScheme(t *testing.T) {
	if _, err := New("md5", "x", 0); err == nil {
		t.Error(`New("md5") = nil error; want an error`)
	}
	if (Hash{Scheme: "md5"}).Verify("x") {
		t.Error("Verify under an unknown scheme = true; want false")
	}
}
