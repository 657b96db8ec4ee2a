package record_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

func TestRedactorString(t *testing.T) {
	const (
		jwt      = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwYXRpZW50LTAwMDAxIn0.c2lnbmF0dXJlLWJ5dGVz"
		opaque   = "7KQ2MZP4WJ3XH5RT6N2BVCAD2E"
		password = "Tr0ub4dor&3-horse"
	)
	r := record.NewRedactor(password, "pw1")
	tests := []struct {
		in         string
		keep, gone []string
	}{
		{"clinician", []string{"clinician"}, nil},
		{"legacy login: unavailable (HTTP 503)", []string{"legacy login: unavailable (HTTP 503)"}, nil},
		{"read record:{panel}", []string{"read record:{panel}"}, nil},
		{"patient-00034", []string{"patient-00034"}, nil},
		{"refused (HTTP 400): invalid_grant", []string{"invalid_grant"}, nil},
		{jwt, nil, []string{jwt, "eyJ"}},
		{"token " + jwt + " rejected", []string{"rejected"}, []string{jwt}},
		{"Authorization: Bearer abcdef123456", []string{"Authorization"}, []string{"abcdef123456"}},
		{"GET /cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz", []string{"state=xyz"}, []string{"SplxlOBeZQQYbYS6WxSbIA"}},
		{`{"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}`, nil, []string{"tGzv3JOkF0XG5Qx2TlKWIA"}},
		{"password=hunter22", []string{"password="}, []string{"hunter22"}},
		{"session " + opaque + " expired", []string{"session", "expired"}, []string{opaque}},
		{"role-" + password, []string{"role-"}, []string{password, "Tr0ub4dor"}},
		{"pw1", nil, []string{"pw1"}},
		{"pw1-admin", []string{"pw1-admin"}, nil},
		{"ABCDEFGHJKMNPQRSTVWXYZABCD", nil, []string{"ABCDEFGHJKMNPQRSTVWXYZABCD"}},
		{"ROLE_CLINICAL_RECORDS_ADMIN", []string{"ROLE_CLINICAL_RECORDS_ADMIN"}, nil},
		{"interoperability-specialist", []string{"interoperability-specialist"}, nil},
		{"123e4567-e89b-12d3-a456-426614174000", nil, []string{"426614174000"}},
		// Standard base64, with / and +, is a credential alphabet too.
		{"role wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY granted", []string{"role", "granted"}, []string{"wJalrXUtnFEMI", "bPxRfiCYEXAMPLEKEY"}},
		{"dGhpcyBpcyBhIHN0YW5kYXJk+YmFzZTY0/dG9rZW4=", nil, []string{"dGhpcyBpcyBhIHN0YW5k"}},
		// The words of an error message stay, whatever key they follow.
		{"oidc token: signature is invalid", []string{"oidc token: signature is invalid"}, nil},
		{"oidc token refresh_token: unavailable (HTTP 500)", []string{"oidc token refresh_token: unavailable (HTTP 500)"}, nil},
		{"session: expired after 900s", []string{"session: expired after 900s"}, nil},
		{"token: sk_live_4eC39HqLyjWDarjtT1zdp7dc", []string{"token:"}, []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}},
		{"wave-3/sha256-salted", []string{"wave-3/sha256-salted"}, nil},
		{"GET /api/patients/patient-00012/record", []string{"GET /api/patients/patient-00012/record"}, nil},
	}
	for _, tt := range tests {
		got := r.String(tt.in)
		for _, k := range tt.keep {
			if !strings.Contains(got, k) {
				t.Errorf("String(%q) = %q; want %q kept", tt.in, got, k)
			}
		}
		for _, g := range tt.gone {
			if strings.Contains(got, g) {
				t.Errorf("String(%q) = %q; want %q gone", tt.in, got, g)
			}
		}
		if len(tt.gone) > 0 && !strings.Contains(got, record.RedactedPrefix) {
			t.Errorf("String(%q) = %q; want a [redacted:...] placeholder", tt.in, got)
		}
		if again := r.String(got); again != got {
			t.Errorf("redacting twice changes %q into %q", got, again)
		}
	}
	if a, b := r.String(opaque), r.String(opaque); a != b {
		t.Errorf("the same secret redacts to %q and %q; want one placeholder per value within a run", a, b)
	}
	if a, b := r.String(opaque), record.NewRedactor().String(opaque); a == b {
		t.Errorf("two runs redact %q to the same %q; want keyed hashes", opaque, a)
	}
}

