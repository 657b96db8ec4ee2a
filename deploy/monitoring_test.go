package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/canary"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

const (
	dashboardFile = "grafana/cutover-canary.json"
	rulesFile     = "prometheus/cutover-canary-rules.yaml"
)

// targetLabels are the labels a series gets from where it is collected, not
// from the canary: job and instance from Prometheus, canary from the
// Pushgateway grouping the canary pushes with.
var targetLabels = []string{"job", "instance", "canary"}

// exposition is what a canary serves on its metrics handler: the samples' names,
// each metric's label names and values, and each family's HELP text.
type exposition struct {
	labels map[string]map[string][]string // metric -> label -> values seen
	help   map[string]string              // family -> HELP text
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseExposition reads a Prometheus text exposition.
func parseExposition(t *testing.T, body string) exposition {
	t.Helper()
	e := exposition{labels: map[string]map[string][]string{}, help: map[string]string{}}
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			e.help[name] = text
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("exposition line %q does not parse", line)
		}
		if _, err := strconv.ParseFloat(m[3], 64); err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		ls := e.labels[m[1]]
		if ls == nil {
			ls = map[string][]string{}
			e.labels[m[1]] = ls
		}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(ls[l[1]], l[2]) {
				ls[l[1]] = append(ls[l[1]], l[2])
			}
		}
	}
	return e
}

// family returns the metric family a sample name belongs to (a histogram's
// _bucket, _sum and _count belong to it).
func (e exposition) family(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(name, suffix); ok {
			if _, isFamily := e.help[f]; isFamily {
				return f
			}
		}
	}
	return name
}

// valueOK reports whether value is one the canary writes for metric's label: seen
// in the exposition, named in the metric's HELP text (a single check cannot show
// every verdict or kind), or for class one of the regression classes.
func (e exposition) valueOK(metric, label, value string) bool {
	if label == "class" {
		return slices.Contains(analysis.Classes, analysis.Class(value))
	}
	if slices.Contains(e.labels[metric][label], value) {
		return true
	}
	words := regexp.MustCompile(`[a-zA-Z0-9_.]+`).FindAllString(e.help[e.family(metric)], -1)
	return slices.Contains(words, value)
}

var (
	exposed     exposition
	exposedErr  error
	exposedDone bool
)

// canaryExposition runs one real canary check against the embedded stacks (a
// patient who can read other patients' records: findings, causes, a failing
// parity finding) and returns what the canary's metrics handler then serves,
// the handler `cutover canary --listen` serves.
func canaryExposition(t *testing.T) exposition {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a canary check against the embedded stacks")
	}
	if !exposedDone {
		exposedDone = true
		var body string
		body, exposedErr = runCanaryCheck(t)
		if exposedErr == nil {
			exposed = parseExposition(t, body)
		}
	}
	if exposedErr != nil {
		t.Fatal(exposedErr)
	}
	return exposed
}

func runCanaryCheck(t *testing.T) (string, error) {
	demo := string(examples.Demo)
	i, j := strings.Index(demo, "journeys:\n"), strings.Index(demo, "# Emergency access")
	k, l := strings.Index(demo, "  raw:\n"), strings.Index(demo, "  # A few journeys in a real headless")
	profile := regexp.MustCompile(`(?m)^  profile: .*$`)
	if i < 0 || j < i || k < j || l < k || len(profile.FindAllString(demo, -1)) != 1 {
		return "", fmt.Errorf("demo.yaml no longer has its journeys, raw and profile where the test cuts: update runCanaryCheck")
	}
	body := demo[:i] + "journeys:\n  - {name: patient, kinds: [patient], steps: [login, probes, logout]}\n\n" + demo[j:k] + demo[l:]
	body = profile.ReplaceAllString(body, "  profile: {type: constant, rate: 2}")
	placeholders, err := config.Parse("canary.yaml", []byte(body), examples.DemoEnv(nil, nil))
	if err != nil {
		return "", err
	}
	pop, err := rehearsal.Population(placeholders)
	if err != nil {
		return "", err
	}
	drifts, err := stacks.ParseDrifts("patient-sees-others")
	if err != nil {
		return "", err
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: drifts, Seed: placeholders.Seed})
	if err != nil {
		return "", err
	}
	defer pair.Close()
	cfg, err := config.Parse("canary.yaml", []byte(body), examples.DemoEnv(pair, nil))
	if err != nil {
		return "", err
	}
	cfg.Load.Duration = time.Second
	if err := canary.Rails(cfg, canary.DefaultMaxRate, true); err != nil {
		return "", err
	}
	reg := prometheus.NewRegistry()
	c, err := canary.New(cfg, canary.Options{Out: t.TempDir(), Once: true}, reg)
	if err != nil {
		return "", err
	}
	if _, err := c.Check(t.Context(), filepath.Join(t.TempDir(), "check")); err != nil {
		return "", err
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(rec.Result().Body)
	return string(b), err
}

