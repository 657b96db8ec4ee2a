package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/personas"
)

// personasSubcommands are the subcommands of `cutover personas`.
const personasSubcommands = "generate, import, export or provision"

// personasCmd is `cutover personas generate | import | export | provision`.
func personasCmd(st *state) *cobra.Command {
	c := &cobra.Command{
		Use:   "personas SUBCOMMAND",
		Short: "generate, check, export or SCIM-provision a population",
		Long: `personas works on populations of personas: generate writes a synthetic one
(deterministic from --seed), import checks an accounts file, export writes one
as a provider's bulk import file (password hashes) for a candidate without
SCIM, provision creates it in a stack's SCIM 2.0 directory.`,
		Example: `  cutover personas generate --count 200 --seed 7 --secret-ref file:secrets.json --out personas.jsonl
  cutover personas import accounts.csv --strict
  cutover personas export accounts.csv --format auth0 --out users.json`,
		// A subcommand that is none of them is an error, with the nearest.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("personas: want " + personasSubcommands)
			}
			hint := ""
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				hint = "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return fmt.Errorf("personas: unknown subcommand %q%s (want %s)", args[0], hint, personasSubcommands)
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	c.SuggestionsMinimumDistance = 2
	c.AddCommand(personasGenerateCmd(st), personasImportCmd(st), personasExportCmd(st), personasProvisionCmd(st))
	return c
}

// usageError is err as a usage error (exit 2).
func usageError(format string, args ...any) error {
	return exitcode.With(fmt.Errorf(format, args...), exitcode.Usage)
}

// populationFlags are the flags of a synthetic population, shared by generate
// and export: the same flags give the same personas, secrets included.
type populationFlags struct {
	count int
	seed  uint64
	mix   string
	sha   float64
}

func (pf *populationFlags) define(fs *pflag.FlagSet) {
	fs.IntVar(&pf.count, "count", 100, "number of personas")
	fs.Uint64Var(&pf.seed, "seed", 1, "seed: the same seed gives the same population, secrets included")
	fs.StringVar(&pf.mix, "mix", "", "shares per kind adding up to 1, e.g. patient=0.6,clinician=0.3,service=0.1 (default: hospital-like)")
	fs.Float64Var(&pf.sha, "sha256-share", 0.25, "share of humans whose legacy hash is salted SHA-256")
}

func (pf *populationFlags) generate() (personas.Population, error) {
	m, err := parseMix(pf.mix)
	if err != nil {
		return personas.Population{}, exitcode.With(err, exitcode.Usage)
	}
	pop, err := personas.Generate(pf.seed, personas.GenerateOptions{Count: pf.count, Mix: m, LegacySHA256Share: pf.sha, UnassignedShare: 0.2})
	if err != nil {
		return personas.Population{}, exitcode.With(err, exitcode.Usage)
	}
	return pop, nil
}

// Formats of an accounts file by the extension of its name.
var accountsExts = []string{".csv", ".jsonl"}

// checkOut refuses an --out whose extension is none of exts, naming them; "-"
// (stdout) passes when stdout is allowed.
func checkOut(out string, exts []string, stdout bool) error {
	if out == "-" && stdout {
		return nil
	}
	if out == "" || out == "-" {
		return usageError("--out FILE is required, a file ending in %s", strings.Join(exts, " or "))
	}
	if !slices.Contains(exts, strings.ToLower(filepath.Ext(out))) {
		also := ""
		if stdout {
			also = " (or - for JSON lines on stdout)"
		}
		return usageError("--out %s: want a file ending in %s%s", out, strings.Join(exts, " or "), also)
	}
	return nil
}

// personasGenerate writes a synthetic population. The accounts file holds no
// secret: with --secret-ref it names where each one is (an environment
// variable, or a key of a secrets file written beside it with mode 0600),
// else it holds none and a rehearsal derives them from the seed.
func personasGenerateCmd(st *state) *cobra.Command {
	c := &cobra.Command{
		Use:   "generate [--count N] [--seed S] [--mix K=SHARE,...] [--secret-ref env:PREFIX|file:PATH] [--out FILE]",
		Short: "write a synthetic population, deterministic from its seed",
		Long: `generate writes a synthetic population (patients, clinicians with panels,
admins, billing clerks, auditors, service accounts), the same for the same
flags. The accounts file holds no secret: with --secret-ref it names where each
one is (an environment variable, or a key of a secrets file written beside it
with mode 0600), else it holds none and a rehearsal derives them from the seed.`,
		Example: `  cutover personas generate --count 200 --seed 7 --out personas.jsonl
  cutover personas generate --secret-ref file:secrets.json --out accounts.csv
  cutover personas generate --secret-ref env:PW_ --secrets-out pw.env --out accounts.jsonl`,
		Args: noArgs,
	}
	fs := c.Flags()
	var pf populationFlags
	pf.define(fs)
	ref := fs.String("secret-ref", "", "write secret references: env:PREFIX (one variable a persona; see --secrets-out) or file:PATH (the secrets are written to PATH, mode 0600, beside the --out file)")
	secretsOut := fs.String("secrets-out", "", "with --secret-ref env:PREFIX, write the variables' values to this file (mode 0600), for 'set -a; . FILE; set +a'")
	out := fs.String("out", "-", "output file, .jsonl or .csv (- for JSON lines on stdout)")
	c.RunE = func(*cobra.Command, []string) error { return personasGenerate(st, pf, *ref, *secretsOut, *out) }
	return c
}

