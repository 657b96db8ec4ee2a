package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/personas"
)

// cmdPersonas dispatches `cutover personas generate | import | provision`.
func cmdPersonas(ctx context.Context, st *state, args []string) error {
	if len(args) == 0 {
		return exitcode.With(errors.New("personas: want generate, import or provision"), exitcode.Usage)
	}
	switch args[0] {
	case "generate":
		return personasGenerate(st, args[1:])
	case "import":
		return personasImport(st, args[1:])
	case "provision":
		return personasProvision(ctx, st, args[1:])
	}
	return exitcode.With(fmt.Errorf("personas: unknown subcommand %q; want generate, import or provision", args[0]), exitcode.Usage)
}

// personasGenerate writes a synthetic population. Secrets are never written: with
// --secret-ref the file names where each secret will be (an env variable or a key
// of a secrets file), else it carries none and the secrets derive from the seed.
func personasGenerate(st *state, args []string) error {
	fs := flag.NewFlagSet("personas generate", flag.ContinueOnError)
	count := fs.Int("count", 100, "number of personas")
	seed := fs.Uint64("seed", 1, "seed: the same seed gives the same population")
	mix := fs.String("mix", "", "shares per kind, e.g. patient=0.6,clinician=0.3,service=0.1 (default: hospital-like)")
	sha := fs.Float64("sha256-share", 0.25, "share of humans whose legacy hash is salted SHA-256")
	ref := fs.String("secret-ref", "", "write secret references: env:PREFIX or file:PATH")
	out := fs.String("out", "-", "output file (.jsonl or .csv; - for JSON lines on stdout)")
	if _, err := flags(fs, st, args); err != nil {
		return err
	}
	m, err := parseMix(*mix)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	pop, err := personas.Generate(*seed, personas.GenerateOptions{Count: *count, Mix: m, LegacySHA256Share: *sha, UnassignedShare: 0.2})
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	switch {
	case strings.HasPrefix(*ref, "env:"):
		pop = pop.WithSecretRefs(personas.EnvRef(strings.TrimPrefix(*ref, "env:")))
	case strings.HasPrefix(*ref, "file:"):
		pop = pop.WithSecretRefs(personas.FileRef(strings.TrimPrefix(*ref, "file:")))
	case *ref != "":
		return exitcode.With(fmt.Errorf("--secret-ref %q: want env:PREFIX or file:PATH", *ref), exitcode.Usage)
	}
	if err := writePopulation(st, *out, pop); err != nil {
		return err
	}
	fmt.Fprintf(st.stderr, "personas: %d generated from seed %d (%s)\n", len(pop.Personas), *seed, kindCounts(pop))
	return nil
}

// personasImport reads and validates a file of pre-provisioned test accounts,
// resolving secret references, and reports every bad row at once.
func personasImport(st *state, args []string) error {
	fs := flag.NewFlagSet("personas import", flag.ContinueOnError)
	out := fs.String("out", "", "also write the validated population (secrets as references only)")
	arg, err := oneArg(fs, st, args, "FILE")
	if err != nil {
		return err
	}
	pop, err := readPopulation(st, arg)
	if err != nil {
		return err
	}
	fmt.Fprintf(st.stdout, "%s: %d personas ok (%s)\n", arg, len(pop.Personas), kindCounts(pop))
	if *out != "" {
		return writePopulation(st, *out, pop)
	}
	return nil
}

// personasProvision creates (or updates) every human persona of FILE in a candidate
// through SCIM 2.0, or removes them with --deprovision.
func personasProvision(ctx context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("personas provision", flag.ContinueOnError)
	scim := fs.String("scim", "", "SCIM base URL, e.g. https://idp.example/scim/v2")
	tokenEnv := fs.String("token-env", "CUTOVER_SCIM_TOKEN", "environment variable holding the SCIM bearer token")
	password := fs.Bool("send-password", false, "also send each password (for candidates that do not migrate hashes)")
	deprov := fs.Bool("deprovision", false, "remove the personas instead")
	arg, err := oneArg(fs, st, args, "FILE")
	if err != nil {
		return err
	}
	if *scim == "" {
		return exitcode.With(errors.New("personas provision takes --scim URL"), exitcode.Usage)
	}
	pop, err := readPopulation(st, arg)
	if err != nil {
		return err
	}
	c := &personas.SCIMClient{BaseURL: *scim, Token: personas.NewSecret(st.getenv(*tokenEnv)), HTTP: &http.Client{}, SendPassword: *password}
	if *deprov {
		n, err := c.Deprovision(ctx, pop)
		fmt.Fprintf(st.stdout, "deprovisioned %d\n", n)
		return exitcode.With(err, exitcode.Precondition)
	}
	res, err := c.Provision(ctx, pop)
	fmt.Fprintf(st.stdout, "created %d, updated %d, unchanged %d, skipped %d (service accounts are clients, not users)\n", res.Created, res.Updated, res.Unchanged, res.Skipped)
	return exitcode.With(err, exitcode.Precondition)
}

// readPopulation reads a CSV or JSONL accounts file by its extension, resolving
// env: references from the process environment and file: references from disk.
func readPopulation(st *state, path string) (personas.Population, error) {
	pop, err := personas.ReadFile(path, &personas.Resolver{Env: environMap(st), ReadFile: personas.FilesBeside(filepath.Dir(path))})
	if err != nil {
		return personas.Population{}, exitcode.With(err, exitcode.Usage)
	}
	return pop, nil
}

func writePopulation(st *state, path string, pop personas.Population) error {
	var w io.Writer = st.stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	write := personas.WriteJSONL
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		write = personas.WriteCSV
	}
	return write(w, pop)
}

func environMap(st *state) map[string]string {
	m := make(map[string]string)
	if st.environ == nil {
		return m
	}
	for _, kv := range st.environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// parseMix reads "patient=0.6,clinician=0.3".
func parseMix(s string) (personas.Mix, error) {
	if s == "" {
		return nil, nil
	}
	m := personas.Mix{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		share, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("--mix: %q is not kind=share", part)
		}
		m[personas.Kind(strings.TrimSpace(k))] = share
	}
	return m, nil
}

func kindCounts(pop personas.Population) string {
	n := map[string]int{}
	for _, p := range pop.Personas {
		n[string(p.Kind)]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, n[k])
	}
	return strings.Join(parts, ", ")
}
