package record

import (
	"strings"
	"testing"
)

func TestEndpoint(t *testing.T) {
	long := strings.Repeat("/segment", 30)
	tests := []struct {
		method, path, want string
	}{
		{"POST", "/token", "POST /token"},
		{"GET", "/authorize?response_type=code&client_id=harness&state=xyz", "GET /authorize"},
		{"GET", "/api/patients/patient-00012/record", "GET /api/patients/{id}/record"},
		{"GET", "/api/patients/MRN-12345678/notes?since=2026-01-15", "GET /api/patients/{id}/notes"},
		{"DELETE", "/api/breakglass/123e4567-e89b-12d3-a456-426614174000", "DELETE /api/breakglass/{id}"},
		{"DELETE", "/api/breakglass/123e4567e89b12d3a456426614174000", "DELETE /api/breakglass/{id}"},
		{"GET", "/sessions/abcdefghijklmnopqrstuvwx/state", "GET /sessions/{id}/state"},
		{"GET", "/sessions/abcdefghijklmnopqrstuvw/state", "GET /sessions/abcdefghijklmnopqrstuvw/state"},
		{"GET", "/oauth2/v1/jwks.json", "GET /oauth2/v1/jwks.json"},
		{"GET", "/.well-known/openid-configuration", "GET /.well-known/openid-configuration"},
		{"GET", "/scim/v2/Users/u12/groups", "GET /scim/v2/Users/u12/groups"},
		{"GET", "/scim/v2/Users/u123/groups", "GET /scim/v2/Users/{id}/groups"},
		{"GET", "/api/2026/reports/", "GET /api/{id}/reports/"},
		{"GET", "//a//b", "GET //a//b"},
		{"GET", "/a%2F123/b", "GET /{id}/b"},
		{"", "", "GET /"},
		{"GET", "?q=1", "GET /"},
		{"GET", "relative/path", "GET /relative/path"},
		{"GET", long, "GET " + long[:maxEndpointPath/len("/segment")*len("/segment")] + "/…"},
		{"GET", strings.Repeat("/p-0001", 40), "GET " + strings.Repeat("/{id}", maxEndpointPath/len("/{id}")) + "/…"},
	}
	for _, tt := range tests {
		got := Endpoint(tt.method, tt.path)
		if got != tt.want {
			t.Errorf("Endpoint(%q, %q) = %q; want %q", tt.method, tt.path, got, tt.want)
		}
		if _, path, _ := strings.Cut(got, " "); len(path) > maxEndpointPath+len("/…") {
			t.Errorf("Endpoint(%q, %q) = %q: path of %d bytes; want at most %d", tt.method, tt.path, got, len(path), maxEndpointPath+len("/…"))
		}
		method, path, _ := strings.Cut(got, " ")
		if again := Endpoint(method, path); again != got && !strings.HasSuffix(got, "…") {
			t.Errorf("Endpoint(Endpoint(%q, %q)) = %q; want %q (folding is idempotent)", tt.method, tt.path, again, got)
		}
	}
}

func BenchmarkEndpoint(b *testing.B) {
	for _, path := range []string{"/token", "/api/patients/patient-00012/record?view=full"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Endpoint("GET", path)
			}
		})
	}
}
