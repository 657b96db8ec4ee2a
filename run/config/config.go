// Package config reads a rehearsal file: the stacks, the personas, the journeys,
// the load and the thresholds of one run. Decoding is strict (unknown keys and wrong
// types are errors) and every problem is reported at once with its file:line.
//
// It is plain data with its validation: the run's objects are built from it in one
// place, run/rehearsal (setup.go). Only run/ and cmd/cutover import it.
package config

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
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/internal/yamlkeys"
	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/personas"
)

// File is a rehearsal file.
type File struct {
	Version int    `yaml:"version"`
	Name    string `yaml:"name"`
	Seed    uint64 `yaml:"seed"`
	Mode    string `yaml:"mode"`
	// Only, when set (legacy or candidate), drives that stack alone: a
	// capacity or performance test of it, judged on its own thresholds
	// (absolute latency limits, the expected decisions, the token policy);
	// nothing is compared, and every report says which side ran. The other
	// side's stack may then be left out.
	Only      string             `yaml:"only"`
	Stacks    Stacks             `yaml:"stacks"`
	Personas  Personas           `yaml:"personas"`
	Journeys  []journeys.Journey `yaml:"journeys"`
	Probes    []journeys.Probe   `yaml:"probes"`
	Resources journeys.Resources `yaml:"resources"`
	// BreakGlass and Audit tune the break-glass and audit step groups.
	BreakGlass journeys.BreakGlassPlan `yaml:"breakglass"`
	Audit      journeys.AuditPlan      `yaml:"audit"`
	// WrongPassword tunes the wrong_password step group.
	WrongPassword journeys.WrongPasswordPlan `yaml:"wrong_password"`
	Load          Load                       `yaml:"load"`
	Parity        Parity                     `yaml:"parity"`
	Thresholds    Thresholds                 `yaml:"thresholds"`

	// Path and Hash identify the file the config came from.
	Path string `yaml:"-"`
	Hash string `yaml:"-"`
	root *yaml.Node
	// offline marks a file read by ReadOffline: values still written as ${VAR}
	// are checked at run time; unset holds the lines they are on.
	offline bool
	unset   map[int]bool
}

// Modes of a run.
const (
	ModeParity = "parity"
	// ModeAA runs legacy against itself: the noise floor of the harness.
	ModeAA = "aa"
)

// Stacks are the two sides and where the harness may send traffic.
type Stacks struct {
	Legacy    Side `yaml:"legacy"`
	Candidate Side `yaml:"candidate"`
	// AllowHosts lists the hosts the harness may send to; any other is refused.
	AllowHosts []string `yaml:"allow_hosts"`
}

// Side configures one stack's adapter.
type Side struct {
	// Adapter is "legacy" (declarative homegrown) or "oidc".
	Adapter   string             `yaml:"adapter"`
	Legacy    *legacy.Config     `yaml:"legacy"`
	OIDC      *oidc.Config       `yaml:"oidc"`
	Resources journeys.Resources `yaml:"resources"`
	// AuthZEN, when set, evaluates this side's probes at a policy decision point.
	AuthZEN *adapter.AuthZEN `yaml:"authzen"`
	// State is what the side's lockout and break-glass grants do (lockout,
	// breakglass_covers): the harness compares only steps that ran under like
	// state, and where this is silent it learns what it can from the answers.
	State journeys.StatePolicy `yaml:",inline"`
	// Waits are pauses the side's journeys make on purpose (before_refresh,
	// before_replay), to probe a time window such as a refresh token reuse
	// window.
	Waits journeys.Waits `yaml:"waits"`
	// ExpectLifetime is the lifetime the side's sessions or access tokens are
	// meant to have: a candidate whose lifetimes differ from it by more than
	// thresholds.ttl_tolerance (default 10%) has TTL_DRIFT, even below the
	// policy ceiling and whatever legacy's lifetimes are.
	ExpectLifetime time.Duration `yaml:"expect_lifetime"`
	// PatientID is how the stack names a patient in its break-glass requests
	// ({patient}) and audit events: a template over the patient's persona id
	// and attributes, such as "{attr.mrn}" for a stack that knows patients by
	// record number. Empty means the persona id.
	PatientID string `yaml:"patient_id"`
}

