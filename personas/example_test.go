package personas_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/cutover-dev/cutover/personas"
)

func ExampleGenerate() {
	pop, err := personas.Generate(42, personas.GenerateOptions{Count: 1000, UnassignedShare: 0.1, LegacySHA256Share: 0.25})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range personas.Kinds {
		fmt.Println(k, len(pop.ByKind(k)))
	}
	c := pop.ByKind(personas.Clinician)[0]
	fmt.Println(c.ID, c.Username, c.NPI, c.Cohort, c.Roles, len(c.Panel), c.Secret)
	// Output:
	// patient 600
	// clinician 200
	// admin 40
	// billing 80
	// service 40
	// auditor 40
	// clinician-00001 broderick.wood 2018696981 wave-3/sha256-salted [clinician breakglass-eligible] 5 [redacted]
}

func ExampleReadCSV() {
	const accounts = `id,kind,username,password,wave,hash_scheme,roles,panel,break_glass
p1,patient,pat.one,env:PAT_ONE,wave-1,sha256-salted,patient,,
c1,clinician,doc.one,file:secrets.json#c1,wave-1,bcrypt,clinician;breakglass-eligible,p1,true
`
	resolve := &personas.Resolver{
		Env: map[string]string{"PAT_ONE": "correct-horse-battery-staple"},
		ReadFile: func(path string) ([]byte, error) {
			return []byte(`{"c1": "tr0ub4dor&3-but-longer"}`), nil
		},
	}
	pop, err := personas.ReadCSV(strings.NewReader(accounts), "accounts.csv", resolve)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pop.Personas {
		fmt.Println(p.ID, p.Username, p.Roles, p.Panel, p.SecretRef, p.Secret)
	}

	_, err = personas.ReadCSV(strings.NewReader(`id,kind,username,password,wave,hash_scheme
p1,nurse,pat.one,hunter2-inline,wave-1,bcrypt
p2,patient,pat.one,env:UNSET,wave-1,md5
`), "bad.csv", resolve)
	fmt.Println(err)
	// Output:
	// p1 pat.one [patient] [] env:PAT_ONE [redacted]
	// c1 doc.one [clinician breakglass-eligible] [p1] file:secrets.json#c1 [redacted]
	// bad.csv:2: kind: unknown kind "nurse"; want one of patient, clinician, admin, billing, service, auditor
	// bad.csv:3: password: env:UNSET: variable is not set: secret not found
	// bad.csv:3: username: duplicate username "pat.one" (first at bad.csv:2)
	// bad.csv:3: hash_scheme: unknown scheme "md5"; want bcrypt or sha256-salted
}

func ExampleReadJSONL() {
	const accounts = `{"id":"lab","kind":"service","username":"svc-lab","password":"env:LAB_KEY","wave":"wave-2","permissions":["lab-results:read"]}
`
	resolve := &personas.Resolver{Env: map[string]string{"LAB_KEY": "0123456789abcdef0123456789abcdef"}}
	pop, err := personas.ReadJSONL(strings.NewReader(accounts), "accounts.jsonl", resolve)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := pop.Personas[0]
	fmt.Println(p.ID, p.Kind, p.Permissions, p.SecretRef, p.Secret)
	// Output:
	// lab service [lab-results:read] env:LAB_KEY [redacted]
}

