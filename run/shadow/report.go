package shadow

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Files a shadow run adds to its results folder, beside summary.json and the
// reports every run has.
const (
	ReportFile   = "shadow.json"
	MarkdownFile = "shadow.md"
	ReportSchema = "cutover.shadow/v1"
)

// NoticeAmbiguous names the notice of a summary whose legacy log is
// ambiguous on some lines: not a regression, lines not compared.
const NoticeAmbiguous analysis.Class = "LEGACY_LOG_AMBIGUOUS"

// Report is what shadow mode adds to a run's summary: how many log lines
// stood behind the comparison, how many distinct questions behind them and
// what the cache saved, the lines the log left ambiguous, what the log
// exercised, and where (action, resource type) each cause's disagreements
// are. It is the content of shadow.json.
type Report struct {
	Schema string    `json:"schema"`
	Name   string    `json:"name"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Lines counts the lines read (blank ones aside); Skipped those the filter says are not
	// decisions; Ambiguous the decision lines not compared, by reason.
	Lines       int64    `json:"lines"`
	Skipped     int64    `json:"skipped"`
	Ambiguous   int64    `json:"ambiguous"`
	AmbiguousBy []Reason `json:"ambiguous_by"`
	// Compared counts the decision lines compared: Agreed, Over (legacy deny,
	// candidate allow), Under (legacy allow, candidate deny), PDPErrors (the
	// candidate answered no decision).
	Compared  int64 `json:"compared"`
	Agreed    int64 `json:"agreed"`
	Over      int64 `json:"over_permission"`
	Under     int64 `json:"under_permission"`
	PDPErrors int64 `json:"pdp_errors"`
	// Subjects counts the subjects of the compared lines; Units the units
	// the analysis judged them as (a subject asking one action on one
	// resource type: the "personas" of summary.json and personas.json).
	Subjects int `json:"subjects"`
	Units    int `json:"units"`
	// Questions counts the distinct questions behind the compared lines
	// (exactly, or estimated past 131072 of them).
	Questions      int64 `json:"distinct_questions"`
	QuestionsExact bool  `json:"distinct_exact"`
	// PDP is the endpoint asked ("POST URL"), PDPBatch the evaluations per
	// request (0: one, to the evaluation endpoint), PDPDiscovered whether the
	// PDP's metadata chose them (candidate.batch unset).
	PDP           string `json:"pdp"`
	PDPBatch      int    `json:"pdp_batch"`
	PDPDiscovered bool   `json:"pdp_discovered"`
	// Evaluations are the questions sent to the PDP, Requests the HTTP
	// requests that carried them; CacheHits the lines a cached decision
	// answered; Saved the share of compared lines the PDP was not asked for.
	Evaluations int64   `json:"evaluations"`
	Requests    int64   `json:"requests"`
	CacheHits   int64   `json:"cache_hits"`
	Saved       float64 `json:"saved"`
	PDPP50MS    float64 `json:"pdp_p50_ms"`
	PDPP99MS    float64 `json:"pdp_p99_ms"`
	Coverage    Seen    `json:"coverage"`
	// ByQuestion is each action on each resource type, most disagreements
	// first; Causes where each cause's disagreements are.
	ByQuestion []QuestionRow `json:"by_question"`
	Causes     []CauseScope  `json:"causes"`
	// Capped counts line attributions past the counting caps.
	Capped int64 `json:"capped,omitempty"`
}

// Reason counts the ambiguous lines of one reason, with the first lines.
type Reason struct {
	Reason string   `json:"reason"`
	Count  int64    `json:"count"`
	Lines  []uint64 `json:"lines"`
}

// Seen is what the log exercised, and what it was expected to and did not.
type Seen struct {
	Roles         map[string]int64 `json:"roles"`
	ResourceTypes map[string]int64 `json:"resource_types"`
	Actions       map[string]int64 `json:"actions"`
	// Missing lists the expected ones no compared line had ("role auditor");
	// Unexpected those compared lines had that the file does not list.
	Missing    []string `json:"missing"`
	Unexpected []string `json:"unexpected,omitempty"`
}

// QuestionRow is one action on one resource type.
type QuestionRow struct {
	Action string `json:"action"`
	Type   string `json:"resource_type"`
	tally
	// Kinds lists the roles with disagreements on it, most first.
	Kinds []string `json:"kinds,omitempty"`
}

// CauseScope is where one cause's disagreements are: the lines of the units
// its factors hold for, per action and resource type.
type CauseScope struct {
	ID     string        `json:"id"`
	Factor string        `json:"factor"`
	Rows   []QuestionRow `json:"rows"`
}

// MarshalJSON writes a row's tally inline.
func (q QuestionRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Action    string   `json:"action"`
		Type      string   `json:"resource_type"`
		Compared  int64    `json:"compared"`
		Over      int64    `json:"over_permission"`
		Under     int64    `json:"under_permission"`
		PDPErrors int64    `json:"pdp_errors"`
		Kinds     []string `json:"kinds,omitempty"`
	}{q.Action, q.Type, q.Compared, q.Over, q.Under, q.Errors, q.Kinds})
}

// AmbiguousShare is the share of decision lines that were ambiguous.
func (r *Report) AmbiguousShare() float64 {
	if n := r.Compared + r.Ambiguous; n > 0 {
		return float64(r.Ambiguous) / float64(n)
	}
	return 0
}

// Sentence says the report in one line.
func (r *Report) Sentence() string {
	approx := ""
	if !r.QuestionsExact {
		approx = "about "
	}
	return fmt.Sprintf("%d log lines: %d compared (%d agreed, %d over-permission, %d under-permission, %d PDP errors), %d ambiguous, %d skipped; %s%d distinct questions, %d evaluations in %d requests to the PDP (%.1f%% of the lines' calls saved)",
		r.Lines, r.Compared, r.Agreed, r.Over, r.Under, r.PDPErrors, r.Ambiguous, r.Skipped, approx, r.Questions, r.Evaluations, r.Requests, 100*r.Saved)
}

func (r *Report) ambiguityText() string {
	parts := make([]string, len(r.AmbiguousBy))
	for i, a := range r.AmbiguousBy {
		ls := make([]string, len(a.Lines))
		for j, l := range a.Lines {
			ls[j] = fmt.Sprint(l)
		}
		parts[i] = fmt.Sprintf("%s %d (lines %s)", a.Reason, a.Count, strings.Join(ls, ", "))
	}
	return fmt.Sprintf("%d of %d decision lines (%.2f%%) not compared: the legacy log is ambiguous there, and shadow mode does not guess: %s",
		r.Ambiguous, r.Compared+r.Ambiguous, 100*r.AmbiguousShare(), strings.Join(parts, "; "))
}

// report builds the window's shadow report; sum gives the causes.
func (w *window) report(sum *analysis.Summary, now time.Time) *Report {
	e := w.e
	r := w.rep
	r.Schema, r.Name, r.Start, r.End, r.Subjects, r.Units, r.Capped = ReportSchema, e.f.Name, w.start.UTC(), now.UTC(), len(w.subjects), len(w.order), w.capped
	r.Questions, r.QuestionsExact = w.distinct.count()
	r.Requests = e.pdp.requests.Load() - w.requests
	r.Evaluations = e.pdp.evaluations.Load() - w.evaluations
	if r.Compared > 0 {
		r.Saved = max(0, 1-float64(r.Evaluations)/float64(r.Compared))
	}
	r.PDPP50MS, r.PDPP99MS = e.pdp.latencyMS()
	r.PDP, r.PDPBatch, r.PDPDiscovered = "POST "+shownURL(e.pdp.url), e.pdp.batch, e.f.Candidate.Batch == nil
	r.AmbiguousBy = []Reason{}
	for _, a := range w.ambig {
		r.AmbiguousBy = append(r.AmbiguousBy, *a)
	}
	slices.SortFunc(r.AmbiguousBy, func(a, b Reason) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Reason, b.Reason))
	})
	r.Coverage = w.coverage()
	r.ByQuestion = w.rows()
	r.Causes = []CauseScope{}
	for _, c := range sum.Causes {
		if c.Level != analysis.LevelPersona || len(c.Factors) == 0 {
			continue
		}
		r.Causes = append(r.Causes, CauseScope{ID: c.ID, Factor: c.FactorText(), Rows: w.causeRows(c.Factors)})
	}
	return &r
}

// rows are the action and resource type rows of every compared line,
// disagreements first, each with the roles that disagree on it.
func (w *window) rows() []QuestionRow {
	kinds := map[[2]string][]string{}
	for k, t := range w.scopes {
		if k.name == record.AttrKind && t.Over+t.Under > 0 {
			kinds[[2]string{k.action, k.typ}] = append(kinds[[2]string{k.action, k.typ}], k.value)
		}
	}
	out := []QuestionRow{}
	for k, t := range w.scopes {
		if k.name != "" {
			continue
		}
		row := QuestionRow{Action: k.action, Type: k.typ, tally: *t, Kinds: kinds[[2]string{k.action, k.typ}]}
		slices.Sort(row.Kinds)
		out = append(out, row)
	}
	sortRows(out)
	return out
}

// causeRows are the action and resource type rows, with disagreements, of
// the lines of the units every factor of fs holds for.
func (w *window) causeRows(fs []analysis.Factor) []QuestionRow {
	by := map[[2]string]*tally{}
	for _, u := range w.order {
		if u.action == "" || !w.holds(u, fs) {
			continue
		}
		k := [2]string{u.action, u.typ}
		if by[k] == nil {
			by[k] = &tally{}
		}
		by[k].add(u.tally)
	}
	out := []QuestionRow{}
	for k, t := range by {
		if t.Over+t.Under+t.Errors > 0 {
			out = append(out, QuestionRow{Action: k[0], Type: k[1], tally: *t})
		}
	}
	sortRows(out)
	return out
}

// holds reports whether every factor of fs holds for unit u: its action, its
// resource type, its subject's attributes (a cohort factor is the records'
// cohort, the cohort_by attribute, where the subject has no cohort).
func (w *window) holds(u *unit, fs []analysis.Factor) bool {
	sub := w.subjects[u.subject]
	for _, f := range fs {
		var v string
		switch f.Name {
		case AttrAction:
			v = u.action
		case AttrResourceType:
			v = u.typ
		default:
			var ok bool
			if v, ok = sub[f.Name]; !ok && f.Name == record.AttrCohort {
				v = sub[w.e.f.CohortBy]
			}
		}
		if v != f.Value {
			return false
		}
	}
	return true
}

func sortRows(rs []QuestionRow) {
	slices.SortFunc(rs, func(a, b QuestionRow) int {
		return cmp.Or(cmp.Compare(b.Over+b.Under, a.Over+a.Under), cmp.Compare(b.Compared, a.Compared), strings.Compare(a.Action+" "+a.Type, b.Action+" "+b.Type))
	})
}

// coverage compares what the log exercised with what the file expects.
func (w *window) coverage() Seen {
	s := Seen{Roles: w.seen[0], ResourceTypes: w.seen[1], Actions: w.seen[2], Missing: []string{}}
	ex := w.e.f.Expected
	for _, c := range []struct {
		what     string
		expected []string
		seen     map[string]int64
	}{{"role", ex.Roles, s.Roles}, {"resource type", ex.ResourceTypes, s.ResourceTypes}, {"action", ex.Actions, s.Actions}} {
		for _, v := range c.expected {
			if c.seen[v] == 0 {
				s.Missing = append(s.Missing, c.what+" "+v)
			}
		}
		if len(c.expected) == 0 {
			continue
		}
		for _, v := range sortedKeys(c.seen) {
			if !slices.Contains(c.expected, v) && v != defaultRoleName {
				s.Unexpected = append(s.Unexpected, c.what+" "+v)
			}
		}
	}
	return s
}

// write writes a judged window into dir: the files of every run
// (summary.json, histograms.json, personas.json, report.md, junit.xml,
// report.html) and shadow.json, shadow.md.
func write(dir string, res *Result, table record.PersonaTable) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	return errors.Join(results.Write(dir, res.Summary, res.Stats), results.WritePersonas(dir, table),
		writeFile(filepath.Join(dir, ReportFile), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res.Report)
		}),
		writeFile(filepath.Join(dir, MarkdownFile), func(w io.Writer) error { return WriteMarkdown(w, res) }))
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// WriteMarkdown writes shadow.md: the verdict, the log behind it, the causes
// with where their disagreements are, what the log did not exercise.
func WriteMarkdown(w io.Writer, res *Result) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s, r := res.Summary, res.Report
	p("### cutover shadow %s: `%s`\n\n", strings.ToUpper(s.Verdict), r.Name)
	p("%s.\n\n", r.Sentence())
	for _, why := range s.Inconclusive {
		p("- ❗ %s\n", why)
	}
	if len(s.Inconclusive) > 0 {
		p("\n")
	}
	if r.Ambiguous > 0 {
		p("> ⚠️ **%s**: %s.\n\n", NoticeAmbiguous, r.ambiguityText())
	}
	if len(s.Causes) > 0 {
		p("**Root causes** (by subject attribute, action and resource type), and where their disagreements are:\n\n| cause | severity | factor | classes | action on resource type: disagreeing of the factor's lines |\n|---|---|---|---|---|\n")
		for _, c := range s.Causes {
			var where []string
			for _, cs := range r.Causes {
				if cs.ID != c.ID {
					continue
				}
				for i, row := range cs.Rows {
					if i == 5 {
						where = append(where, fmt.Sprintf("and %d more", len(cs.Rows)-5))
						break
					}
					where = append(where, fmt.Sprintf("%s %s: %d of %d", row.Action, row.Type, row.Over+row.Under+row.Errors, row.Compared))
				}
			}
			p("| %s | %s | %s | %s | %s |\n", c.ID, c.Severity, c.Title, strings.Join(c.ClassNames(), " "), strings.Join(where, "<br>"))
		}
		p("\n")
	}
	p("**By action and resource type** (all compared lines):\n\n| action | resource type | compared | over-permission | under-permission | PDP errors | roles disagreeing |\n|---|---|---:|---:|---:|---:|---|\n")
	for i, row := range r.ByQuestion {
		if i == 30 {
			p("\n%d more rows in shadow.json.\n", len(r.ByQuestion)-i)
			break
		}
		p("| %s | %s | %d | %d | %d | %d | %s |\n", row.Action, row.Type, row.Compared, row.Over, row.Under, row.Errors, strings.Join(row.Kinds, " "))
	}
	p("\n**Coverage of the log**: roles %s; resource types %s; actions %s.\n", seenText(r.Coverage.Roles), seenText(r.Coverage.ResourceTypes), seenText(r.Coverage.Actions))
	if len(r.Coverage.Missing) > 0 {
		p("Expected and never exercised: %s.\n", strings.Join(r.Coverage.Missing, ", "))
	}
	if len(r.Coverage.Unexpected) > 0 {
		p("Exercised and not in the file's expected lists: %s.\n", strings.Join(r.Coverage.Unexpected, ", "))
	}
	how := "as candidate.batch says"
	if r.PDPDiscovered {
		how = "as its metadata offers"
	}
	p("\nPDP: %s (%s), %d evaluations in %d requests, p50 %.1f ms, p99 %.1f ms; %d cache hits.\n", r.PDP, how, r.Evaluations, r.Requests, r.PDPP50MS, r.PDPP99MS, r.CacheHits)
	_, err := io.WriteString(w, b.String())
	return err
}

func seenText(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s (%d)", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