// Personas says where the population comes from.
type Personas struct {
	Generate *Generate `yaml:"generate"`
	// File imports pre-provisioned test accounts (CSV or JSONL, by extension;
	// relative to the rehearsal file), their secrets as env: or file: references.
	File string `yaml:"file"`
	// CohortBy is the persona attribute the report's cohort readiness table is
	// cut by: wave (the default), hash_scheme, cohort (wave/hash scheme), kind,
	// break_glass, or an attribute of the accounts file.
	CohortBy string `yaml:"cohort_by"`

	// accounts is File, read and resolved when the rehearsal file is parsed.
	accounts *personas.Population
}

// Accounts returns the imported population, if the file names one.
func (p Personas) Accounts() (personas.Population, bool) {
	if p.accounts == nil {
		return personas.Population{}, false
	}
	return *p.accounts, true
}

// Generate describes a synthetic population.
type Generate struct {
	Count           int          `yaml:"count"`
	Mix             personas.Mix `yaml:"mix"`
	SHA256Share     float64      `yaml:"sha256_share"`
	UnassignedShare float64      `yaml:"unassigned_share"`
	PanelSize       int          `yaml:"panel_size"`
}

// Read reads and validates the file at path, expanding ${VAR} from env.
func Read(path string, env func(string) string) (*File, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b, env)
}

// ReadOffline reads and validates the file at path as Read does, except for
// what only the run's environment supplies: a ${VAR} that is not set and a
// secret reference that cannot be read here are listed as needed at run time
// (the returned notes) instead of refused, so that a file can be checked in CI
// or on a laptop without the stacks' URLs and secrets.
func ReadOffline(path string, env func(string) string) (*File, []string, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	return parse(path, b, env, true)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	case len(b) > MaxFile:
		return nil, fmt.Errorf("%s: larger than %d KiB: a rehearsal file is configuration (is it the right file?)", path, MaxFile>>10)
	}
	return b, nil
}

// MaxFile is the largest rehearsal file read: configuration, not data (the
// personas of an accounts file are read apart).
const MaxFile = 1 << 20

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse decodes and validates a rehearsal file. name is used in messages. ${VAR}
// references are replaced from env; an unset variable is an error.
func Parse(name string, data []byte, env func(string) string) (*File, error) {
	f, _, err := parse(name, data, env, false)
	return f, err
}

// parse is Parse; offline lists what only the run's environment supplies as
// notes instead of refusing it (see ReadOffline).
func parse(name string, data []byte, env func(string) string, offline bool) (*File, []string, error) {
	var missing []error
	var notes []string
	// unset are the lines that still hold a ${VAR} (offline): what is on them
	// is checked at run time.
	unset := map[int]bool{}
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		lines[i] = varRef.ReplaceAllFunc(line, func(m []byte) []byte {
			v := env(string(m[2 : len(m)-1]))
			switch {
			case v == "" && offline:
				notes = append(notes, fmt.Sprintf("%s:%d: environment variable %s", name, i+1, m[2:len(m)-1]))
				unset[i+1] = true
				return m // kept as written: checks that need the value skip it
			case v == "":
				missing = append(missing, fmt.Errorf("%s:%d: environment variable %s is not set", name, i+1, m[2:len(m)-1]))
			}
			return []byte(v)
		})
	}
	if len(missing) > 0 {
		return nil, nil, errors.Join(missing...)
	}
	expanded := bytes.Join(lines, []byte("\n"))
	f := &File{Path: name, unset: unset}
	sum := sha256.Sum256(data)
	f.Hash = hex.EncodeToString(sum[:8])
	var root yaml.Node
	if err := yaml.Unmarshal(expanded, &root); err != nil {
		return nil, nil, yamlErr(name, err, nil)
	}
	f.root = &root
	f.offline = offline
	// Every problem in one pass: the keys no section has and durations without
	// a unit (walked with their YAML paths), the decoder's type errors, then
	// the checks of what was read.
	keyProbs, keyPaths := yamlkeys.Check(&root, reflect.TypeFor[File]())
	var errs []error
	walked := map[int]bool{}
	for _, k := range keyProbs {
		if !unset[k.Line] {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, k.Line, k.Path, k.Msg))
			walked[k.Line] = true
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, yamlErr(name, err, nil)
		}
		// Unknown keys are the walk's (with their paths); a value the run's
		// environment will supply is not judged offline.
		kept := te.Errors[:0]
		for _, e := range te.Errors {
			if strings.Contains(e, "not found in type") || unset[messageLine(e)] || walked[messageLine(e)] {
				continue
			}
			kept = append(kept, e)
		}
		if len(kept) > 0 {
			errs = append(errs, yamlErr(name, &yaml.TypeError{Errors: kept}, keyPaths))
		}
	}
	f.defaults()
	if err := f.resolveSecrets(env); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			if offline && neededAtRunTime(e) {
				notes = append(notes, e)
			} else {
				errs = append(errs, errors.New(e))
			}
		}
	}
	if len(errs) > 0 {
		// Accounts and the checks of values wait for a file that reads.
		if verr := f.Validate(); verr != nil {
			errs = append(errs, verr)
		}
		return nil, nil, errors.Join(errs...)
	}
	if err := f.readAccounts(env, offline); err != nil {
		return nil, nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}
	return f, notes, nil
}

