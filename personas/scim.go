package personas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SCIM 2.0 schema and message URNs (RFC 7643 s8.7.1, RFC 7644 s3.12 and s3.4.2).
const (
	scimUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimContentType = "application/scim+json"
)

// maxSCIMBody bounds a SCIM response body read into memory.
const maxSCIMBody = 8 << 20

// scimPageSize is how many users SCIMClient.Users asks for per page.
const scimPageSize = 200

// SCIMClient provisions the human personas of a population into a SCIM 2.0 service
// provider (RFC 7644) through its /Users resource. Service personas are skipped:
// on a candidate they are OAuth clients, not users. A SCIMClient is safe for
// concurrent use once configured; a persona's own id is sent as externalId and
// its username as userName.
type SCIMClient struct {
	// BaseURL is the SCIM base, such as "http://127.0.0.1:8080/scim/v2"; requests go
	// to BaseURL + "/Users".
	BaseURL string
	// Token is sent as a bearer token when not zero.
	Token Secret
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// MapRoles maps legacy roles to the candidate roles provisioned; nil sends the
	// legacy roles unchanged.
	MapRoles RoleMap
	// SendPassword also sends each persona's secret as the SCIM password attribute,
	// for candidates that do not migrate credentials from legacy by themselves.
	SendPassword bool
}

// SCIMError is an HTTP error answer of a SCIM service provider (RFC 7644 s3.12).
type SCIMError struct {
	Method, Path string
	Status       int
	SCIMType     string // such as "uniqueness" or "invalidFilter"
	Detail       string
}

// Error implements error.
func (e *SCIMError) Error() string {
	msg := fmt.Sprintf("scim: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.SCIMType != "" {
		msg += " (" + e.SCIMType + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// ProvisionResult counts what Provision did with each persona.
type ProvisionResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`   // existed (409), roles or attributes replaced
	Unchanged int `json:"unchanged"` // existed with the wanted roles already
	Skipped   int `json:"skipped"`   // service personas
}

// scimUser is the subset of the SCIM core User resource a rehearsal needs.
type scimUser struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id,omitempty"`
	ExternalID  string      `json:"externalId,omitempty"`
	UserName    string      `json:"userName"`
	Name        *scimName   `json:"name,omitempty"`
	DisplayName string      `json:"displayName,omitempty"`
	Emails      []scimValue `json:"emails,omitempty"`
	Active      bool        `json:"active"`
	Roles       []scimValue `json:"roles,omitempty"`
	Password    string      `json:"password,omitempty"`
}

type scimName struct {
	Formatted string `json:"formatted,omitempty"`
}

type scimValue struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary,omitempty"`
}

type scimList struct {
	TotalResults int        `json:"totalResults"`
	StartIndex   int        `json:"startIndex"`
	Resources    []scimUser `json:"Resources"`
}

// Provision creates every human persona of pop with its mapped roles. It is
// idempotent: when a userName already exists (409), it looks the user up by
// filter and replaces it (PUT) unless it already has the wanted roles, external id
// and active flag. Per-persona failures are joined and the others still tried; a
// 401 or 403 answer, or the end of ctx, stops at once.
func (c *SCIMClient) Provision(ctx context.Context, pop Population) (ProvisionResult, error) {
	var res ProvisionResult
	var errs []error
	for _, p := range pop.Personas {
		if !p.Human() {
			res.Skipped++
			continue
		}
		outcome, err := c.provisionOne(ctx, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("provision %s: %w", p.ID, err))
			if fatal(ctx, err) {
				break
			}
			continue
		}
		switch outcome {
		case "created":
			res.Created++
		case "updated":
			res.Updated++
		default:
			res.Unchanged++
		}
	}
	return res, errors.Join(errs...)
}

func (c *SCIMClient) provisionOne(ctx context.Context, p Persona) (string, error) {
	want := c.user(p)
	err := c.do(ctx, http.MethodPost, "/Users", want, nil, p)
	if err == nil {
		return "created", nil
	}
	var se *SCIMError
	if !errors.As(err, &se) || se.Status != http.StatusConflict {
		return "", err
	}
	have, found, err := c.find(ctx, p.Username)
	if err != nil {
		return "", fmt.Errorf("after 409: %w", err)
	}
	if !found {
		return "", fmt.Errorf("after 409: no user with userName %q: %w", p.Username, se)
	}
	// A provider may not keep externalId (the embedded candidate does not): only a
	// different one calls for an update.
	sameExternal := have.ExternalID == "" || have.ExternalID == p.ID
	if !c.SendPassword && have.Active && sameExternal && slices.Equal(roleValues(have.Roles), roleValues(want.Roles)) {
		return "unchanged", nil
	}
	want.ID = have.ID
	return "updated", c.do(ctx, http.MethodPut, "/Users/"+url.PathEscape(have.ID), want, nil, p)
}

