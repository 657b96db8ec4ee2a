package personas

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// column is one field of an accounts file and where it lives in a record.
type column struct {
	name string
	ptr  func(r *record) any // *string, *[]string or *bool
}

// record is one account as read or written: a persona and its password column.
type record struct {
	p                           Persona
	password, candidatePassword string
}

// recordOf is a persona as written: its secret references, never a value.
func recordOf(p Persona) record {
	return record{p: p, password: p.SecretRef, candidatePassword: p.CandidateSecretRef}
}

var columns = []column{
	{fieldID, func(r *record) any { return &r.p.ID }},
	{fieldKind, func(r *record) any { return (*string)(&r.p.Kind) }},
	{fieldUsername, func(r *record) any { return &r.p.Username }},
	{fieldPassword, func(r *record) any { return &r.password }},
	{fieldCandidatePassword, func(r *record) any { return &r.candidatePassword }},
	{fieldWave, func(r *record) any { return &r.p.Cohort.Wave }},
	{fieldHashScheme, func(r *record) any { return &r.p.Cohort.HashScheme }},
	{fieldRoles, func(r *record) any { return &r.p.Roles }},
	{fieldName, func(r *record) any { return &r.p.Name }},
	{fieldEmail, func(r *record) any { return &r.p.Email }},
	{fieldBirthDate, func(r *record) any { return &r.p.BirthDate }},
	{fieldMRN, func(r *record) any { return &r.p.MRN }},
	{fieldNPI, func(r *record) any { return &r.p.NPI }},
	{fieldPanel, func(r *record) any { return &r.p.Panel }},
	{fieldBreakGlass, func(r *record) any { return &r.p.BreakGlass }},
	{fieldPermissions, func(r *record) any { return &r.p.Permissions }},
}

var requiredColumns = []string{fieldID, fieldKind, fieldUsername, fieldPassword}

// attrColumnPrefix starts the CSV column of a free-form attribute: attr.NAME.
const attrColumnPrefix = "attr."

func columnIndex(name string) int {
	return slices.IndexFunc(columns, func(c column) bool { return c.name == name })
}

// maxLine bounds one JSONL line, so a corrupt file cannot exhaust memory.
const maxLine = 1 << 20

// RowError is one problem of an accounts file: where it is and what is wrong. Its
// message never contains a secret value: a persona's secret, inline or resolved, is
// redacted from the problems of its row.
type RowError struct {
	File  string
	Line  int    // 1-based; 0 when the problem is the file as a whole
	Field string // the column or key; "" when the problem is the row or the file
	Msg   string
}

// Error implements error as "file:line: field: message".
func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// importer collects the personas and problems of one accounts file.
type importer struct {
	file    string
	resolve SecretResolver
	// attrPrefix replaces "attributes." in the field of a problem with attribute
	// NAME: "attr." in a CSV file, where the field is the column attr.NAME.
	attrPrefix string
	pop        Population
	lines      []int // the line of each persona
	errs       []rowProblem
	parsed     map[fieldAt]bool // fields that already failed to decode
	// inline are the rows whose secret columns hold a value, not a reference.
	inline []InlineSecret
}

type rowProblem struct {
	index int // persona index, or -1 for a row that made no persona
	err   RowError
}

// fieldMsg is a field of a row that could not be decoded, and why.
type fieldMsg struct{ field, msg string }

type fieldAt struct {
	index int
	field string
}

func newImporter(file string, resolve SecretResolver) *importer {
	return &importer{file: file, resolve: resolve, parsed: make(map[fieldAt]bool)}
}

// fail records a problem of a row that made no persona.
func (im *importer) fail(line int, field, msg string) {
	im.errs = append(im.errs, rowProblem{index: -1, err: RowError{File: im.file, Line: line, Field: field, Msg: msg}})
}

// parseError records a CSV syntax error and reports whether err was one; the
// messages of encoding/csv carry no cell content.
func (im *importer) parseError(err error) bool {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return false
	}
	im.fail(pe.Line, "", fmt.Sprintf("byte %d: %v", pe.Column, pe.Err))
	return true
}

// add resolves the password of a decoded record and appends its persona; bad lists
// the fields that failed to decode, whose rules are then not checked again.
func (im *importer) add(line int, rec record, bad []fieldMsg) {
	index := len(im.pop.Personas)
	for _, b := range bad {
		im.failPersona(index, line, b.field, b.msg)
	}
	p := rec.p
	p.Secret, p.SecretRef = im.secret(index, line, p.ID, fieldPassword, rec.password)
	p.CandidateSecret, p.CandidateSecretRef = im.secret(index, line, p.ID, fieldCandidatePassword, rec.candidatePassword)
	if p.Roles == nil {
		p.Roles = []string{}
	}
	if len(p.Panel) == 0 {
		p.Panel = nil
	}
	if len(p.Permissions) == 0 {
		p.Permissions = nil
	}
	im.pop.Personas = append(im.pop.Personas, p)
	im.lines = append(im.lines, line)
}

// secret resolves the secret column field of the row of persona id: a
// reference, an inline value (noted in im.inline), or nothing.
func (im *importer) secret(index, line int, id, field, raw string) (Secret, string) {
	switch {
	case raw == "":
		return Secret{}, ""
	case isRef(raw):
		if im.resolve == nil {
			im.failPersona(index, line, field, raw+": no secret resolver was given")
			return Secret{}, ""
		}
		s, err := im.resolve.Resolve(raw)
		if err != nil {
			im.failPersona(index, line, field, err.Error())
			return Secret{}, ""
		}
		return s, raw
	}
	v := strings.TrimPrefix(raw, refInline)
	// The id too could be a pasted secret: it must not come out in a warning.
	im.inline = append(im.inline, InlineSecret{File: im.file, Line: line, ID: redact(id, v), Field: field})
	return NewSecret(v), ""
}