func personasGenerate(st *state, pf populationFlags, refFlag, secretsOutFlag, outFlag string) error {
	ref, secretsOut, out := &refFlag, &secretsOutFlag, &outFlag
	if err := checkOut(*out, accountsExts, true); err != nil {
		return err
	}
	kind, where, _ := strings.Cut(*ref, ":")
	switch {
	case *ref != "" && (kind != "env" && kind != "file" || where == ""):
		return usageError("--secret-ref %q: want env:PREFIX or file:PATH", *ref)
	case *secretsOut != "" && kind != "env":
		return usageError("--secrets-out goes with --secret-ref env:PREFIX (file:PATH writes its secrets to PATH)")
	}
	// A file: reference is read relative to the accounts file's folder.
	secretsPath := ""
	if kind == "file" {
		secretsPath = where
		if !filepath.IsAbs(where) && *out != "-" {
			secretsPath = filepath.Join(filepath.Dir(*out), where)
		}
		if *out != "-" && filepath.Clean(secretsPath) == filepath.Clean(*out) {
			return usageError("--secret-ref %s: the secrets file would overwrite --out", *ref)
		}
	}
	pop, err := pf.generate()
	if err != nil {
		return err
	}
	switch kind {
	case "env":
		pop = pop.WithSecretRefs(personas.EnvRef(where))
	case "file":
		pop = pop.WithSecretRefs(personas.FileRef(where))
	}
	if err := writePopulation(st, *out, pop); err != nil {
		return err
	}
	fmt.Fprintf(st.stderr, "personas: %d generated from seed %d (%s)\n", len(pop.Personas), pf.seed, kindCounts(pop))
	return placeSecrets(st, pop, kind, where, secretsPath, *secretsOut)
}