// matcher is one label matcher of a selector.
type matcher struct{ label, op, value string }

// query is what a PromQL expression names: the metrics it selects with their
// matchers, the labels it groups or matches by, the functions it calls.
type query struct {
	selectors map[string][]matcher
	grouping  []string
	functions []string
}

// There is no PromQL parser among this module's dependencies (the one in
// github.com/prometheus/prometheus is not in go.sum, and it is a large module),
// so the expressions are taken apart by regular expressions, in an order that
// leaves nothing ambiguous: string literals out first (kept aside for the
// matchers), then ranges, grouping and matching lists, selectors with their
// matchers, numbers; then an identifier followed by "(" is a function, a keyword
// is a keyword, any other identifier is a metric name. Whatever is left must be
// operators and brackets, or the expression used a form this does not know and
// the test fails rather than let a name through unchecked.
var (
	stringLit  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	rangeSel   = regexp.MustCompile(`\[[^\]]*\]`)
	groupList  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)`)
	selectorRe = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}`)
	matcherRe  = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*\x00(\d+)\x00\s*$`)
	numberRe   = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b`)
	identRe    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	leftover   = regexp.MustCompile(`[^\s()+\-*/%^<>=!,]`)
	keywords   = []string{"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right"}
)

// parseQuery takes expr apart (see above).
func parseQuery(expr string) (query, error) {
	q := query{selectors: map[string][]matcher{}}
	var lits []string
	s := stringLit.ReplaceAllStringFunc(expr, func(lit string) string {
		v := lit[1 : len(lit)-1]
		if lit[0] == '"' {
			if u, err := strconv.Unquote(lit); err == nil {
				v = u
			}
		}
		lits = append(lits, v)
		return fmt.Sprintf("\x00%d\x00", len(lits)-1)
	})
	s = rangeSel.ReplaceAllString(s, " ")
	s = groupList.ReplaceAllStringFunc(s, func(g string) string {
		for l := range strings.SplitSeq(groupList.FindStringSubmatch(g)[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				q.grouping = append(q.grouping, l)
			}
		}
		return " "
	})
	var err error
	s = selectorRe.ReplaceAllStringFunc(s, func(sel string) string {
		m := selectorRe.FindStringSubmatch(sel)
		if m[1] == "" {
			err = fmt.Errorf("selector %q has no metric name", sel)
		}
		ms := []matcher{}
		for part := range strings.SplitSeq(m[2], ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			pm := matcherRe.FindStringSubmatch(part)
			if pm == nil {
				err = fmt.Errorf("matcher %q of %s does not parse", part, m[1])
				continue
			}
			n, _ := strconv.Atoi(pm[3])
			ms = append(ms, matcher{pm[1], pm[2], lits[n]})
		}
		q.selectors[m[1]] = append(q.selectors[m[1]], ms...)
		return " "
	})
	if err != nil {
		return q, err
	}
	s = numberRe.ReplaceAllString(s, " ")
	s = identRe.ReplaceAllStringFunc(s, func(id string) string {
		switch name := strings.TrimSpace(strings.TrimSuffix(id, "(")); {
		case strings.HasSuffix(id, "("):
			q.functions = append(q.functions, name)
			return "("
		case slices.Contains(keywords, name):
		default:
			if _, ok := q.selectors[name]; !ok {
				q.selectors[name] = []matcher{}
			}
		}
		return " "
	})
	if rest := leftover.FindString(s); rest != "" {
		return q, fmt.Errorf("%q: cannot tell what %q is (left: %q)", expr, rest, s)
	}
	return q, nil
}

// functions are the PromQL functions and aggregations the files may call.
var functions = []string{
	"sum", "max", "min", "avg", "count", "topk", "bottomk", "time", "vector", "scalar", "absent", "absent_over_time",
	"max_over_time", "min_over_time", "avg_over_time", "rate", "increase", "delta", "changes", "resets", "histogram_quantile", "clamp_min", "clamp_max",
}

