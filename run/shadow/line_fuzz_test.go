package shadow

import (
	"bytes"
	"testing"

	"github.com/cutover-dev/cutover/results/record"
)

const fuzzFile = `version: 1
name: fuzz
log:
  path: l.jsonl
  subject: {path: who.id, strip_prefix: "user:"}
  roles: who.roles
  action: {path: op, lower: true}
  resource_type: {path: res, match: "^([a-z]+):"}
  resource_id: {path: res, match: ":(.+)$"}
  decision: {path: result, map: {PERMIT: allow, DENY: deny}}
  error: err
  attributes: {tenant: who.tenant}
  context: {via: via}
  filter: {field: kind, values: [access]}
candidate: {url: "http://127.0.0.1:1"}
allow_hosts: [127.0.0.1]
`

// FuzzLine: no log line makes reading or parsing it panic, and a line that
// is neither ambiguous nor skipped has a subject, an action, a resource type
// and a decision of allow or deny. The same bytes are read as a CSV log too.
func FuzzLine(f *testing.F) {
	f.Add([]byte(`{"kind":"access","who":{"id":"user:doc","roles":["clinician"],"tenant":"north"},"op":"READ","res":"notes:p1","result":"PERMIT"}`))
	f.Add([]byte(`{"kind":"access","who":{"id":1.5,"roles":"a b"},"op":true,"res":"x:","result":false}`))
	f.Add([]byte("{\"kind\":\"access\"}\n\n[1,2]\nnull"))
	f.Add([]byte("u,READ,notes,p1,PERMIT\n\"unterminated"))
	file, err := Parse("fuzz.yaml", []byte(fuzzFile), nil)
	if err != nil {
		f.Fatal(err)
	}
	csvFile := *file
	csvFile.Log.Format = "csv"
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []string{"jsonl", "csv"} {
			fl := file
			src := b
			if format == "csv" {
				fl = &csvFile
				src = append([]byte("kind,who.id,who.roles,op,res,result,err,who.tenant,via\n"), b...)
			}
			rd, header, err := newReader(bytes.NewReader(src), format, "l")
			if err != nil {
				continue
			}
			m, err := newMapping(fl, header)
			if err != nil {
				t.Fatalf("%s mapping: %v", format, err)
			}
			for range 1000 {
				r, err := rd.next()
				if err != nil {
					break
				}
				var e entry
				m.parse(r, &e)
				if e.why != "" || e.skipped {
					continue
				}
				if e.legacy == "" || e.q.action == "" || e.q.typ == "" || (e.decision != record.Allow && e.decision != record.Deny) {
					t.Fatalf("%s line %d taken as a decision without its facts: %+v", format, r.n, e)
				}
			}
		}
	})
}