func ExampleWriteCSV() {
	pop, err := personas.Generate(7, personas.GenerateOptions{Count: 3, Mix: personas.Mix{personas.Patient: 2, personas.Service: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Secrets are never written: give each persona a reference to where its secret
	// will be, so that the file can be imported again.
	err = personas.WriteCSV(os.Stdout, pop.WithSecretRefs(personas.EnvRef("CUTOVER_SECRET_")))
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// id,kind,username,password,wave,hash_scheme,roles,name,email,birth_date,mrn,npi,panel,break_glass,permissions
	// patient-00001,patient,sienna.atkinson,env:CUTOVER_SECRET_PATIENT_00001,wave-3,bcrypt,patient,Sienna Atkinson,sienna.atkinson@example.org,1977-05-16,MRN-71238145,,,,
	// patient-00002,patient,camila.ramos,env:CUTOVER_SECRET_PATIENT_00002,wave-2,bcrypt,patient,Camila Ramos,camila.ramos@example.org,1940-04-21,MRN-40339162,,,,
	// service-00001,service,svc-lab-feed-00001,env:CUTOVER_SECRET_SERVICE_00001,wave-3,,,,,,,,,,lab-results:read;lab-results:write
}

func ExampleWriteJSONL() {
	pop, err := personas.Generate(7, personas.GenerateOptions{Count: 2, Mix: personas.Mix{personas.Clinician: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := personas.WriteJSONL(os.Stdout, pop.WithSecretRefs(personas.FileRef("/run/secrets/cutover.json"))); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"id":"clinician-00001","kind":"clinician","username":"sienna.atkinson","password":"file:/run/secrets/cutover.json#clinician-00001","wave":"wave-3","hash_scheme":"bcrypt","roles":["clinician","breakglass-eligible"],"name":"Sienna Atkinson","email":"sienna.atkinson@example.org","npi":"2123814552","break_glass":true}
	// {"id":"clinician-00002","kind":"clinician","username":"camila.ramos","password":"file:/run/secrets/cutover.json#clinician-00002","wave":"wave-2","hash_scheme":"bcrypt","roles":["clinician"],"name":"Camila Ramos","email":"camila.ramos@example.org","npi":"2033916216"}
}

func ExamplePartition() {
	pop, err := personas.Generate(1, personas.GenerateOptions{Count: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 3 {
		seg, err := personas.Partition(pop, i, 3)
		if err != nil {
			fmt.Println(err)
			return
		}
		var ids []string
		for _, p := range seg.Personas {
			ids = append(ids, p.ID)
		}
		fmt.Println(i, ids)
	}
	// Output:
	// 0 [patient-00001 patient-00004 clinician-00001 billing-00001]
	// 1 [patient-00002 patient-00005 clinician-00002]
	// 2 [patient-00003 patient-00006 admin-00001]
}

func ExampleParity() {
	pop, err := personas.ReadCSV(strings.NewReader(`id,kind,username,password,wave,hash_scheme,roles
p1,patient,pat.one,pw-pat-one-long,w1,bcrypt,patient
b1,billing,bill.one,pw-bill-one-long,w1,bcrypt,billing-clerk
`), "accounts.csv", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	legacy := []personas.StackUser{
		{ID: "p1", Username: "pat.one", Roles: []string{"patient"}},
		{ID: "b1", Username: "bill.one", Roles: []string{"billing-clerk"}},
	}
	candidate := []personas.StackUser{
		{ID: "b1", Username: "bill.one", Roles: []string{"billing", "admin"}},
	}
	toCandidate := func(role string) []string {
		if role == "billing-clerk" {
			return []string{"billing"}
		}
		return []string{role}
	}
	for _, d := range personas.Parity(pop, legacy, candidate, toCandidate) {
		fmt.Println(d)
	}
	// Output:
	// candidate: p1: missing
	// candidate: b1: roles [admin billing]; want [billing]
}

func ExampleSCIMClient_Provision() {
	srv := httptest.NewServer((&scimServer{token: "provisioner-token"}).handler())
	defer srv.Close()
	pop, err := personas.Generate(3, personas.GenerateOptions{Count: 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &personas.SCIMClient{
		BaseURL:  srv.URL + "/scim/v2",
		Token:    personas.NewSecret("provisioner-token"),
		MapRoles: func(legacy string) []string { return []string{strings.TrimSuffix(legacy, "-clerk")} },
	}
	ctx := context.Background()
	res, err := c.Provision(ctx, pop)
	fmt.Printf("%+v %v\n", res, err)
	res, err = c.Provision(ctx, pop) // idempotent: every create is a 409
	fmt.Printf("%+v %v\n", res, err)
	users, err := c.Users(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	drifts := 0
	for _, d := range personas.Parity(pop, nil, users, c.MapRoles) {
		if d.Side == personas.SideCandidate {
			drifts++
		}
	}
	fmt.Println(len(users), "users,", drifts, "drifts on the candidate")
	n, err := c.Deprovision(ctx, pop)
	fmt.Println(n, "deleted", err)
	// Output:
	// {Created:19 Updated:0 Unchanged:0 Skipped:1} <nil>
	// {Created:0 Updated:0 Unchanged:19 Skipped:1} <nil>
	// 19 users, 0 drifts on the candidate
	// 19 deleted <nil>
}

func ExampleExport() {
	pop, err := personas.Generate(42, personas.GenerateOptions{Count: 25})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The users file of an Auth0 bulk import, roles mapped to the candidate's.
	var file strings.Builder
	res, err := personas.Export(&file, pop, personas.ExportOptions{
		Format: personas.ExportAuth0, Hash: personas.HashBcrypt, BcryptCost: 4,
		MapRoles: func(legacy string) []string { return map[string][]string{"billing-clerk": {"billing"}}[legacy] },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d users, %d service account left out, %s\n", res.Users, res.Skipped, res.Hash)
	var users []struct {
		UserID       string `json:"user_id"`
		Username     string `json:"username"`
		PasswordHash string `json:"password_hash"`
		AppMetadata  struct {
			Roles       []string `json:"roles"`
			LegacyRoles []string `json:"legacy_roles"`
		} `json:"app_metadata"`
	}
	if err := json.Unmarshal([]byte(file.String()), &users); err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range users {
		if len(u.AppMetadata.Roles) > 0 {
			fmt.Println(u.UserID, u.Username, u.PasswordHash[:7], u.AppMetadata.LegacyRoles, "->", u.AppMetadata.Roles)
		}
	}
	// Output:
	// 24 users, 1 service account left out, bcrypt
	// billing-00001 herbert.lang $2a$04$ [billing-clerk] -> [billing]
	// billing-00002 aisha.hall $2a$04$ [billing-clerk] -> [billing]
}

func ExampleMix_Validate() {
	mix := personas.Mix{personas.Patient: 0.7, personas.Clinician: 0.7}
	fmt.Println(mix.Validate())
	// Output:
	// mix: the shares add up to 1.4; want 1 (within 1e-09)
}