// TestRecordCarriesNoCredentialField is the invariant behind the redaction: no
// field of a record is meant to hold a credential, so a new one named like a
// token, password, secret, cookie or key fails here first.
func TestRecordCarriesNoCredentialField(t *testing.T) {
	bad := regexp.MustCompile(`(?i)token|passw|secret|cookie|credential|api_?key|authorization|bearer|session_?id|jwt|code`)
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := path + f.Name + "(" + f.Tag.Get("json") + ")"
			if bad.MatchString(f.Name) || bad.MatchString(f.Tag.Get("json")) {
				t.Errorf("record field %s looks like a credential", name)
			}
			if ft := f.Type; ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
				walk(ft, name+".")
			}
		}
	}
	walk(reflect.TypeFor[record.Record](), "")
}

func TestWriterRedactsAndRoundTrips(t *testing.T) {
	const secret = "s3cr3t-Passw0rd!"
	recs := fixture.Run{Journeys: 20, Duration: 2e9, Seed: 2}.Records()
	recs[0].Error = "login failed for password " + secret
	recs[1].Facts.Roles = []string{"admin", "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo"}
	for _, gz := range []bool{false, true} {
		var buf bytes.Buffer
		opts := []record.WriterOption{record.WithRedactor(record.NewRedactor(secret))}
		if gz {
			opts = append(opts, record.WithGzip())
		}
		w := record.NewWriter(&buf, opts...)
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if gz == bytes.Contains(buf.Bytes(), []byte(`"side"`)) {
			t.Errorf("gzip %v: stream readable as plain JSON = %v", gz, !gz)
		}
		var back []record.Record
		err := record.ReadRecords(&buf, "records", func(r *record.Record) error { back = append(back, *r); return nil })
		if err != nil || len(back) != len(recs) {
			t.Fatalf("gzip %v: read back %d records, %v; want %d", gz, len(back), err, len(recs))
		}
		for i := range back {
			if !reflect.DeepEqual(back[i], *recs[i]) {
				t.Fatalf("gzip %v: record %d = %+v; want %+v", gz, i, back[i], *recs[i])
			}
		}
		if strings.Contains(back[0].Error, secret) || slices.ContainsFunc(back[1].Facts.Roles, func(s string) bool { return strings.HasPrefix(s, "eyJ") }) {
			t.Errorf("gzip %v: secrets written: %q %q", gz, back[0].Error, back[1].Facts.Roles)
		}
	}
}

