package personas

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
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
	p        Persona
	password string
}

var columns = []column{
	{fieldID, func(r *record) any { return &r.p.ID }},
	{fieldKind, func(r *record) any { return (*string)(&r.p.Kind) }},
	{fieldUsername, func(r *record) any { return &r.p.Username }},
	{fieldPassword, func(r *record) any { return &r.password }},
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

// ReadCSV reads an accounts file in CSV with a header line. Every problem of every
// row is reported at once, each as a *RowError naming name, the line and the field,
// joined with errors.Join; then the population is empty. Password references are
// resolved through resolve, which may be nil when the file holds none.
func ReadCSV(r io.Reader, name string, resolve SecretResolver) (Population, error) {
	im := newImporter(name, resolve)
	im.attrPrefix = attrColumnPrefix
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		im.fail(1, "", "empty file; want a header line with "+strings.Join(requiredColumns, ", "))
		return im.finish()
	}
	if err != nil {
		if !im.parseError(err) {
			return Population{}, fmt.Errorf("read %s: %w", name, err)
		}
		return im.finish()
	}
	idx, attrs, ok := im.header(header)
	if !ok {
		return im.finish()
	}
	for {
		cells, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !im.parseError(err) {
				return Population{}, fmt.Errorf("read %s: %w", name, err)
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(cells) != len(header) {
			im.fail(line, "", fmt.Sprintf("%d fields; want %d as in the header", len(cells), len(header)))
			continue
		}
		var rec record
		var bad []fieldMsg
		for i, cell := range cells {
			cell = strings.TrimSpace(cell)
			if idx[i] < 0 {
				if cell != "" { // an empty cell: no such attribute
					if rec.p.Attributes == nil {
						rec.p.Attributes = make(map[string]string)
					}
					rec.p.Attributes[attrs[i]] = cell
				}
				continue
			}
			if msg := decodeCell(columns[idx[i]].ptr(&rec), cell); msg != "" {
				bad = append(bad, fieldMsg{columns[idx[i]].name, msg})
			}
		}
		im.add(line, rec, bad)
	}
	return im.finish()
}

// header maps each CSV header cell to its column, or to -1 and the attribute name
// of an attr.NAME column, reporting unknown, duplicate and missing required columns
// and invalid attribute names.
func (im *importer) header(cells []string) (idx []int, attrs []string, ok bool) {
	if len(cells) > 0 {
		cells[0] = strings.TrimPrefix(cells[0], "\ufeff") // a spreadsheet's byte order mark
	}
	idx, attrs = make([]int, len(cells)), make([]string, len(cells))
	seen := make(map[int]bool)
	seenAttr := make(map[string]bool)
	ok = true
	for i, cell := range cells {
		cell = strings.TrimSpace(cell)
		if attr, isAttr := strings.CutPrefix(cell, attrColumnPrefix); isAttr {
			switch msg := checkAttrName(attr); {
			case msg != "":
				im.fail(1, "", fmt.Sprintf("column %q: %s", cell, msg))
				ok = false
			case seenAttr[attr]:
				im.fail(1, "", fmt.Sprintf("column %q appears twice", cell))
				ok = false
			}
			seenAttr[attr] = true
			idx[i], attrs[i] = -1, attr
			continue
		}
		c := columnIndex(cell)
		switch {
		case c < 0:
			im.fail(1, "", fmt.Sprintf("unknown column %q; want %s, or %sNAME for an attribute", cell, columnList(), attrColumnPrefix))
			ok = false
		case seen[c]:
			im.fail(1, "", fmt.Sprintf("column %q appears twice", columns[c].name))
			ok = false
		}
		seen[c] = true
		idx[i] = c
	}
	for _, name := range requiredColumns {
		if !seen[columnIndex(name)] {
			im.fail(1, "", fmt.Sprintf("missing column %q", name))
			ok = false
		}
	}
	return idx, attrs, ok
}

// decodeCell stores a CSV cell into a record field and returns what is wrong, or "".
func decodeCell(dst any, cell string) string {
	switch d := dst.(type) {
	case *string:
		*d = cell
	case *[]string:
		for it := range strings.SplitSeq(cell, ";") {
			if it = strings.TrimSpace(it); it != "" {
				*d = append(*d, it)
			}
		}
	case *bool:
		if cell == "" {
			return ""
		}
		v, err := strconv.ParseBool(cell)
		if err != nil {
			return fmt.Sprintf("%q is not true or false", cell)
		}
		*d = v
	}
	return ""
}

// ReadJSONL reads an accounts file in JSON Lines: one JSON object per line, blank
// lines ignored. Problems are reported as by ReadCSV.
func ReadJSONL(r io.Reader, name string, resolve SecretResolver) (Population, error) {
	im := newImporter(name, resolve)
	im.attrPrefix = fieldAttributes + "."
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(text, &obj); err != nil || obj == nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				im.fail(line, "", fmt.Sprintf("invalid JSON at byte %d", se.Offset))
			} else {
				im.fail(line, "", "want a JSON object")
			}
			continue
		}
		var rec record
		var bad []fieldMsg
		for _, c := range columns {
			raw, ok := obj[c.name]
			if !ok {
				continue
			}
			delete(obj, c.name)
			if msg := decodeJSON(c.ptr(&rec), raw); msg != "" {
				bad = append(bad, fieldMsg{c.name, msg})
			}
		}
		if raw, ok := obj[fieldAttributes]; ok {
			delete(obj, fieldAttributes)
			var msgs []fieldMsg
			rec.p.Attributes, msgs = decodeAttributes(raw)
			bad = append(bad, msgs...)
		}
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			bad = append(bad, fieldMsg{"", fmt.Sprintf("unknown key %q; want %s, %s", key, columnList(), fieldAttributes)})
		}
		im.add(line, rec, bad)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			im.fail(line+1, "", fmt.Sprintf("line longer than %d bytes", maxLine))
			return im.finish()
		}
		return Population{}, fmt.Errorf("read %s: %w", name, err)
	}
	return im.finish()
}

