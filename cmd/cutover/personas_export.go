package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/personas"
)

// exportExts are the extensions of an export's --out.
var exportExts = []string{".json"}

// auth0MaxFile is the largest users file Auth0's bulk import takes.
const auth0MaxFile = 500 << 10

const exportHelp = `Write the human personas of FILE (an accounts file, its references resolved
from the environment and the files they name) or of a generated population
(--count, --seed, --mix, --sha256-share as for generate) as the bulk import
file of a candidate that has no SCIM endpoint: username, name, email, roles
(mapped with --role-map, and the legacy ones), the persona id as the external
id, and the password hash. Service accounts are clients, not users: left out.

  auth0     Auth0 bulk user import (POST /api/v2/jobs/users-imports), a JSON array:
            user_id is the persona id; bcrypt in password_hash ($2a$, cost 10),
            pbkdf2-sha256 and argon2id as PHC strings in custom_password_hash,
            cohort: each persona's legacy scheme (bcrypt, or sha256 with a prefix
            salt for the sha256-salted cohort); at most 500 KB a file
  keycloak  Keycloak partial import (Realm settings > Partial import, or POST
            /admin/realms/{realm}/partialImport): pbkdf2-sha256 credentials,
            or with --plaintext the passwords themselves; attribute persona_id

The file holds password hashes (or passwords): it is written with mode 0600.

`

// personasExport writes a population as a provider's bulk import file.
func personasExportCmd(st *state) *cobra.Command {
	c := &cobra.Command{
		Use:   "export [FILE] --out USERS.json [--format auth0|keycloak] [--hash H] [--role-map FILE]",
		Short: "write a population as a provider's bulk import file, with password hashes",
		Long:  exportHelp,
		Example: `  cutover personas export accounts.csv --out users.json --role-map rehearsal.yaml
  cutover personas export --count 200 --seed 7 --format keycloak --out realm-users.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errors.New("personas export takes at most one FILE")
			}
			return nil
		},
	}
	fs := c.Flags()
	var pf populationFlags
	pf.define(fs)
	format := fs.String("format", string(personas.ExportAuth0), "bulk import format: auth0 or keycloak")
	hash := fs.String("hash", "", "password hash: bcrypt, pbkdf2-sha256, argon2id or cohort for auth0 (default bcrypt); pbkdf2-sha256 for keycloak")
	plaintext := fs.Bool("plaintext", false, "write the passwords themselves, not hashes (keycloak only): the file then holds every password")
	roleMap := fs.String("role-map", "", "YAML or JSON file of legacy role: [candidate roles], or a rehearsal file (its stacks.legacy role_map); without it the legacy roles go as they are")
	cost := fs.Int("bcrypt-cost", personas.DefaultBcryptCost, "bcrypt cost")
	iter := fs.Int("pbkdf2-iterations", personas.DefaultPBKDF2Iterations, "PBKDF2 iterations")
	strict := fs.Bool("strict", false, "refuse an accounts FILE with plaintext secrets")
	out := fs.String("out", "", "output file, .json (required: written with mode 0600, never to stdout)")
	c.RunE = func(_ *cobra.Command, pos []string) error {
		return personasExport(st, fs, pos, pf, exportFlags{*format, *hash, *roleMap, *out, *plaintext, *strict, *cost, *iter})
	}
	return c
}

// exportFlags are the flags of personas export.
type exportFlags struct {
	format, hash, roleMap, out string
	plaintext, strict          bool
	cost, iter                 int
}

// personasExport writes a population as a provider's bulk import file.
func personasExport(st *state, fs *pflag.FlagSet, pos []string, pf populationFlags, x exportFlags) error {
	format, hash, roleMap, out := &x.format, &x.hash, &x.roleMap, &x.out
	plaintext, strict, cost, iter := &x.plaintext, &x.strict, &x.cost, &x.iter
	if err := checkOut(*out, exportExts, false); err != nil {
		return err
	}
	f, err := personas.ParseExportFormat(*format)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	opt := personas.ExportOptions{Format: f, Hash: *hash, Plaintext: *plaintext, BcryptCost: *cost, PBKDF2Iterations: *iter}
	if *roleMap != "" {
		if opt.MapRoles, err = readRoleMap(*roleMap); err != nil {
			return exitcode.With(err, exitcode.Usage)
		}
	}
	var pop personas.Population
	switch len(pos) {
	case 0:
		if pop, err = pf.generate(); err != nil {
			return err
		}
	default:
		var generated []string
		fs.Visit(func(f *pflag.Flag) {
			if slices.Contains([]string{"count", "seed", "mix", "sha256-share"}, f.Name) {
				generated = append(generated, "--"+f.Name)
			}
		})
		if len(generated) > 0 {
			return usageError("%s generate a population: not with FILE", strings.Join(generated, ", "))
		}
		if pop, _, err = readPopulation(st, pos[0], *strict); err != nil {
			return err
		}
	}
	var res personas.ExportResult
	err = writePrivate(*out, func(w io.Writer) (err error) {
		res, err = personas.Export(w, pop, opt)
		return err
	})
	if errors.Is(err, personas.ErrExportOption) {
		return exitcode.With(err, exitcode.Usage)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(st.stdout, "%s: %d users with %s passwords for the %s bulk import (mode 0600)", *out, res.Users, res.Hash, f)
	switch {
	case res.Skipped == 1:
		fmt.Fprint(st.stdout, "; 1 service account left out: on a candidate it is a client, not a user")
	case res.Skipped > 1:
		fmt.Fprintf(st.stdout, "; %d service accounts left out: on a candidate they are clients, not users", res.Skipped)
	}
	fmt.Fprintln(st.stdout)
	if opt.Plaintext {
		fmt.Fprintf(st.stderr, "personas: warning: %s holds every password in plaintext: delete it once imported\n", *out)
	}
	if fi, err := os.Stat(*out); err == nil && f == personas.ExportAuth0 && fi.Size() > auth0MaxFile {
		fmt.Fprintf(st.stderr, "personas: warning: %s is %d KB; Auth0 takes at most %d KB a file: export the population in parts\n", *out, fi.Size()>>10, auth0MaxFile>>10)
	}
	return nil
}

// readRoleMap reads the mapping of legacy roles to candidate roles from a YAML
// or JSON file of role: [roles], or from a rehearsal file's stacks.legacy.
func readRoleMap(path string) (personas.RoleMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--role-map: %w", err)
	}
	var rehearsal struct {
		Stacks struct {
			Legacy struct {
				Legacy struct {
					RoleMap map[string][]string `yaml:"role_map"`
				} `yaml:"legacy"`
			} `yaml:"legacy"`
		} `yaml:"stacks"`
	}
	m := map[string][]string{}
	if err := yaml.Unmarshal(b, &rehearsal); err == nil && rehearsal.Stacks.Legacy.Legacy.RoleMap != nil {
		m = rehearsal.Stacks.Legacy.Legacy.RoleMap
	} else if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("--role-map %s: want an object of legacy role: [candidate roles], or a rehearsal file with stacks.legacy.legacy.role_map", path)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("--role-map %s: no roles", path)
	}
	return func(legacy string) []string { return m[legacy] }, nil
}
