package shadow

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

// Why a decision line is not compared: the legacy log itself is ambiguous
// there. Stable texts: reports count lines by them.
const (
	whyNotJSON      = "not a JSON object"
	whyColumns      = "a CSV row with fewer columns than the header"
	whyTooLong      = "longer than 1 MiB"
	whyError        = "the legacy logged an error, not a decision"
	whyNoSubject    = "no subject"
	whyNoAction     = "no action"
	whyNoType       = "no resource type"
	whyNoID         = "no resource id"
	whyNoDecision   = "no decision"
	whyDecision     = "a decision neither allow nor deny"
	whyUnknownSubj  = "a subject the accounts file does not have"
	whyNoCandidate  = "no candidate subject"
	maxLine         = 1 << 20
	defaultRoleName = "(no role)"
)

// kv is one named value of a question.
type kv struct{ k, v string }

// question is what a log line asks the candidate: may this subject do this
// action on this resource, in this context.
type question struct {
	subjectType, subject string
	roles                []string
	// attrs are the subject's attributes in name order; context likewise.
	attrs   []kv
	action  string
	typ, id string
	context []kv
}

// entry is one line of the log, read and normalised.
type entry struct {
	n uint64
	q question
	// legacy is the legacy's subject id, decision its decision.
	legacy, decision string
	// kind is the subject's role, the persona kind of its records.
	kind string
	// extra are attributes the accounts file adds, in name order.
	extra []kv
	// why says why the line is ambiguous; skipped marks a line the filter
	// says is no decision.
	why     string
	skipped bool
}

// raw is one line as read: the bytes of a JSON line or the cells of a CSV
// row, or why it could not be read.
type raw struct {
	n     uint64
	b     []byte
	cells []string
	why   string
}

// reader reads the log one line at a time.
type reader interface {
	next() (raw, error)
}

// newReader reads the log from r in format (jsonl or csv), numbering lines
// from 1.
func newReader(r io.Reader, format, name string) (reader, []string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format != "csv" {
		return &jsonlReader{r: br}, nil, nil
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s: no header row", name)
		}
		return nil, nil, fmt.Errorf("%s: header: %w", name, err)
	}
	return &csvReader{r: cr, n: 1}, slices.Clone(head), nil
}

type jsonlReader struct {
	r *bufio.Reader
	n uint64
}

func (j *jsonlReader) next() (raw, error) {
	for {
		line, err := j.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: read on to its end, keeping
			// at most maxLine of it.
			buf := slices.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = j.r.ReadSlice('\n')
				if len(buf) <= maxLine {
					buf = append(buf, line...)
				}
			}
			j.n++
			if len(buf) > maxLine {
				return raw{n: j.n, why: whyTooLong}, nil
			}
			line = buf
		} else if len(line) > 0 || err == nil {
			j.n++
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return raw{}, err
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return raw{n: j.n, b: slices.Clone(t)}, nil
		}
		if err != nil {
			return raw{}, io.EOF
		}
	}
}

type csvReader struct {
	r *csv.Reader
	n uint64
}

func (c *csvReader) next() (raw, error) {
	row, err := c.r.Read()
	c.n++
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		return raw{n: c.n, why: "not CSV: " + pe.Err.Error()}, nil
	case err != nil:
		return raw{}, err
	}
	return raw{n: c.n, cells: slices.Clone(row)}, nil
}

// mapping reads the facts of a line where the file says they are.
type mapping struct {
	log     Log
	columns map[string]int
	attrs   []string // attribute names, sorted
	context []string
	// subjectCandidate is subjects.candidate.
	subjectCandidate adapter.Field
	subjectType      string
	expectedRoles    []string
}

func newMapping(f *File, header []string) (*mapping, error) {
	m := &mapping{log: f.Log, attrs: sortedKeys(f.Log.Attributes), context: sortedKeys(f.Log.Context),
		subjectCandidate: f.Subjects.Candidate, subjectType: f.Subjects.Type, expectedRoles: f.Expected.Roles}
	if f.Log.Format != "csv" {
		return m, nil
	}
	m.columns = map[string]int{}
	for i, h := range header {
		m.columns[strings.TrimSpace(h)] = i
	}
	var missing []string
	for _, fl := range m.fields() {
		if _, ok := m.columns[fl.Path]; !ok && !fl.IsZero() && !slices.Contains(missing, fl.Path) {
			missing = append(missing, fl.Path)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: the header has no column %s (it has %s)", f.LogPath(), strings.Join(missing, ", "), strings.Join(header, ", "))
	}
	return m, nil
}

// fields lists every field the mapping reads.
func (m *mapping) fields() []adapter.Field {
	l := m.log
	out := []adapter.Field{l.Subject, l.SubjectType, l.Roles, l.Action, l.ResourceType, l.ResourceID, l.Decision, l.Error, m.subjectCandidate}
	for _, k := range m.attrs {
		out = append(out, l.Attributes[k])
	}
	for _, k := range m.context {
		out = append(out, l.Context[k])
	}
	if l.Filter != nil {
		out = append(out, l.Filter.Field)
	}
	return out
}

// line is one line's values, by field.
type line interface {
	str(f adapter.Field) (string, bool)
	list(f adapter.Field, sep string) []string
}

type jsonLine struct{ doc any }

func (j jsonLine) str(f adapter.Field) (string, bool) {
	vs, err := adapter.ValuesAt(j.doc, f.Path)
	if err != nil || len(vs) != 1 {
		return "", false
	}
	var s string
	switch t := vs[0].(type) {
	case string:
		s = t
	case float64:
		s = strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(t)
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			if es, ok := e.(string); ok {
				parts = append(parts, es)
			}
		}
		s = strings.Join(parts, " ")
	default:
		return "", false
	}
	return f.Normalize(s), true
}