// decodeJSON stores a JSON value into a record field and returns what is wrong, or
// "". The message names the expected type and never echoes the value.
func decodeJSON(dst any, raw json.RawMessage) string {
	if err := json.Unmarshal(raw, dst); err != nil {
		switch dst.(type) {
		case *[]string:
			return "want an array of strings"
		case *bool:
			return "want true or false"
		}
		return "want a string"
	}
	return ""
}

// decodeAttributes decodes the attributes object of a JSONL account and returns
// what is wrong with it, each problem naming attributes.NAME. A null or empty
// string value is no attribute, as an empty CSV cell is.
func decodeAttributes(raw json.RawMessage) (map[string]string, []fieldMsg) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, []fieldMsg{{fieldAttributes, "want an object of strings"}}
	}
	var attrs map[string]string
	var bad []fieldMsg
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		var v string
		if err := json.Unmarshal(obj[name], &v); err != nil {
			bad = append(bad, fieldMsg{attrField(name), "want a string"})
			continue
		}
		if v == "" {
			continue
		}
		if attrs == nil {
			attrs = make(map[string]string)
		}
		attrs[name] = v
	}
	return attrs, bad
}

func columnList() string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
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
	switch raw := rec.password; {
	case raw == "":
	case isRef(raw):
		if im.resolve == nil {
			im.failPersona(index, line, fieldPassword, raw+": no secret resolver was given")
			break
		}
		s, err := im.resolve.Resolve(raw)
		if err != nil {
			im.failPersona(index, line, fieldPassword, err.Error())
			break
		}
		p.Secret, p.SecretRef = s, raw
	default:
		p.Secret = NewSecret(strings.TrimPrefix(raw, refInline))
	}
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
			s := im.pop.Personas[e.index].Secret.Reveal()
			e.err.Field, e.err.Msg = redact(e.err.Field, s), redact(e.err.Msg, s)
		}
		errs[i] = &e.err
	}
	return Population{}, errors.Join(errs...)
}

// WriteCSV writes pop as a CSV accounts file with a header line. It never writes a
// secret: the password column holds the persona's SecretRef, or is empty when it has
// none (generated personas, inline imported passwords); give a population meant to
// be imported again its references first with WithSecretRefs. A SecretRef that is
// not a valid reference, or an attribute whose name or value is the persona's
// secret, is an error, not written. The attributes follow the columns: one attr.NAME column per
// attribute name of the population, in name order, empty for the personas without it.
func WriteCSV(w io.Writer, pop Population) error {
	if err := checkExport(pop); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	attrs := attrNames(pop)
	row := make([]string, len(columns)+len(attrs))
	for i, c := range columns {
		row[i] = c.name
	}
	for i, name := range attrs {
		row[len(columns)+i] = attrColumnPrefix + name
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, p := range pop.Personas {
		rec := record{p: p, password: p.SecretRef}
		for i, c := range columns {
			switch v := c.ptr(&rec).(type) {
			case *string:
				row[i] = *v
			case *[]string:
				row[i] = strings.Join(*v, ";")
			case *bool:
				row[i] = ""
				if *v {
					row[i] = "true"
				}
			}
		}
		for i, name := range attrs {
			row[len(columns)+i] = p.Attributes[name]
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteJSONL writes pop as a JSONL accounts file, one object per persona with its
// non-empty columns in the order of the CSV header, then its attributes, if it has
// any, as an object in name order. Secrets are treated as by WriteCSV: the password
// key holds the SecretRef, or is absent.
func WriteJSONL(w io.Writer, pop Population) error {
	if err := checkExport(pop); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, p := range pop.Personas {
		rec := record{p: p, password: p.SecretRef}
		bw.WriteByte('{')
		sep := ""
		for _, c := range columns {
			v := c.ptr(&rec)
			switch v := v.(type) {
			case *string:
				if *v == "" {
					continue
				}
			case *[]string:
				if len(*v) == 0 {
					continue
				}
			case *bool:
				if !*v {
					continue
				}
			}
			val, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("write jsonl: %s: %w", c.name, err)
			}
			fmt.Fprintf(bw, "%s%q:%s", sep, c.name, val)
			sep = ","
		}
		if len(p.Attributes) > 0 {
			val, err := json.Marshal(p.Attributes) // keys in order
			if err != nil {
				return fmt.Errorf("write jsonl: %s: %w", fieldAttributes, err)
			}
			fmt.Fprintf(bw, "%s%q:%s", sep, fieldAttributes, val)
		}
		bw.WriteString("}\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write jsonl: %w", err)
	}
	return nil
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
		if p.SecretRef != "" {
			if msg := checkRef(p.SecretRef); msg != "" {
				errs = append(errs, fmt.Errorf("export: personas[%d] %s: secret_ref: %s", i, p.ID, msg))
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
