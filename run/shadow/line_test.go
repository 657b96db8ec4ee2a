package shadow_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/shadow"
)

// runLog judges log (in format) against the reference policy with the
// mapping of the shadow file body (its log section without path and
// format).
func runLog(t *testing.T, format, body, log string, extra string) *shadow.Result {
	t.Helper()
	pdp, _ := opaPDP(t, policy(t), map[string]any{"panels": map[string]any{"doc": []any{"pat"}}})
	src := fmt.Sprintf("version: 1\nname: t\nlog:\n  path: log.%s\n%s\ncandidate: {url: %q, rate: 100}\nallow_hosts: [127.0.0.1]\n%s", format, body, pdp.URL, extra)
	f, err := shadow.Parse("t.yaml", []byte(src), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	res, err := shadow.Run(t.Context(), f, shadow.Options{Source: strings.NewReader(log)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const jsonlMapping = `  subject: who.id
  roles: who.roles
  action: {path: op, lower: true}
  resource_type: {path: res, match: "^([a-z]+):"}
  resource_id: {path: res, strip_prefix: "notes:", match: "^[a-z]+:(.+)$"}
  decision: {path: result, map: {PERMIT: allow, DENY: deny}}
  error: error
  filter: {field: kind, values: [access]}`

// TestAmbiguousLines: a line the legacy log leaves ambiguous is counted by
// reason and never guessed; a line the filter says is no decision is
// skipped; the others are compared.
func TestAmbiguousLines(t *testing.T) {
	log := strings.Join([]string{
		`{"kind":"access","who":{"id":"doc","roles":["clinician"]},"op":"READ","res":"notes:pat","result":"PERMIT"}`,
		`{"kind":"access","who":{"id":"doc","roles":["clinician"]},"op":"READ","res":"notes:other","result":"DENY"}`,
		`{"kind":"login","who":{"id":"doc"}}`,
		`{"kind":"access","who":{"roles":["clinician"]},"op":"READ","res":"notes:pat","result":"PERMIT"}`,
		`{"kind":"access","who":{"id":"doc","roles":["clinician"]},"res":"notes:pat","result":"PERMIT"}`,
		`{"kind":"access","who":{"id":"doc","roles":["clinician"]},"op":"READ","res":"notes:pat","result":"MAYBE"}`,
		`{"kind":"access","who":{"id":"doc","roles":["clinician"]},"op":"READ","res":"notes:pat"}`,
		`{"kind":"access","who":{"id":"doc","roles":["clinician"]},"op":"READ","res":"notes:pat","result":"DENY","error":"ldap timeout"}`,
		`not json at all`,
		``,
		`["a","list"]`,
		`{"kind":"access","who":{"id":"pat","roles":["patient"]},"op":"read","res":"record:pat","result":"PERMIT"}`,
		`{"kind":"access","note":"` + strings.Repeat("x", 1<<20) + `"}`,
	}, "\n")
	res := runLog(t, "jsonl", jsonlMapping, log, "")
	r := res.Report
	got := map[string]int64{}
	for _, a := range r.AmbiguousBy {
		got[a.Reason] = a.Count
	}
	want := map[string]int64{"no subject": 1, "no action": 1, "a decision neither allow nor deny": 1, "no decision": 1,
		"the legacy logged an error, not a decision": 1, "not a JSON object": 2, "longer than 1 MiB": 1}
	if !maps.Equal(got, want) {
		t.Errorf("ambiguous by reason %v; want %v", got, want)
	}
	if r.Lines != 12 || r.Compared != 3 || r.Skipped != 1 || r.Agreed != 3 || r.Ambiguous != 8 {
		t.Errorf("lines %d, compared %d, skipped %d, agreed %d, ambiguous %d; want 12, 3, 1, 3, 8", r.Lines, r.Compared, r.Skipped, r.Agreed, r.Ambiguous)
	}
	// Far above the default 1% ambiguous: the run cannot pass.
	if res.Summary.Verdict != analysis.VerdictInconclusive || !slices.ContainsFunc(res.Summary.Inconclusive, func(s string) bool { return strings.Contains(s, "ambiguous") }) {
		t.Errorf("verdict %s (%q); want inconclusive for the ambiguous lines", res.Summary.Verdict, res.Summary.Inconclusive)
	}
	for _, a := range r.AmbiguousBy {
		if a.Reason == "not a JSON object" && !slices.Equal(a.Lines, []uint64{9, 11}) {
			t.Errorf("not JSON on lines %v; want 9 and 11 (the empty line 10 counts as a line)", a.Lines)
		}
	}
}

// TestCSVLog: the same facts from a CSV log, by column name, lists split on
// the separator, the candidate's subject from a column of its own.
func TestCSVLog(t *testing.T) {
	// The legacy knows its users by uid; the log names the candidate's
	// subject beside it (subjects.candidate).
	log := "time,user,roles,verb,type,id,outcome,tenant,sub\n" +
		"t1,uid-1,clinician;breakglass-eligible,read,notes,pat,allow,north,doc\n" +
		"t2,uid-1,clinician;breakglass-eligible,read,notes,other,deny,north,doc\n" +
		"t3,uid-2,billing-clerk,read,users,all,deny,south,bill\n" +
		"t4,uid-2,billing-clerk,read,claims,all,allow,south,bill\n" +
		"t5,short,row\n" +
		"t6,uid-3,patient,READ,record,pat,Allow,north,pat\n"
	body := `  subject: user
  roles: roles
  action: {path: verb, lower: true}
  resource_type: type
  resource_id: id
  decision: outcome
  attributes: {tenant: tenant}`
	res := runLog(t, "csv", body, log, "subjects: {candidate: sub}\nexpected: {roles: [patient, clinician, billing-clerk, auditor]}\n")
	r := res.Report
	if r.Compared != 5 || r.Agreed != 5 || r.Ambiguous != 1 || r.AmbiguousBy[0].Reason != "a CSV row with fewer columns than the header" {
		t.Fatalf("report %s, ambiguous %+v; want 5 compared and agreed, the short row ambiguous", r.Sentence(), r.AmbiguousBy)
	}
	if r.Coverage.Roles["breakglass-eligible"] != 2 || !slices.Equal(r.Coverage.Missing, []string{"role auditor"}) || !slices.Equal(r.Coverage.Unexpected, []string{"role breakglass-eligible"}) {
		t.Errorf("coverage %+v; want breakglass-eligible seen twice and unexpected, auditor missing", r.Coverage)
	}
	if res.Summary.Verdict != analysis.VerdictInconclusive || !slices.Contains(res.Summary.Inconclusive, "legacy log never exercised role auditor") {
		t.Errorf("verdict %s %q; want inconclusive: auditor never exercised", res.Summary.Verdict, res.Summary.Inconclusive)
	}
}

// TestCSVHeaderMissingColumn: a mapped column the header lacks stops the run
// before anything is sent, naming it.
func TestCSVHeaderMissingColumn(t *testing.T) {
	pdp, evals := opaPDP(t, policy(t), map[string]any{})
	src := fmt.Sprintf("version: 1\nname: t\nlog: {path: l.csv, subject: user, action: verb, resource_type: type, decision: outcome}\ncandidate: {url: %q}\nallow_hosts: [127.0.0.1]\n", pdp.URL)
	f, err := shadow.Parse("t.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = shadow.Run(t.Context(), f, shadow.Options{Source: strings.NewReader("user,verb,result\n")})
	if err == nil || !strings.Contains(err.Error(), "no column type, outcome") {
		t.Errorf("err = %v; want the missing columns named", err)
	}
	if evals.Load() != 0 {
		t.Errorf("the PDP was asked %d times; want never", evals.Load())
	}
}

// TestAccountsSubjects: legacy subjects found in an accounts file by
// username become the candidate subjects its attribute names, with the
// accounts' wave and attributes; a subject the file lacks is ambiguous.
func TestAccountsSubjects(t *testing.T) {
	dir := t.TempDir()
	accounts := `{"id":"clinician-1","kind":"clinician","username":"drsmith","password":"env:UNUSED","wave":"wave-2","hash_scheme":"bcrypt","roles":["clinician"],"attributes":{"sub":"7f3a-doc","site":"north"}}
{"id":"billing-1","kind":"billing","username":"jbill","password":"env:UNUSED","wave":"wave-1","hash_scheme":"bcrypt","roles":["billing-clerk"],"attributes":{"sub":"9c1e-bill","site":"south"}}
`
	if err := os.WriteFile(filepath.Join(dir, "accounts.jsonl"), []byte(accounts), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen []string
	pdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Subject struct {
				ID         string
				Properties map[string]any
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		seen = append(seen, fmt.Sprintf("%s %v", in.Subject.ID, in.Subject.Properties["roles"]))
		writeJSON(w, map[string]bool{"decision": true})
	}))
	defer pdp.Close()
	src := fmt.Sprintf(`version: 1
name: accounts
log: {path: l.jsonl, subject: user, roles: roles, action: op, resource_type: type, decision: result}
subjects: {accounts: accounts.jsonl, match: username, as: "attribute:sub"}
candidate: {url: %q, concurrency: 1, batch: 0}
allow_hosts: [127.0.0.1]
cohort_by: wave
`, pdp.URL)
	path := filepath.Join(dir, "shadow.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := shadow.Read(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := `{"user":"drsmith","roles":["clinician"],"op":"read","type":"notes","result":"allow"}
{"user":"jbill","roles":["billing-clerk"],"op":"read","type":"claims","result":"allow"}
{"user":"stranger","roles":["admin"],"op":"read","type":"users","result":"allow"}
`
	out := filepath.Join(dir, "out")
	res, err := shadow.Run(t.Context(), f, shadow.Options{Source: strings.NewReader(log), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"7f3a-doc [clinician]", "9c1e-bill [billing-clerk]"}; !slices.Equal(seen, want) {
		t.Errorf("the PDP was asked about %q; want %q", seen, want)
	}
	r := res.Report
	if r.Compared != 2 || r.Ambiguous != 1 || r.AmbiguousBy[0].Reason != "a subject the accounts file does not have" {
		t.Errorf("%s, ambiguous %+v; want the stranger ambiguous", r.Sentence(), r.AmbiguousBy)
	}
	table, err := results.ReadPersonas(out)
	if err != nil {
		t.Fatal(err)
	}
	// A unit of the analysis is a subject asking one action on one resource
	// type: its attributes are the subject's and those two.
	if p := table.Personas; len(p) != 2 || p[0].ID != "7f3a-doc [read notes]" || p[0].Attrs["wave"] != "wave-2" || p[0].Attrs["site"] != "north" ||
		p[0].Attrs["kind"] != "clinician" || p[0].Attrs["action"] != "read" || p[0].Attrs["resource_type"] != "notes" {
		t.Errorf("persona table %+v; want the candidate subjects' units with the accounts' wave and site", table.Personas)
	}
	if c := res.Summary.Cohorts; len(c) != 2 || c[0].Name != "wave-1" || c[1].Name != "wave-2" {
		t.Errorf("cohorts %+v; want wave-1 and wave-2", c)
	}
}