// neededAtRunTime reports whether a secret reference's error is one the run's
// environment resolves (a variable not set, a file not there), not a mistake.
func neededAtRunTime(e string) bool {
	return strings.Contains(e, "is not set") || strings.Contains(e, "no such file")
}

// messageLine is the line number a YAML library message starts with ("line 7: ...").
func messageLine(msg string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(msg, ":", 2)[0], "line "))
	return n
}

// yamlErr rewrites the YAML library's "line N: msg" lines as "file:N: msg", one
// error per problem.
func yamlErr(name string, err error, paths map[int]string) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, e := range te.Errors {
			msg := unknownKey(strings.TrimPrefix(e, "line "))
			if p, ok := paths[messageLine(e)]; ok {
				// "7: the value is not ..." becomes "7: seed: the value is not ...".
				if n, rest, ok := strings.Cut(msg, ": "); ok {
					msg = n + ": " + p + ": " + rest
				}
			}
			errs = append(errs, fmt.Errorf("%s:%s", name, msg))
		}
		return errors.Join(errs...)
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		return fmt.Errorf("%s:%s", name, rest)
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// line returns the line of the node at a path of mapping keys and sequence indexes
// ("stacks", "legacy", "adapter"; "journeys", "0", "name"), or of the deepest
// ancestor found.
func (f *File) line(path ...string) int {
	_, line := f.walk(path...)
	return line
}

// walk follows a path of mapping keys and sequence indexes from the root. It
// returns the node at its end (nil when the path leaves the document) and the line
// of the deepest key or item it reached.
func (f *File) walk(path ...string) (*yaml.Node, int) {
	if f.root == nil || len(f.root.Content) == 0 {
		return nil, 0
	}
	n := f.root.Content[0]
	line := n.Line
	for _, key := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscan(key, &idx); err == nil && idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		}
		if next == nil {
			return nil, line
		}
		n = next
	}
	return n, line
}

// Parity tunes the pre-run check that both stacks hold the population.
type Parity struct {
	// Roles is what a role difference between the directories does: "report" (the
	// default: a notice, and the run measures its effect) or "abort".
	Roles string `yaml:"roles"`
	// IDs says, per side (legacy, candidate), which user id its directory
	// should report for a persona: persona (the persona id, the default),
	// attribute:NAME (an attribute of the accounts file: a legacy uid, a
	// candidate sub) or none (ids not compared, users matched by username).
	IDs map[string]string `yaml:"ids"`
}

// Role-difference policies of the parity check.
const (
	ParityReport = "report"
	ParityAbort  = "abort"
)

// readAccounts imports personas.file, resolving env: references through env.
func (f *File) readAccounts(env func(string) string, offline bool) error {
	if f.Personas.File == "" {
		return nil
	}
	path := f.Personas.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(f.Path), path)
	}
	at := fmt.Sprintf("%s:%d: personas.file", f.Path, f.line("personas", "file"))
	// A file: reference of the accounts file is relative to that file.
	var res personas.SecretResolver = &personas.Resolver{ReadFile: personas.FilesBeside(filepath.Dir(path)), Getenv: func(k string) (string, bool) {
		v := env(k)
		return v, v != ""
	}}
	if offline {
		// The accounts' secrets are read at run time: here every reference
		// stands for one, so that the accounts themselves are checked.
		res = anySecret{}
	}
	pop, err := personas.ReadFile(path, res)
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	f.Personas.accounts = &pop
	return nil
}

// anySecret resolves every reference to a stand-in (offline checks).
type anySecret struct{}

func (anySecret) Resolve(string) (personas.Secret, error) {
	return personas.NewSecret("needed-at-run-time"), nil
}

// Drives reports whether a run of f drives side (legacy or candidate).
func (f *File) Drives(side string) bool { return f.Only == "" || f.Only == side }