func TestReadRecordsNamesTheBadLine(t *testing.T) {
	in := `{"side":"legacy","step":"login","outcome":"ok"}` + "\n" + `{"side":"legacy",` + "\n"
	err := record.ReadRecords(strings.NewReader(in), "records.jsonl", func(*record.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "records.jsonl:2:") {
		t.Errorf("ReadRecords = %v; want an error naming records.jsonl:2", err)
	}
	in = `{"side":"sideways"}` + "\n"
	if err := record.ReadRecords(strings.NewReader(in), "r", func(*record.Record) error { return nil }); err == nil || !strings.Contains(err.Error(), `side "sideways"`) {
		t.Errorf("ReadRecords = %v; want an error naming the side", err)
	}
	in = `{"side":"legacy","step":"login"}` + "\n" + `{"side":"legacy","iter":"3"}` + "\n"
	if err := record.ReadRecords(strings.NewReader(in), "records.jsonl", func(*record.Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "records.jsonl:2:") || !strings.Contains(err.Error(), "Record.iter of type uint64") {
		t.Errorf("ReadRecords = %v; want an error naming records.jsonl:2 and the field iter", err)
	}
	stop := errors.New("stop")
	if err := record.ReadRecords(strings.NewReader(`{"side":"legacy"}`+"\n"), "r", func(*record.Record) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("ReadRecords = %v; want the callback's error", err)
	}
}

// TestRedactorRecordEndpoints: a known secret that a stack put in a path too
// short to fold is redacted in the record's endpoints, on a copy: the journey's
// slice stays as it was.
func TestRedactorRecordEndpoints(t *testing.T) {
	const secret = "hunter22"
	leaked := record.Endpoint("GET", "/reset/"+secret+"/confirm")
	shared := []string{"POST /token", leaked, "GET /api/patients/{id}/record"}
	rec := &record.Record{Endpoints: shared}
	record.NewRedactor(secret).Record(rec)
	if got := rec.Endpoints; len(got) != 3 || got[0] != shared[0] || got[2] != shared[2] ||
		strings.Contains(got[1], secret) || !strings.HasPrefix(got[1], "GET /reset/"+record.RedactedPrefix) {
		t.Errorf("redacted endpoints = %q; want %q with the secret in %q replaced", got, shared, leaked)
	}
	if shared[1] != leaked {
		t.Errorf("redaction changed the emitter's slice to %q; want a copy changed", shared)
	}
	clean := &record.Record{Endpoints: []string{"POST /token", "POST /api/session/renew", "GET /.well-known/openid-configuration"}}
	want := slices.Clone(clean.Endpoints)
	record.NewRedactor(secret).Record(clean)
	if !slices.Equal(clean.Endpoints, want) {
		t.Errorf("redacted endpoints = %q; want %q untouched", clean.Endpoints, want)
	}
}

// TestRedactorAlphabets plants secrets of every alphabet credentials come in
// (standard base64 with / and +, base64url, hex, printable ASCII), as a stack
// would echo them into a role, an error or a target: known to the run (the
// personas' passwords, API keys, client secrets), every one is gone from the
// redacted text, and no 8-character piece of one is left; unknown to the run,
// every one long enough to be a token (20 characters of a token alphabet) is
// gone too.
func TestRedactorAlphabets(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 19))
	alphabets := map[string]string{
		"base64":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
		"base64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		"hex":       "0123456789abcdef",
		"printable": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~ ",
	}
	gen := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	templates := []string{"%s", "role %s", "refused (HTTP 401): %s", "GET /api/x?key=%s", `{"roles":["%s"]}`, "a %s b", "%s%s"}
	for name, alpha := range alphabets {
		for i := range 300 {
			n := 20 + rng.IntN(44)
			secret := gen(alpha, n)
			if name == "base64" && i%3 == 0 {
				secret += "=="
			}
			known := record.NewRedactor(secret)
			unknown := record.NewRedactor()
			tmpl := templates[i%len(templates)]
			in := strings.ReplaceAll(tmpl, "%s", secret)
			got := known.String(in)
			for k := 0; k+8 <= len(secret); k++ {
				if piece := secret[k : k+8]; strings.Contains(got, piece) && !strings.Contains(in, "[redacted:") && !strings.Contains(strings.ReplaceAll(tmpl, "%s", ""), piece) {
					t.Fatalf("%s secret, known: String(%q) = %q keeps %q", name, in, got, piece)
				}
			}
			if name == "printable" {
				continue // unknown free text is not a token shape; only known secrets go
			}
			got = unknown.String(in)
			if strings.Contains(got, secret[:16]) {
				t.Errorf("%s secret, unknown: String(%q) = %q keeps its first 16 characters", name, in, got)
			}
		}
	}
}

// TestNamedShapesNeedASeparator holds the shortcut of Redactor.String: a field
// without "=" or ":" skips the shapes from firstNamedShape on, so each of them
// must need one, and the shapes before it must not.
func TestNamedShapesNeedASeparator(t *testing.T) {
	for i, re := range record.CredentialShapes {
		src := re.String()
		sample := map[int]string{0: "eyJhbGciOi.eyJzdWIi.sig", 1: "Bearer abcdef123456", 2: "apikey abcdef123456",
			3: "password=hunter2x", 4: "code=abcd1234"}[i]
		if sample == "" {
			t.Fatalf("credentialShapes[%d] %s has no sample here: add one", i, src)
		}
		if !re.MatchString(sample) {
			t.Fatalf("credentialShapes[%d] does not match its sample %q", i, sample)
		}
		bare := strings.NewReplacer("=", " ", ":", " ").Replace(sample)
		if got := re.MatchString(bare); got != (i < record.FirstNamedShape) {
			t.Errorf("credentialShapes[%d] on %q without its separator matches = %v; want %v (firstNamedShape = %d)", i, bare, got, i < record.FirstNamedShape, record.FirstNamedShape)
		}
	}
	r := record.NewRedactor()
	if got := r.String("POST /token password=hunter22x"); strings.Contains(got, "hunter22x") {
		t.Errorf("String kept the password: %q", got)
	}
}
