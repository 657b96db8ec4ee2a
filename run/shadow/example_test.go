package shadow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cutover-dev/cutover/run/shadow"
)

// Example judges four lines of a legacy decision log against a candidate
// PDP that lets clinicians read records and nothing else.
func Example() {
	pdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Subject struct {
				Properties struct{ Roles []string }
			}
			Resource struct{ Type string }
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		allow := in.Resource.Type == "record" && len(in.Subject.Properties.Roles) > 0 && in.Subject.Properties.Roles[0] == "clinician"
		_ = json.NewEncoder(w).Encode(map[string]bool{"decision": allow})
	}))
	defer pdp.Close()
	file := fmt.Sprintf(`version: 1
name: example
log:
  path: decisions.jsonl
  subject: user
  roles: roles
  action: op
  resource_type: type
  resource_id: id
  decision: {path: result, map: {PERMIT: allow, DENY: deny}}
candidate: {url: %q, batch: 0}
allow_hosts: [127.0.0.1]
`, pdp.URL)
	log := `{"user":"doc-1","roles":["clinician"],"op":"read","type":"record","id":"p-1","result":"PERMIT"}
{"user":"doc-1","roles":["clinician"],"op":"read","type":"record","id":"p-1","result":"PERMIT"}
{"user":"doc-1","roles":["clinician"],"op":"read","type":"notes","id":"p-1","result":"PERMIT"}
{"user":"bill-1","roles":["billing-clerk"],"op":"read","type":"claims","id":"all","result":"MAYBE"}
`
	f, err := shadow.Parse("shadow.yaml", []byte(file), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := shadow.Run(context.Background(), f, shadow.Options{Source: strings.NewReader(log)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.ReplaceAll(res.Report.Sentence(), "; ", ";\n"))
	for _, fd := range res.Summary.Findings {
		fmt.Println(fd.Class, fd.PersonaKind, fd.Examples[0].Text())
	}
	// Output:
	// 4 log lines: 3 compared (2 agreed, 0 over-permission, 1 under-permission, 0 PDP errors), 1 ambiguous, 0 skipped;
	// 2 distinct questions, 2 evaluations in 2 requests to the PDP (33.3% of the lines' calls saved)
	// UNDER_PERMISSION clinician doc-1 [read notes] read notes:p-1: legacy allow, candidate deny (HTTP 200)
}