// Deprovision deletes the user of every human persona of pop, looked up by
// userName, and returns how many it deleted; a user already gone is not an error.
// Failures are handled as by Provision.
func (c *SCIMClient) Deprovision(ctx context.Context, pop Population) (int, error) {
	deleted := 0
	var errs []error
	for _, p := range pop.Personas {
		if !p.Human() {
			continue
		}
		err := c.deprovisionOne(ctx, p, &deleted)
		if err != nil {
			errs = append(errs, fmt.Errorf("deprovision %s: %w", p.ID, err))
			if fatal(ctx, err) {
				break
			}
		}
	}
	return deleted, errors.Join(errs...)
}

func (c *SCIMClient) deprovisionOne(ctx context.Context, p Persona, deleted *int) error {
	u, found, err := c.find(ctx, p.Username)
	if err != nil || !found {
		return err
	}
	err = c.do(ctx, http.MethodDelete, "/Users/"+url.PathEscape(u.ID), nil, nil, p)
	var se *SCIMError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil
	}
	if err == nil {
		*deleted++
	}
	return err
}

// Users lists every user of the service provider, following pagination
// (RFC 7644 s3.4.2.4), for Parity. A user's ID is its externalId, the persona id it
// was provisioned for; it is empty when the provider keeps no externalId, since the
// SCIM id is the provider's own (RFC 7643 s3.1), and Parity then matches by
// username alone.
func (c *SCIMClient) Users(ctx context.Context) ([]StackUser, error) {
	var out []StackUser
	for start := 1; ; {
		var page scimList
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(scimPageSize)}}
		if err := c.do(ctx, http.MethodGet, "/Users?"+q.Encode(), nil, &page, Persona{}); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		for _, u := range page.Resources {
			out = append(out, StackUser{ID: u.ExternalID, Username: u.UserName, Roles: roleValues(u.Roles)})
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > page.TotalResults {
			return out, nil
		}
	}
}

// find looks a user up by userName (RFC 7644 s3.4.2.2), compared as SCIM does,
// case-insensitively.
func (c *SCIMClient) find(ctx context.Context, username string) (scimUser, bool, error) {
	var page scimList
	q := url.Values{"filter": {`userName eq ` + scimString(username)}}
	if err := c.do(ctx, http.MethodGet, "/Users?"+q.Encode(), nil, &page, Persona{}); err != nil {
		return scimUser{}, false, fmt.Errorf("look up %q: %w", username, err)
	}
	for _, u := range page.Resources {
		if strings.EqualFold(u.UserName, username) {
			return u, true, nil
		}
	}
	return scimUser{}, false, nil
}

// user is the SCIM representation of a persona.
func (c *SCIMClient) user(p Persona) scimUser {
	u := scimUser{
		Schemas:     []string{scimUserSchema},
		ExternalID:  p.ID,
		UserName:    p.Username,
		DisplayName: p.Name,
		Active:      true,
	}
	if p.Name != "" {
		u.Name = &scimName{Formatted: p.Name}
	}
	if p.Email != "" {
		u.Emails = []scimValue{{Value: p.Email, Primary: true}}
	}
	for _, r := range c.MapRoles.Map(p.Roles) {
		u.Roles = append(u.Roles, scimValue{Value: r})
	}
	if c.SendPassword {
		u.Password = p.Secret.Reveal()
	}
	return u
}

// do sends one SCIM request and decodes a 2xx answer into out when out is not nil.
// p is the persona the request is about: its secret is redacted from error details.
func (c *SCIMClient) do(ctx context.Context, method, path string, in, out any, p Persona) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("scim: encode: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("scim: %w", err)
	}
	req.Header.Set("Accept", scimContentType)
	if in != nil {
		req.Header.Set("Content-Type", scimContentType)
	}
	if !c.Token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("scim: %s %s: %w", method, pathOnly(path), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSCIMBody))
	if err != nil {
		return fmt.Errorf("scim: %s %s: read answer: %w", method, pathOnly(path), err)
	}
	if resp.StatusCode/100 != 2 {
		se := &SCIMError{Method: method, Path: pathOnly(path), Status: resp.StatusCode}
		var e struct {
			SCIMType string `json:"scimType"`
			Detail   string `json:"detail"`
		}
		if json.Unmarshal(data, &e) == nil {
			se.SCIMType, se.Detail = e.SCIMType, e.Detail
			// A provider may echo the rejected request; never let it echo a secret.
			se.Detail = redact(redact(se.Detail, p.Secret.Reveal()), c.Token.Reveal())
		}
		return se
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("scim: %s %s: decode answer: %w", method, pathOnly(path), err)
	}
	return nil
}

// fatal reports whether an error stops a whole provisioning run: a refused
// credential fails every request alike, and an ended context ends the run.
func fatal(ctx context.Context, err error) bool {
	var se *SCIMError
	if errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden) {
		return true
	}
	return ctx.Err() != nil
}

// pathOnly drops the query of a request path, so errors do not repeat filters.
func pathOnly(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

// scimString quotes s as a SCIM filter string literal: a JSON string (RFC 7644
// s3.4.2.2).
func scimString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// roleValues returns the sorted values of SCIM roles.
func roleValues(roles []scimValue) []string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		out = append(out, r.Value)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