func (im *importer) failPersona(index, line int, field, msg string) {
	im.errs = append(im.errs, rowProblem{index: index, err: RowError{File: im.file, Line: line, Field: im.column(field), Msg: msg}})
	im.parsed[fieldAt{index, field}] = true
}

// column returns the name field has in the file: the CSV column of an attribute.
func (im *importer) column(field string) string {
	if name, ok := strings.CutPrefix(field, fieldAttributes+"."); ok {
		return im.attrPrefix + name
	}
	return field
}

// finish checks the rules of the whole population and returns it, or every problem
// in line order with each persona's secret redacted from the problems of its row.
func (im *importer) finish() (Population, error) {
	where := func(i int) string { return fmt.Sprintf("%s:%d", im.file, im.lines[i]) }
	for _, pr := range im.pop.problems() {
		if !im.parsed[fieldAt{pr.index, pr.field}] {
			im.errs = append(im.errs, rowProblem{index: pr.index, err: RowError{
				File: im.file, Line: im.lines[pr.index], Field: im.column(pr.field), Msg: pr.render(where),
			}})
		}
	}
	if len(im.errs) == 0 && len(im.pop.Personas) == 0 {
		im.fail(0, "", "no accounts")
	}
	if len(im.errs) == 0 {
		return im.pop, nil
	}
	slices.SortStableFunc(im.errs, func(a, b rowProblem) int { return a.err.Line - b.err.Line })
	errs := make([]error, len(im.errs))
	for i, e := range im.errs {
		if e.index >= 0 {
			// The field too: a JSONL attribute name may be a pasted secret.
			for _, s := range []Secret{im.pop.Personas[e.index].Secret, im.pop.Personas[e.index].CandidateSecret} {
				e.err.Field, e.err.Msg = redact(e.err.Field, s.Reveal()), redact(e.err.Msg, s.Reveal())
			}
		}
		errs[i] = &e.err
	}
	return Population{}, errors.Join(errs...)
}

// attrNames returns the attribute names of the personas of pop, sorted.
func attrNames(pop Population) []string {
	seen := make(map[string]bool)
	for _, p := range pop.Personas {
		for name := range p.Attributes {
			seen[name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// checkExport refuses to export a SecretRef that is not a reference, or an
// attribute that holds the persona's secret: either might be a secret put there by
// mistake, so the error does not quote it.
func checkExport(pop Population) error {
	var errs []error
	for i, p := range pop.Personas {
		for name, ref := range map[string]string{"secret_ref": p.SecretRef, "candidate_secret_ref": p.CandidateSecretRef} {
			if ref == "" {
				continue
			}
			if msg := checkRef(ref); msg != "" {
				errs = append(errs, fmt.Errorf("export: personas[%d] %s: %s: %s", i, p.ID, name, msg))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
			if msg := attrSecret(name, p.Attributes[name], p.Secret); msg != "" {
				field := redact(attrField(name), p.Secret.Reveal())
				errs = append(errs, fmt.Errorf("export: personas[%d] %s: %s: %s", i, p.ID, field, msg))
			}
		}
	}
	return errors.Join(errs...)
}

// MaxAccountsFile is the largest accounts file read: about half a million
// accounts, far more than a rehearsal drives, and a bound on the memory a
// mistaken path (a database dump) can take.
const MaxAccountsFile = 64 << 20

// ReadFile reads an accounts file: CSV when its name ends in .csv, JSON Lines
// otherwise. A file larger than MaxAccountsFile is refused before it is read.
func ReadFile(path string, resolve SecretResolver) (Population, error) {
	im := newImporter(path, resolve)
	if err := im.readFile(path); err != nil {
		return Population{}, err
	}
	return im.finish()
}

// readFile reads the accounts file at path into im, by its extension.
func (im *importer) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxAccountsFile {
		return fmt.Errorf("%s: %d MiB, larger than the %d MiB an accounts file may be", path, fi.Size()>>20, MaxAccountsFile>>20)
	}
	r := io.LimitReader(f, MaxAccountsFile+1)
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return im.readCSV(r)
	}
	return im.readJSONL(r)
}

// InlineSecret is a row of an accounts file whose password or
// candidate_password column holds the secret itself (inline:VALUE, or a value
// that is no reference) instead of an env: or file: reference: the file is then
// a secret to guard, and the README says it holds references. It never holds the
// value.
type InlineSecret struct {
	File  string
	Line  int
	ID    string // the id of the row's persona ("" when the row has none)
	Field string // password or candidate_password
}

// String returns "file:line: id: field holds a plaintext secret; ...", the
// warning of an import.
func (s InlineSecret) String() string {
	id := s.ID
	if id == "" {
		id = "(no id)"
	}
	return fmt.Sprintf("%s:%d: %s: %s holds a plaintext secret; want a reference, env:VAR or file:PATH#KEY", s.File, s.Line, id, s.Field)
}

// InlineSecrets lists, in line order, the rows of the accounts file at path (CSV
// or JSON Lines by extension, as ReadFile) whose secret columns hold plaintext:
// what an import warns about and a strict import refuses. It reads the rows
// without checking them (ReadFile reports their problems) and resolves no
// reference; the error is one of reading the file.
func InlineSecrets(path string) ([]InlineSecret, error) {
	im := newImporter(path, refsUnresolved{})
	if err := im.readFile(path); err != nil {
		return nil, err
	}
	return im.inline, nil
}

// refsUnresolved stands a placeholder for every reference: InlineSecrets looks
// at the columns, not at the secrets behind them.
type refsUnresolved struct{}

func (refsUnresolved) Resolve(string) (Secret, error) { return NewSecret("unresolved"), nil }
