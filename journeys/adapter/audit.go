package adapter

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/antchfx/xmlquery"

	"github.com/cutover-dev/cutover/personas"
)

// AuditConfig describes a stack's audit feed: the request that lists events, where
// the answer holds them, and whose credential reads it.
type AuditConfig struct {
	// Feed is the request; placeholders {actor} (a user id) and {since} (a time:
	// RFC 3339, or {since:unixms}, {since:unix}, {since:date}).
	Feed RequestTemplate `yaml:"feed"`
	// Events is the path of the event list in the answer (default "events"); Kind,
	// Actor and Subject the fields inside one event (default "kind", "actor",
	// "subject"), each a path or a path with normalisers (see Field).
	Events  string `yaml:"events"`
	Kind    Field  `yaml:"kind"`
	Actor   Field  `yaml:"actor"`
	Subject Field  `yaml:"subject"`
	// Kinds maps a canonical kind (login, logout, deny, breakglass_start,
	// breakglass_access, breakglass_end) to the stack's own name for it.
	Kinds map[string]string `yaml:"kinds"`
	// Auditor is whose credential reads the feed.
	Auditor Auditor `yaml:"auditor"`
}

// Auditor is the credential that reads an audit feed: a persona of the population
// that logs in like any other, an OAuth client (client_credentials), or an API key.
type Auditor struct {
	// Persona is a persona kind; the first persona of that kind logs in.
	Persona personas.Kind `yaml:"persona"`
	// ClientID and ClientSecret: a confidential OAuth client (OIDC stacks).
	ClientID     string     `yaml:"client_id"`
	ClientSecret *SecretRef `yaml:"client_secret"`
	// APIKey is an API key (legacy stacks only).
	APIKey *SecretRef `yaml:"api_key"`
	// Header is the header that carries APIKey (default X-API-Key).
	Header string `yaml:"header"`
	// Scheme is the word before APIKey in Header, for "Authorization: ApiKey
	// <key>".
	Scheme string `yaml:"scheme"`
}

// WithScheme is a credential as a header carries it: "scheme value", or the
// value alone without a scheme.
func WithScheme(scheme, value string) string {
	if scheme == "" {
		return value
	}
	return scheme + " " + value
}

func (c AuditConfig) withDefaults() AuditConfig {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Events, "events")
	def(&c.Kind.Path, "kind")
	def(&c.Actor.Path, "actor")
	def(&c.Subject.Path, "subject")
	return c
}

// Feed reads a feed with a cached auditor session, signing in again when the
// stack no longer honours it.
type Feed struct {
	cfg  AuditConfig
	base *url.URL
	tr   http.RoundTripper
	// login obtains the auditor's session.
	login func(ctx context.Context) (*Session, error)

	mu   sync.Mutex
	sess *Session
}

// NewFeed returns the feed cfg describes at base, read through tr with the
// session login obtains; nil when cfg is nil.
func NewFeed(cfg *AuditConfig, base *url.URL, tr http.RoundTripper, login func(ctx context.Context) (*Session, error)) *Feed {
	if cfg == nil {
		return nil
	}
	return &Feed{cfg: cfg.withDefaults(), base: base, tr: tr, login: login}
}

// ReaderPersona returns the first persona of kind in pop, the one whose session
// reads a feed or a list (purpose names it in the error).
func ReaderPersona(pop personas.Population, kind personas.Kind, purpose string) (personas.Persona, error) {
	for _, p := range pop.Personas {
		if p.Kind == kind {
			return p, nil
		}
	}
	return personas.Persona{}, fmt.Errorf("%s: no %s persona in the population to read it with", purpose, kind)
}

func (f *Feed) session(ctx context.Context, renew bool) (*Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sess != nil && !renew {
		return f.sess, nil
	}
	s, err := f.login(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: auditor sign-in: %w", err)
	}
	f.sess = s
	return s, nil
}

const opAudit = "audit feed"

// Page reads one answer of the feed for actor (every actor's when empty)
// since a time: its events as the stack wrote them (a JSON value each, or an
// XML element), in the order the feed lists them. It only reads.
func (f *Feed) Page(ctx context.Context, actor string, since time.Time) ([]any, error) {
	if f == nil {
		return nil, ErrUnsupported
	}
	req, err := f.cfg.Feed.Expand(map[string]string{"actor": actor, "since": since.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return nil, err
	}
	var resp *http.Response
	for attempt := range 2 {
		s, err := f.session(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		resp, err = Call(ctx, f.tr, Resolve(f.base, req.Path), s, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			break
		}
		Drain(resp)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests:
		// Busy, not refused: a reader may try again later.
		Drain(resp)
		return nil, &UnavailableError{Op: opAudit, Status: resp.StatusCode}
	default:
		Drain(resp)
		return nil, ProtocolErr(opAudit, "HTTP %d: the auditor credential cannot read the feed", resp.StatusCode)
	}
	doc, err := DecodeAnswer(resp, opAudit)
	if err != nil {
		return nil, err
	}
	if _, xml := doc.(*xmlquery.Node); xml {
		// In XML the events path selects each event element.
		items, err := ValuesAt(doc, f.cfg.Events)
		if err != nil {
			return nil, ProtocolErr(opAudit, "%v", err)
		}
		return items, nil
	}
	list, err := Lookup(doc, f.cfg.Events)
	if err != nil {
		return nil, ProtocolErr(opAudit, "%v", err)
	}
	items, ok := list.([]any)
	if !ok {
		return nil, ProtocolErr(opAudit, "path %q: %s, not a list", f.cfg.Events, JSONType(list))
	}
	return items, nil
}

// SinceStep is the finest difference of time the feed's request tells apart:
// a second for {since:unix}, a millisecond for {since:unixms}, a nanosecond
// for an RFC 3339 time. A page asked since t.Truncate(step).Add(step) lists
// nothing at t or before it.
func (f *Feed) SinceStep() time.Duration {
	step := time.Nanosecond
	t := f.cfg.Feed
	for _, s := range append([]string{t.Path, t.Raw}, slices.Collect(maps.Values(t.Body))...) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			switch {
			case m[1] != "since":
			case m[2] == "unix":
				step = max(step, time.Second)
			case m[2] == "unixms":
				step = max(step, time.Millisecond)
			}
		}
	}
	return step
}

// Events reads the feed's events of actor (every actor's when empty) at or
// after since, their kinds in the canonical vocabulary.
func (f *Feed) Events(ctx context.Context, actor string, since time.Time) ([]AuditEvent, error) {
	items, err := f.Page(ctx, actor, since)
	if err != nil {
		return nil, err
	}
	canon := make(map[string]string, len(f.cfg.Kinds))
	for c, own := range f.cfg.Kinds {
		canon[own] = c
	}
	out := make([]AuditEvent, 0, len(items))
	for _, it := range items {
		kind, err := f.cfg.Kind.StringAt(it)
		if err != nil {
			return nil, ProtocolErr(opAudit, "event: %v", err)
		}
		if c, ok := canon[kind]; ok {
			kind = c
		}
		ev := AuditEvent{Kind: kind}
		ev.Actor, _ = f.cfg.Actor.StringAt(it)
		ev.Subject, _ = f.cfg.Subject.StringAt(it)
		out = append(out, ev)
	}
	return out, nil
}