// checkQuery fails t for every metric, label, label value or function of expr
// that the canary does not export or PromQL does not have.
func checkQuery(t *testing.T, where, expr string, e exposition) {
	t.Helper()
	q, err := parseQuery(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if len(q.selectors) == 0 {
		t.Errorf("%s: %q names no metric", where, expr)
	}
	all := slices.Clone(targetLabels)
	for _, ls := range e.labels {
		for l := range ls {
			all = append(all, l)
		}
	}
	for name, ms := range q.selectors {
		labels, ok := e.labels[name]
		if !ok {
			t.Errorf("%s: %s is not a metric the canary serves", where, name)
			continue
		}
		for _, m := range ms {
			if _, ok := labels[m.label]; !ok && !slices.Contains(targetLabels, m.label) {
				t.Errorf("%s: %s has no label %q", where, name, m.label)
				continue
			}
			if slices.Contains(targetLabels, m.label) || (m.op != "=" && m.op != "=~") {
				continue
			}
			for _, v := range strings.Split(m.value, "|") {
				if m.op == "=~" && !regexp.MustCompile(`^[a-zA-Z0-9_.]+$`).MatchString(v) {
					continue // a pattern, not a value
				}
				if !e.valueOK(name, m.label, v) {
					t.Errorf("%s: %s{%s%s%q}: the canary never writes %q there", where, name, m.label, m.op, m.value, v)
				}
			}
		}
	}
	for _, l := range q.grouping {
		if !slices.Contains(all, l) {
			t.Errorf("%s: groups by %q, a label no canary metric has", where, l)
		}
	}
	for _, f := range q.functions {
		if !slices.Contains(functions, f) {
			t.Errorf("%s: %s() is not a PromQL function this test knows", where, f)
		}
	}
}

// TestParseQuery: the extraction the file checks rely on finds metrics, matchers,
// grouping labels and functions, and refuses what it cannot read.
func TestParseQuery(t *testing.T) {
	q, err := parseQuery(`(sum by (side) (a_total{outcome="error", canary=~"$canary"}) or 0 * b) / max_over_time(c_seconds[1d]) > 2 * 15 * 60 and on() vector(1e3)`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range q.selectors {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []matcher{{"outcome", "=", "error"}, {"canary", "=~", "$canary"}}
	if !slices.Equal(names, []string{"a_total", "b", "c_seconds"}) || !slices.Equal(q.selectors["a_total"], want) ||
		!slices.Equal(q.grouping, []string{"side"}) || !slices.Equal(q.functions, []string{"sum", "max_over_time", "vector"}) {
		t.Errorf("parseQuery = %v, grouping %v, functions %v; want a_total %v, b, c_seconds, grouping [side], functions sum, max_over_time, vector",
			q.selectors, q.grouping, q.functions, want)
	}
	for _, bad := range []string{`{__name__="x"}`, `x{le~"1"}`, `x @ 100`, `x offset 5m`} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%q) = nil error; want it refused", bad)
		}
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		GridPos struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// TestDashboardParses: the dashboard is JSON with a title and uid, its panels
// have distinct ids, sit inside Grafana's 24 columns and each has a query.
func TestDashboardParses(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" || len(d.Panels) < 10 {
		t.Fatalf("%s: title %q, uid %q, %d panels; want a title, a uid and at least 10 panels", dashboardFile, d.Title, d.UID, len(d.Panels))
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v is outside Grafana's 24 columns", p.Title, g)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Expr == "" {
				t.Errorf("panel %q: a target without refId or expr", p.Title)
			}
		}
	}
}

// labelValues is a Grafana variable query label_values(SELECTOR, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// TestDashboardNamesExportedMetrics: every metric, label and label value the
// dashboard's queries and variables name is one a real canary check serves.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	d := readDashboard(t)
	e := canaryExposition(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			checkQuery(t, fmt.Sprintf("panel %q %s", p.Title, tg.RefID), tg.Expr, e)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(SELECTOR, LABEL)", v.Name, v.Definition)
			continue
		}
		checkQuery(t, "variable "+v.Name, m[1], e)
		if q, _ := parseQuery(m[1]); len(q.selectors) == 1 {
			for name := range q.selectors {
				if _, ok := e.labels[name][m[2]]; !ok && !slices.Contains(targetLabels, m[2]) {
					t.Errorf("variable %s: %s has no label %q", v.Name, name, m[2])
				}
			}
		}
	}
}

// ruleFile is a Prometheus rule file: groups of alerting rules.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("%s: not Prometheus rule groups: %v", rulesFile, err)
	}
	return f
}

// TestRulesParse: the rules file decodes strictly as rule groups of alerting
// rules, each with an expression, a duration, a severity and a summary, and it
// has the alerts the canary needs.
func TestRulesParse(t *testing.T) {
	f := readRules(t)
	var alerts []string
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: want a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert or expr: %+v", g.Name, r)
			}
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q; want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
		}
	}
	for _, want := range []string{"CutoverCanaryParityRegression", "CutoverCanaryInconclusive", "CutoverCanaryStale", "CutoverCanaryLatencyRegression"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s: no alert %s (have %v)", rulesFile, want, alerts)
		}
	}
}

// TestRulesNameExportedMetrics: every metric, label and label value the rules
// name is one a real canary check serves.
func TestRulesNameExportedMetrics(t *testing.T) {
	f := readRules(t)
	e := canaryExposition(t)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			checkQuery(t, r.Alert, r.Expr, e)
		}
	}
}
