package shadow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/internal/yamlkeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/analysis"
)

// File is a shadow file: where the legacy's decision log is and how to read
// it, who the candidate's subjects are, the candidate's policy decision point
// and how hard it may be asked, and what the log is expected to exercise. It is
// plain data with its validation; Read decodes it strictly.
type File struct {
	Version int    `yaml:"version"`
	Name    string `yaml:"name"`
	Log     Log    `yaml:"log"`
	// Subjects maps the legacy's subject ids to the candidate's.
	Subjects  Subjects  `yaml:"subjects"`
	Candidate Candidate `yaml:"candidate"`
	// AllowHosts lists the only hosts shadow mode sends to: the PDP's must be
	// one of them.
	AllowHosts []string `yaml:"allow_hosts"`
	Cache      Cache    `yaml:"cache"`
	// Expected lists what the log should exercise: a role, resource type or
	// action listed here that no compared line has keeps the run from passing.
	Expected   Expected   `yaml:"expected"`
	Thresholds Thresholds `yaml:"thresholds"`
	// CohortBy is the subject attribute the cohort readiness table is cut by
	// (default cohort).
	CohortBy string `yaml:"cohort_by"`

	// Path and Hash identify the file.
	Path string `yaml:"-"`
	Hash string `yaml:"-"`
	root *yaml.Node
	// env resolves the ${VAR}s and secrets of log.audit's rehearsal file.
	env func(string) string
}

// Log is the legacy's decision log and where each fact is on a line: a
// JSONPath (JSON lines) or a column name (CSV), with adapter.Field's
// normalisers.
type Log struct {
	// Path is the log file, relative to the shadow file.
	Path string `yaml:"path"`
	// Audit, instead of Path, reads the legacy's audit feed.
	Audit *Audit `yaml:"audit"`
	// Format is jsonl or csv (default: by the file's extension, jsonl
	// otherwise).
	Format string `yaml:"format"`
	// ListSeparator splits a CSV cell holding a list (roles); default ";".
	ListSeparator string `yaml:"list_separator"`
	// Filter, when set, keeps the lines whose field is one of values: the
	// others are not decisions (a login event of an audit feed) and are
	// counted as skipped.
	Filter *Filter `yaml:"filter"`

	Subject adapter.Field `yaml:"subject"`
	// SubjectType is the AuthZEN subject type of the line (default
	// subjects.type).
	SubjectType adapter.Field `yaml:"subject_type"`
	// Roles are the subject's legacy roles: a list, or a string of roles
	// separated by spaces. Unset, they are the accounts file's.
	Roles        adapter.Field `yaml:"roles"`
	Action       adapter.Field `yaml:"action"`
	ResourceType adapter.Field `yaml:"resource_type"`
	ResourceID   adapter.Field `yaml:"resource_id"`
	// Decision must normalise to allow or deny (true and false are read as
	// allow and deny); any other value is an ambiguous line.
	Decision adapter.Field `yaml:"decision"`
	// Error, when set, names a field whose presence with a non-empty value
	// marks a line where the legacy failed to decide.
	Error adapter.Field `yaml:"error"`
	// Attributes are the subject's attributes (tenant, cohort, partner...):
	// sent to the PDP as subject properties and grouped by in root causes.
	Attributes map[string]adapter.Field `yaml:"attributes"`
	// Context is sent to the PDP as the evaluation's context (a break-glass
	// grant the legacy decision rested on, say).
	Context map[string]adapter.Field `yaml:"context"`
}

// Filter keeps the lines whose field has one of the values.
type Filter struct {
	Field  adapter.Field `yaml:"field"`
	Values []string      `yaml:"values"`
}

// Subjects says how a legacy subject becomes the candidate's.
type Subjects struct {
	// Candidate is where a line names the candidate's subject id; unset, it is
	// the legacy's subject (or the accounts file's).
	Candidate adapter.Field `yaml:"candidate"`
	// Accounts is an accounts file (personas' format, relative to the shadow
	// file): a legacy subject is looked up by Match and becomes the persona's
	// As, and the persona's attributes join the subject's.
	Accounts string `yaml:"accounts"`
	// Match and As are id, username or attribute:NAME (default id).
	Match string `yaml:"match"`
	As    string `yaml:"as"`
	// Type is the AuthZEN subject type (default user).
	Type string `yaml:"type"`
}

