package shadow_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/shadow"
)

// auditShadowFile reads the embedded legacy's audit feed as the demo's
// rehearsal file describes it (stacks.legacy.legacy.audit), for the window
// of the rehearsal: its denials and break-glass accesses are decisions, its
// logins, logouts and grants are not. The feed names the actor only: roles
// and attributes come from the accounts file. %%s is the PDP's URL.
const auditShadowFile = `version: 1
name: legacy-audit
log:
  audit: {rehearsal: demo.yaml, since: "%s", until: "%s"}
  filter: {field: kind, values: [deny, breakglass_access]}
  subject: actor
  action:
    path: resource
    match: "^(?:patient:[^/]+/)?([a-z-]+(?:\\.write)?)$"
    map: {record: read, notes: read, appointments: read, bills: read, claims: read, users: read, audit: read,
          lab-results: read, notes.write: write, lab-results.write: write, analytics: export, breakglass: request}
  resource_type: {path: resource, match: "^(?:patient:[^/]+/)?([a-z-]+)"}
  resource_id:
    path: resource
    match: "^patient:([^/]+)/"
    map: {claims: all, users: all, audit: all, lab-results: all, lab-results.write: all, analytics: all, breakglass: all}
  decision: {path: kind, map: {deny: deny, breakglass_access: allow}}
  context: {via: {path: kind, map: {breakglass_access: breakglass, deny: ""}}}
subjects: {accounts: personas.jsonl, match: id}
candidate: {url: "%%s", rate: 200}
allow_hosts: [127.0.0.1]
cohort_by: wave
`