// placeSecrets puts the secrets of a generated population where its references
// point (--secret-ref KIND:WHERE), or says how to: a file: reference's secrets
// file at secretsPath, an env: reference's variables in secretsOut if given.
// The files have mode 0600.
func placeSecrets(st *state, pop personas.Population, kind, where, secretsPath, secretsOut string) error {
	var n int
	switch {
	case kind == "env" && secretsOut == "":
		vars := pop.EnvVars()
		names := vars[0]
		if len(vars) > 1 {
			names += " ... " + vars[len(vars)-1]
		}
		fmt.Fprintf(st.stderr, "personas: the file references %d environment variables (%s), one per persona, that import and run read;\n"+
			"  --secrets-out FILE writes their values (mode 0600) for `set -a; . FILE; set +a` or a CI secret store,\n"+
			"  or --secret-ref file:PATH keeps the secrets in a file the references point at\n", len(vars), names)
	case kind == "env":
		err := writePrivate(secretsOut, func(w io.Writer) (err error) {
			n, err = personas.WriteEnvSecrets(w, pop)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(st.stderr, "personas: the %d variables are in %s (mode 0600): `set -a; . %s; set +a` sets them; keep it out of version control\n", n, secretsOut, secretsOut)
	case kind == "file":
		err := writePrivate(secretsPath, func(w io.Writer) (err error) {
			n, err = personas.WriteFileSecrets(w, pop, where)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(st.stderr, "personas: the %d secrets are in %s (mode 0600), where the file's references point; keep it out of version control\n", n, secretsPath)
	default:
		fmt.Fprintln(st.stderr, "personas: the file holds no secrets (a rehearsal's personas.generate derives them from the seed); --secret-ref makes it an accounts file to import")
	}
	return nil
}

// personasImport reads and validates a file of pre-provisioned test accounts,
// resolving secret references, and reports every bad row at once; a plaintext
// secret is a warning, refused with --strict.
func personasImportCmd(st *state) *cobra.Command {
	c := &cobra.Command{
		Use:   "import FILE [--strict] [--out FILE]",
		Short: "check an accounts file: every bad row at once, with its line and field",
		Long: `import reads a file of pre-provisioned test accounts (CSV or JSON lines, by
extension), resolves its secret references (env:VAR, file:PATH#key) and
reports every bad row at once with its line and column. A plaintext password
is a warning, refused with --strict.`,
		Example: "  cutover personas import accounts.csv\n  cutover personas import accounts.jsonl --strict --out checked.csv",
		Args:    argNamed("FILE"),
	}
	out := c.Flags().String("out", "", "also write the validated population (secrets as references only), .jsonl or .csv")
	strict := c.Flags().Bool("strict", false, "refuse plaintext secrets: every password must be an env: or file: reference")
	c.RunE = func(_ *cobra.Command, args []string) error { return personasImport(st, args[0], *out, *strict) }
	return c
}

func personasImport(st *state, arg, outFlag string, strictFlag bool) error {
	out, strict := &outFlag, &strictFlag
	if *out != "" {
		if err := checkOut(*out, accountsExts, true); err != nil {
			return err
		}
	}
	pop, inline, err := readPopulation(st, arg, *strict)
	if err != nil {
		return err
	}
	warned := ""
	if inline > 0 {
		warned = fmt.Sprintf("; %d with a plaintext secret, see the warnings", inline)
	}
	fmt.Fprintf(st.stdout, "%s: %d personas ok (%s)%s\n", arg, len(pop.Personas), kindCounts(pop), warned)
	if *out != "" {
		return writePopulation(st, *out, pop)
	}
	return nil
}

// personasProvision creates (or updates) every human persona of FILE in a candidate
// through SCIM 2.0, or removes them with --deprovision.
func personasProvisionCmd(st *state) *cobra.Command {
	c := &cobra.Command{
		Use:   "provision FILE --scim URL [--token-env VAR] [--send-password] [--deprovision]",
		Short: "create (idempotently) or remove the personas of FILE in a candidate through SCIM 2.0",
		Long: `provision creates every human persona of the accounts file FILE in a candidate's
SCIM 2.0 directory, or updates it, idempotently; --deprovision removes them.
The bearer token is read from the environment variable --token-env.`,
		Example: "  CUTOVER_SCIM_TOKEN=... cutover personas provision accounts.csv --scim https://idp.example/scim/v2",
		Args:    argNamed("FILE"),
	}
	fs := c.Flags()
	scim := fs.String("scim", "", "SCIM base URL, e.g. https://idp.example/scim/v2")
	tokenEnv := fs.String("token-env", "CUTOVER_SCIM_TOKEN", "environment variable holding the SCIM bearer token")
	password := fs.Bool("send-password", false, "also send each password (for candidates that do not migrate hashes)")
	deprov := fs.Bool("deprovision", false, "remove the personas instead")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return personasProvision(cmd.Context(), st, args[0], *scim, *tokenEnv, *password, *deprov)
	}
	return c
}

func personasProvision(ctx context.Context, st *state, arg, scimFlag, tokenEnvFlag string, passwordFlag, deprovFlag bool) error {
	scim, tokenEnv, password, deprov := &scimFlag, &tokenEnvFlag, &passwordFlag, &deprovFlag
	if *scim == "" {
		return exitcode.With(errors.New("personas provision takes --scim URL"), exitcode.Usage)
	}
	pop, _, err := readPopulation(st, arg, false)
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
// env: references from the process environment and file: references from
// disk. A row with a plaintext secret is a warning on stderr, or with strict
// refused; it returns how many rows have one.
func readPopulation(st *state, path string, strict bool) (personas.Population, int, error) {
	inline, err := personas.InlineSecrets(path)
	if err != nil {
		return personas.Population{}, 0, exitcode.With(err, exitcode.Usage)
	}
	if strict && len(inline) > 0 {
		errs := make([]error, len(inline))
		for i, s := range inline {
			errs[i] = errors.New(s.String())
		}
		return personas.Population{}, 0, exitcode.With(fmt.Errorf("--strict: %d plaintext secrets in %s:\n%w", len(inline), path, errors.Join(errs...)), exitcode.Usage)
	}
	for _, s := range inline {
		fmt.Fprintf(st.stderr, "personas: warning: %s\n", s)
	}
	pop, err := personas.ReadFile(path, &personas.Resolver{Env: environMap(st), ReadFile: personas.FilesBeside(filepath.Dir(path))})
	if err != nil {
		return personas.Population{}, 0, exitcode.With(err, exitcode.Usage)
	}
	return pop, len(inline), nil
}

// writePopulation writes pop as an accounts file, CSV or JSONL by the
// extension of path ("-": JSONL on stdout).
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

// writePrivate writes a file of mode 0600 with write: through a temporary file
// renamed over path, so that no one sees it half written or under the mode an
// earlier file of that name had.
func writePrivate(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // nothing left to remove once renamed
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
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

// parseMix reads "patient=0.6,clinician=0.3,...": known kinds, each once, the
// shares adding up to 1.
func parseMix(s string) (personas.Mix, error) {
	if s == "" {
		return nil, nil
	}
	m := personas.Mix{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		share, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("--mix: %q is not kind=share", part)
		}
		kind := personas.Kind(strings.TrimSpace(k))
		if _, dup := m[kind]; dup {
			return nil, fmt.Errorf("--mix: %s given twice", kind)
		}
		m[kind] = share
	}
	if err := m.Validate(); err != nil {
		// One line a problem, each naming the flag.
		var errs []error
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			errs = append(errs, fmt.Errorf("--%w", e))
		}
		return nil, errors.Join(errs...)
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