func (j jsonLine) list(f adapter.Field, _ string) []string {
	vs, err := f.StringsAt(j.doc)
	if err != nil {
		return nil
	}
	return vs
}

type csvLine struct {
	cells   []string
	columns map[string]int
}

func (c csvLine) str(f adapter.Field) (string, bool) {
	i, ok := c.columns[f.Path]
	if !ok || i >= len(c.cells) {
		return "", false
	}
	return f.Normalize(strings.TrimSpace(c.cells[i])), true
}

func (c csvLine) list(f adapter.Field, sep string) []string {
	i, ok := c.columns[f.Path]
	if !ok || i >= len(c.cells) {
		return nil
	}
	var out []string
	for _, s := range strings.Split(c.cells[i], sep) {
		if s = f.Normalize(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parse reads raw line r into e: its question and legacy decision, or why it
// is ambiguous. Subjects are mapped later (subjects.resolve).
func (m *mapping) parse(r raw, e *entry) {
	*e = entry{n: r.n, why: r.why}
	if e.why != "" {
		return
	}
	var l line
	if m.columns != nil {
		if len(r.cells) < len(m.columns) {
			e.why = whyColumns
			return
		}
		l = csvLine{cells: r.cells, columns: m.columns}
	} else {
		var doc any
		if err := json.Unmarshal(r.b, &doc); err != nil {
			e.why = whyNotJSON
			return
		}
		if _, ok := doc.(map[string]any); !ok {
			e.why = whyNotJSON
			return
		}
		l = jsonLine{doc}
	}
	lg := m.log
	if f := lg.Filter; f != nil {
		if v, _ := l.str(f.Field); !slices.Contains(f.Values, v) {
			e.skipped = true
			return
		}
	}
	if !lg.Error.IsZero() {
		if v, ok := l.str(lg.Error); ok && v != "" && v != "false" {
			e.why = whyError
			return
		}
	}
	q := &e.q
	var ok bool
	need := func(f adapter.Field, why string, into *string) bool {
		if *into, ok = l.str(f); !ok || *into == "" {
			e.why = why
			return false
		}
		return true
	}
	if !need(lg.Subject, whyNoSubject, &e.legacy) || !need(lg.Action, whyNoAction, &q.action) || !need(lg.ResourceType, whyNoType, &q.typ) {
		return
	}
	if !lg.ResourceID.IsZero() && !need(lg.ResourceID, whyNoID, &q.id) {
		return
	}
	if !need(lg.Decision, whyNoDecision, &e.decision) {
		return
	}
	switch strings.ToLower(e.decision) {
	case record.Allow, "true":
		e.decision = record.Allow
	case record.Deny, "false":
		e.decision = record.Deny
	default:
		e.why = whyDecision
		return
	}
	q.subjectType = m.subjectType
	if !lg.SubjectType.IsZero() {
		if v, ok := l.str(lg.SubjectType); ok && v != "" {
			q.subjectType = v
		}
	}
	q.subject = e.legacy
	if !m.subjectCandidate.IsZero() && !need(m.subjectCandidate, whyNoCandidate, &q.subject) {
		return
	}
	if !lg.Roles.IsZero() {
		q.roles = l.list(lg.Roles, lg.ListSeparator)
	}
	for _, k := range m.attrs {
		if v, ok := l.str(lg.Attributes[k]); ok && v != "" {
			q.attrs = append(q.attrs, kv{k, v})
		}
	}
	for _, k := range m.context {
		if v, ok := l.str(lg.Context[k]); ok && v != "" {
			q.context = append(q.context, kv{k, v})
		}
	}
	e.kind = roleKind(m.expectedRoles, q.roles)
}

// roleKind is the subject's role as its records' persona kind: the first
// role of expected (expected.roles) it holds, else its first role ("" without
// one: the accounts file or the subject type may say).
func roleKind(expected, roles []string) string {
	for _, r := range expected {
		if slices.Contains(roles, r) {
			return r
		}
	}
	if len(roles) > 0 {
		return roles[0]
	}
	return ""
}