// Candidate is the candidate's policy decision point, an OpenID AuthZEN
// Access Evaluation API.
type Candidate struct {
	// URL is the PDP's base URL, its identifier: evaluations go to
	// URL/access/v1/evaluation, batches to URL/access/v1/evaluations, or
	// where its metadata says.
	URL string `yaml:"url"`
	// Token, when set, is sent as a bearer token.
	Token *adapter.SecretRef `yaml:"token"`
	// Batch says single or batch: 0 sends one evaluation per request, N up to
	// N per request to the batch endpoint. Unset, the PDP's metadata
	// (URL/.well-known/authzen-configuration) decides: batches of
	// DefaultBatch where it names access_evaluations_endpoint, one per
	// request otherwise, each to the endpoint it names.
	Batch *int `yaml:"batch"`
	// Rate is the ceiling of requests per second (default 20).
	Rate float64 `yaml:"rate"`
	// Concurrency is the requests in flight at most (default 4).
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds each request (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	// Properties lists the subject properties sent: roles and attribute
	// names (default roles and every attribute).
	Properties []string `yaml:"properties"`
}

// Cache bounds the decisions remembered per distinct question.
type Cache struct {
	// Size is the questions remembered, least recently used out first
	// (default 100000).
	Size int `yaml:"size"`
	// TTL, when set, forgets a decision after this long (a policy may change
	// while a log is followed).
	TTL time.Duration `yaml:"ttl"`
}

// Expected lists what the log should exercise.
type Expected struct {
	Roles         []string `yaml:"roles"`
	ResourceTypes []string `yaml:"resource_types"`
	Actions       []string `yaml:"actions"`
}

// Thresholds decide the verdict.
type Thresholds struct {
	// FailOn lists the severities that fail the run (default critical, high,
	// medium).
	FailOn []analysis.Severity `yaml:"fail_on"`
	// MaxAmbiguous is the share of decision lines that may be ambiguous before
	// the run is inconclusive (default 0.01).
	MaxAmbiguous *float64 `yaml:"max_ambiguous"`
	// MinPerKind is the units of each role (subjects asking one action on
	// one resource type) a class must be judged on (default 1).
	MinPerKind int `yaml:"min_per_kind"`
}

// Defaults.
const (
	DefaultRate        = 20
	DefaultConcurrency = 4
	DefaultTimeout     = 5 * time.Second
	DefaultCacheSize   = 100_000
	// DefaultBatch is the evaluations per request to a batch endpoint the
	// PDP's metadata offers.
	DefaultBatch = 100
	// DefaultMaxRate is the rate ceiling a file may set without raising it
	// (Options.MaxRate): shadow mode runs beside production.
	DefaultMaxRate = 200
	maxFile        = 1 << 20
)

// Read reads and validates the shadow file at path; ${VAR} is not expanded
// (secrets are references: {env: VAR}).
func Read(path string, env func(string) string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read shadow file: %w", err)
	}
	return Parse(path, b, env)
}

// Parse decodes and validates a shadow file; name is used in messages. Every
// problem is reported at once, each as "name:line: yaml.path: problem".
func Parse(name string, data []byte, env func(string) string) (*File, error) {
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d KiB: a shadow file is configuration", name, maxFile>>10)
	}
	f := &File{Path: name, env: env}
	sum := sha256.Sum256(data)
	f.Hash = hex.EncodeToString(sum[:8])
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	f.root = &root
	var errs []error
	probs, lines := yamlkeys.Check(&root, reflect.TypeFor[File]())
	reported := map[int]bool{}
	for _, p := range probs {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, p.Line, p.Path, p.Msg))
		reported[p.Line] = true
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, e := range te.Errors {
			if strings.Contains(e, "not found in type") { // the walk's, with its path
				continue
			}
			if msg, ok := yamlkeys.TypeError(e, lines, reported); ok {
				errs = append(errs, fmt.Errorf("%s:%s", name, msg))
			}
		}
	}
	f.defaults()
	if t := f.Candidate.Token; t != nil && len(errs) == 0 {
		if err := t.Resolve(env, filepath.Dir(name)); err != nil {
			errs = append(errs, f.errAt(err.Error(), "candidate", "token"))
		}
	}
	if err := f.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	return f, nil
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func (f *File) defaults() {
	c := &f.Candidate
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if f.Cache.Size == 0 {
		f.Cache.Size = DefaultCacheSize
	}
	if f.Log.Format == "" {
		f.Log.Format = "jsonl"
		if strings.EqualFold(filepath.Ext(f.Log.Path), ".csv") {
			f.Log.Format = "csv"
		}
	}
	if a := f.Log.Audit; a != nil {
		if a.Time.Path == "" {
			a.Time.Path = "time"
		}
		if a.Rate == 0 {
			a.Rate = DefaultFeedRate
		}
	}
	if f.Log.ListSeparator == "" {
		f.Log.ListSeparator = ";"
	}
	if f.Subjects.Type == "" {
		f.Subjects.Type = "user"
	}
	if f.CohortBy == "" {
		f.CohortBy = "cohort"
	}
	if f.Thresholds.FailOn == nil {
		f.Thresholds.FailOn = []analysis.Severity{analysis.Critical, analysis.High, analysis.Medium}
	}
	if f.Thresholds.MaxAmbiguous == nil {
		d := 0.01
		f.Thresholds.MaxAmbiguous = &d
	}
	if f.Thresholds.MinPerKind == 0 {
		f.Thresholds.MinPerKind = 1
	}
}

