package personas

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"strings"
)

type keycloakUser struct {
	Username      string              `json:"username"`
	Email         string              `json:"email,omitempty"`
	EmailVerified bool                `json:"emailVerified"`
	Enabled       bool                `json:"enabled"`
	FirstName     string              `json:"firstName,omitempty"`
	LastName      string              `json:"lastName,omitempty"`
	Attributes    map[string][]string `json:"attributes"`
	RealmRoles    []string            `json:"realmRoles,omitempty"`
	Credentials   []keycloakCred      `json:"credentials"`
}

type keycloakCred struct {
	Type           string `json:"type"`
	Value          string `json:"value,omitempty"`
	Temporary      *bool  `json:"temporary,omitempty"`
	SecretData     string `json:"secretData,omitempty"`
	CredentialData string `json:"credentialData,omitempty"`
}

// writeKeycloak writes a partial import file, one user a line.
func writeKeycloak(w *bufio.Writer, ps []Persona, hashes []exportHash, opt ExportOptions) error {
	w.WriteString(`{"ifResourceExists":"FAIL","users":[`)
	for i, p := range ps {
		md := metadataOf(p, opt.MapRoles)
		first, last, _ := strings.Cut(p.Name, " ")
		u := keycloakUser{
			Username: p.Username, Email: p.Email, EmailVerified: p.Email != "", Enabled: true,
			FirstName: first, LastName: last, RealmRoles: md.Roles, Attributes: map[string][]string{},
		}
		if opt.MapRoles == nil {
			u.RealmRoles = md.LegacyRoles
		}
		set := func(k string, v ...string) {
			if len(v) > 0 && v[0] != "" {
				u.Attributes[k] = v
			}
		}
		set("persona_id", p.ID)
		set("kind", string(p.Kind))
		set("legacy_roles", md.LegacyRoles...)
		set("panel", p.Panel...)
		if p.BreakGlass {
			set("break_glass", "true")
		}
		set("wave", p.Cohort.Wave)
		set("hash_scheme", p.Cohort.HashScheme)
		set("mrn", p.MRN)
		set("npi", p.NPI)
		for k, v := range p.Attributes {
			set(k, v)
		}
		h := hashes[i]
		if h.scheme == "" {
			temporary := false
			u.Credentials = []keycloakCred{{Type: "password", Value: h.plaintext, Temporary: &temporary}}
		} else {
			b64 := base64.StdEncoding // Keycloak's Base64, with padding
			secret, err := json.Marshal(map[string]any{"value": b64.EncodeToString(h.sum), "salt": b64.EncodeToString(h.salt), "additionalParameters": map[string]any{}})
			if err != nil {
				return err
			}
			cred, err := json.Marshal(map[string]any{"hashIterations": h.iter, "algorithm": HashPBKDF2SHA256, "additionalParameters": map[string]any{}})
			if err != nil {
				return err
			}
			u.Credentials = []keycloakCred{{Type: "password", SecretData: string(secret), CredentialData: string(cred)}}
		}
		if err := writeMember(w, i, u, p.ID); err != nil {
			return err
		}
	}
	w.WriteString("\n]}\n")
	return nil
}