// accessDecisions counts the decisions of the access log in dir that the
// audit feed also records, per "action type": denials and the accesses a
// break-glass grant permitted.
func accessDecisions(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ Op, Object, Result, Via string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Result == "DENY" || e.Via == "breakglass" {
			typ := e.Object[strings.LastIndex(e.Object, "/")+1:]
			out[e.Op+" "+typ]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// auditFeed: the rehearsal's decisions read from the legacy's audit feed,
// paged through for the rehearsal's window, against a real OPA. The feed
// holds exactly the access log's denials and break-glass accesses (and the
// refused break-glass requests, which the access log does not have); the
// reference policy agrees with all of them, yet the run is inconclusive: the
// feed logs no ordinary allow, so no decision of it could have shown an
// UNDER_PERMISSION (the clinicians' lost notes cannot show from it), and a
// run never passes on what it did not see. The billing clerks' admin reads are
// one cause, as from the access log.
func auditFeed(t *testing.T, r *rehearsed) {
	file := fmt.Sprintf(auditShadowFile, r.start.Add(-time.Second).UTC().Format(time.RFC3339Nano), r.end.Add(time.Second).UTC().Format(time.RFC3339Nano))
	res, evals := shadowRun(t, r, "audit-reference", file, policy(t))
	rep, s := res.Report, res.Summary
	t.Log(rep.Sentence())
	if s.Verdict != analysis.VerdictInconclusive || len(s.Findings) != 0 || rep.Ambiguous != 0 || rep.Agreed != rep.Compared || rep.Skipped == 0 {
		t.Fatalf("verdict %s, findings %+v; %s; want inconclusive, every decision agreed, the feed's other events skipped", s.Verdict, s.Findings, rep.Sentence())
	}
	// Judged only on the clinicians' break-glass accesses (the feed's allows):
	// partial, no other kind judged.
	if !slices.ContainsFunc(s.Inconclusive, func(r string) bool { return strings.HasPrefix(r, string(analysis.UnderPermission)+" ") }) {
		t.Errorf("inconclusive %q; want UNDER_PERMISSION unjudged or partial (the feed holds no ordinary allow)", s.Inconclusive)
	}
	if rep.Evaluations != evals || evals == 0 {
		t.Errorf("%d evaluations, the PDP saw %d", rep.Evaluations, evals)
	}
	want := accessDecisions(t, r.dir)
	got := map[string]int64{}
	for _, row := range rep.ByQuestion {
		if row.Type != "breakglass" {
			got[row.Action+" "+row.Type] = row.Compared
		}
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decisions read from the audit feed, by action and type: %v; want the access log's denials and break-glass accesses %v", got, want)
	}
	if !slices.ContainsFunc(rep.ByQuestion, func(q shadow.QuestionRow) bool { return q.Action == "request" && q.Type == "breakglass" }) {
		t.Errorf("rows %+v lack the refused break-glass requests", rep.ByQuestion)
	}

	res, _ = shadowRun(t, r, "audit-billing-admin", file, policy(t, billingAdmin))
	s = res.Summary
	if s.Verdict != analysis.VerdictFail || len(s.Causes) != 1 {
		t.Fatalf("billing-admin: verdict %s with causes %+v; want fail with one cause", s.Verdict, s.Causes)
	}
	wantF := []analysis.Factor{{Name: "kind", Value: "billing-clerk"}, {Name: "resource_type", Value: "users"}}
	if c := s.Causes[0]; !slices.Equal(c.Factors, wantF) || !slices.Equal(c.ClassNames(), []string{string(analysis.OverPermission)}) {
		t.Errorf("billing-admin: cause %s %v %v; want %v OVER_PERMISSION", c.ID, c.Factors, c.ClassNames(), wantF)
	}

	res, _ = shadowRun(t, r, "audit-notes-denied", file, policy(t, notesDenied))
	if s := res.Summary; s.Verdict != analysis.VerdictInconclusive || len(s.Findings) != 0 {
		t.Errorf("notes-denied from the audit feed: verdict %s, findings %+v; want inconclusive, no finding: the feed holds no allow to lose", s.Verdict, s.Findings)
	}
}

// TestParseAudit: log.audit is checked with the rest of the file, every
// problem with its line and YAML path; nothing is read until the run.
func TestParseAudit(t *testing.T) {
	const head = "version: 1\nname: a\ncandidate: {url: \"http://127.0.0.1:1\", batch: 0}\nallow_hosts: [127.0.0.1]\n"
	const fields = "  subject: actor\n  action: a\n  resource_type: t\n  decision: kind\n"
	tests := []struct{ name, log, want string }{
		{"ok, a duration back", "log:\n  audit: {rehearsal: demo.yaml, since: 24h}\n" + fields, ""},
		{"ok, a window", "log:\n  audit: {rehearsal: demo.yaml, since: \"2026-03-02T07:00:00Z\", until: \"2026-03-02T08:00:00Z\", time: {path: ts}}\n" + fields, ""},
		{"neither", "log:\n" + fields, "t.yaml:5: log.path: path is empty: where is the legacy's decision log? (or log.audit: its audit feed)"},
		{"both", "log:\n  path: a.jsonl\n  audit: {rehearsal: demo.yaml, since: 1h}\n" + fields, "t.yaml:7: log.audit: log.path and log.audit both set"},
		{"no since", "log:\n  audit: {rehearsal: demo.yaml}\n" + fields, "t.yaml:6: log.audit.since: empty"},
		{"bad since", "log:\n  audit: {rehearsal: demo.yaml, since: yesterday}\n" + fields, `t.yaml:6: log.audit.since: "yesterday" is neither an RFC 3339 time nor a positive duration`},
		{"empty window", "log:\n  audit: {rehearsal: demo.yaml, since: \"2026-03-02T08:00:00Z\", until: \"2026-03-02T07:00:00Z\"}\n" + fields, "t.yaml:6: log.audit.until: not after since"},
		{"no rehearsal", "log:\n  audit: {since: 1h, rehersal: demo.yaml}\n" + fields, "t.yaml:6: log.audit.rehersal: unknown key (did you mean rehearsal?)"},
		{"csv", "log:\n  format: csv\n  audit: {rehearsal: demo.yaml, since: 1h}\n" + fields, "t.yaml:6: log.format: format csv: an audit feed's events are read as JSON"},
		{"ok, an id and a rate", "log:\n  audit: {rehearsal: demo.yaml, since: 1h, id: event.id, rate: 2}\n" + fields, ""},
		{"rate below 0", "log:\n  audit: {rehearsal: demo.yaml, since: 1h, rate: -1}\n" + fields, "t.yaml:6: log.audit.rate: rate below 0"},
		{"bad id", "log:\n  audit: {rehearsal: demo.yaml, since: 1h, id: {path: \"$[\"}}\n" + fields, "t.yaml:6: log.audit.id:"},
	}
	for _, tt := range tests {
		f, err := shadow.Parse("t.yaml", []byte(head+tt.log), nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want == "" && !strings.HasPrefix(f.Source(), "the legacy audit feed of demo.yaml"):
			t.Errorf("%s: source %q", tt.name, f.Source())
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v; want %q", tt.name, err, tt.want)
		}
	}
}