// Validate reports every problem of the file at once, each with its line and
// YAML path.
func (f *File) Validate() error {
	var errs []error
	bad := func(msg string, path ...string) { errs = append(errs, f.errAt(msg, path...)) }
	if f.Version != 1 {
		bad(fmt.Sprintf("version %d; want 1", f.Version), "version")
	}
	if f.Name == "" {
		bad("name is empty: it names the run in every report", "name")
	}
	l := f.Log
	f.validateAudit(bad)
	if l.Format != "jsonl" && l.Format != "csv" {
		bad(fmt.Sprintf("format %q; want jsonl or csv", l.Format), "log", "format")
	}
	required := []struct {
		key   string
		field adapter.Field
	}{{"subject", l.Subject}, {"action", l.Action}, {"resource_type", l.ResourceType}, {"decision", l.Decision}}
	for _, r := range required {
		if r.field.IsZero() {
			bad("not set: every line must say it", "log", r.key)
		}
	}
	csv := l.Format == "csv"
	// A field not set is reported above when it is required. In CSV a path
	// is a column name: only its expression is checked.
	check := func(fl adapter.Field, path ...string) {
		if fl.IsZero() {
			return
		}
		if csv {
			fl.Path = "column"
		}
		if err := fl.Check(); err != nil {
			bad(err.Error(), path...)
		}
	}
	for _, x := range []struct {
		key   string
		field adapter.Field
	}{{"subject", l.Subject}, {"subject_type", l.SubjectType}, {"roles", l.Roles}, {"action", l.Action}, {"resource_type", l.ResourceType},
		{"resource_id", l.ResourceID}, {"decision", l.Decision}, {"error", l.Error}} {
		check(x.field, "log", x.key)
	}
	for _, k := range sortedKeys(l.Attributes) {
		switch k {
		case "roles", "kind":
			bad(fmt.Sprintf("%q is not an attribute name: kind is the subject's role, roles are log.roles", k), "log", "attributes", k)
		case AttrAction, AttrResourceType:
			bad(fmt.Sprintf("%q is not an attribute name: root causes name a line's action and resource type as %s and %s already", k, AttrAction, AttrResourceType), "log", "attributes", k)
		}
		check(l.Attributes[k], "log", "attributes", k)
	}
	for _, k := range sortedKeys(l.Context) {
		check(l.Context[k], "log", "context", k)
	}
	if l.Filter != nil {
		check(l.Filter.Field, "log", "filter", "field")
		if l.Filter.Field.IsZero() || len(l.Filter.Values) == 0 {
			bad("a filter names a field and the values to keep", "log", "filter")
		}
	}
	s := f.Subjects
	for _, x := range []struct{ key, v string }{{"match", s.Match}, {"as", s.As}} {
		if x.v != "" && x.v != "id" && x.v != "username" && !strings.HasPrefix(x.v, "attribute:") {
			bad(fmt.Sprintf("%q; want id, username or attribute:NAME", x.v), "subjects", x.key)
		}
		if x.v != "" && s.Accounts == "" {
			bad("only with an accounts file (subjects.accounts)", "subjects", x.key)
		}
	}
	check(s.Candidate, "subjects", "candidate")
	f.validateCandidate(bad)
	if f.Cache.Size < 0 {
		bad("size below 0", "cache", "size")
	}
	if f.Cache.TTL < 0 {
		bad("ttl below 0", "cache", "ttl")
	}
	if m := *f.Thresholds.MaxAmbiguous; m < 0 || m > 1 {
		bad(fmt.Sprintf("%g is not a share between 0 and 1", m), "thresholds", "max_ambiguous")
	}
	for i, sev := range f.Thresholds.FailOn {
		if !slices.Contains([]analysis.Severity{analysis.Critical, analysis.High, analysis.Medium, analysis.Low}, sev) {
			bad(fmt.Sprintf("%q is not a severity (critical, high, medium, low)", sev), "thresholds", "fail_on", strconv.Itoa(i))
		}
	}
	return joinErrs(errs)
}

// errAt is msg at the node of path (mapping keys, sequence indexes), or of its
// deepest ancestor in the file.
func (f *File) errAt(msg string, path ...string) error {
	return fmt.Errorf("%s:%d: %s: %s", f.Path, f.line(path...), strings.Join(path, "."), msg)
}

// line returns the line of the key at path, or of the deepest one found.
func (f *File) line(path ...string) int {
	if f.root == nil || len(f.root.Content) == 0 {
		return 0
	}
	n := f.root.Content[0]
	line := n.Line
	for _, key := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// LogPath is the log file's path: relative paths are taken from the shadow
// file's folder.
func (f *File) LogPath() string { return f.rel(f.Log.Path) }

// Source names where the decisions come from: the log file, or the audit
// feed of log.audit's rehearsal file.
func (f *File) Source() string {
	if a := f.Log.Audit; a != nil {
		return "the legacy audit feed of " + f.rel(a.Rehearsal)
	}
	return f.LogPath()
}

func (f *File) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(f.Path), p)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
