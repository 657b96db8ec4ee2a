package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// stacksCmd serves both embedded stacks until interrupted, and writes a
// ready-to-run rehearsal file for them, so a user can point `cutover run` (or a
// browser, or curl) at them.
func stacksCmd(st *state) *cobra.Command {
	var drift, out, legacyAddr, candidateAddr string
	var b strings.Builder
	b.WriteString(`stacks serves the embedded legacy and candidate stacks on loopback until
interrupted, seeded with the demo's personas, and writes a rehearsal file for
them (and the personas, without secrets) to --out.

Drifts of the embedded candidate (--drift NAME[=PARAM],...):
`)
	for _, d := range stacks.Catalogue {
		fmt.Fprintf(&b, "  %-24s %-30s %s\n", d.Name, d.Class, d.Description)
	}
	c := &cobra.Command{
		Use:     "stacks",
		Short:   "serve the embedded stacks until interrupted, with a rehearsal file for them",
		Long:    b.String(),
		Example: "  cutover stacks --drift slow-token=80ms,patient-sees-others\n  cutover run out/stacks/rehearsal.yaml",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveStacks(cmd.Context(), st, drift, out, legacyAddr, candidateAddr)
		},
	}
	f := c.Flags()
	f.StringVar(&drift, "drift", "none", "candidate drifts: none, or NAME[=PARAM],...")
	f.StringVar(&out, "out", "out/stacks", "folder for the rehearsal file and the personas")
	f.StringVar(&legacyAddr, "legacy-addr", "127.0.0.1:0", "legacy listen address")
	f.StringVar(&candidateAddr, "candidate-addr", "127.0.0.1:0", "candidate listen address")
	return c
}

func serveStacks(ctx context.Context, st *state, drift, out, legacyAddr, candidateAddr string) error {
	drifts, err := stacks.ParseDrifts(drift)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	cfg, err := config.Parse("examples/demo.yaml", examples.Demo, examples.DemoEnv(nil, st.getenv))
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		return err
	}
	pair, err := stacks.Start(ctx, stacks.Options{Population: pop, Drifts: drifts, Seed: cfg.Seed, BreakGlassTTL: demoBreakGlassTTL, LegacyAddr: legacyAddr, CandidateAddr: candidateAddr})
	if err != nil {
		return exitcode.With(fmt.Errorf("start embedded stacks: %w", err), exitcode.Precondition)
	}
	defer pair.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// The rehearsal file is the demo's with the addresses filled in; the client
	// secrets go to files only their owner reads, which the rehearsal references.
	rf := filepath.Join(out, "rehearsal.yaml")
	body := bytes.ReplaceAll(examples.Demo, []byte("${"+examples.EnvLegacyURL+"}"), []byte(pair.LegacyURL))
	body = bytes.ReplaceAll(body, []byte("${"+examples.EnvCandidateURL+"}"), []byte(pair.CandidateURL))
	env := examples.DemoEnv(pair, nil)
	for name, file := range map[string]string{examples.EnvIntrospectionSecret: "introspection-secret", examples.EnvProvisionerSecret: "provisioner-secret"} {
		if err := os.WriteFile(filepath.Join(out, file), []byte(env(name)), 0o600); err != nil {
			return err
		}
		body = bytes.ReplaceAll(body, []byte("{env: "+name+"}"), []byte("{file: "+file+"}"))
	}
	if err := os.WriteFile(rf, body, 0o644); err != nil {
		return err
	}
	pf := filepath.Join(out, "personas.jsonl")
	if err := writePopulation(st, pf, pop); err != nil {
		return err
	}
	fmt.Fprintf(st.stdout, "legacy     %s\ncandidate  %s  (issuer; discovery at /.well-known/openid-configuration)\n", pair.LegacyURL, pair.CandidateURL)
	fmt.Fprintf(st.stdout, "drifts     %s\npersonas   %s (%d; passwords derive from seed %d and are not written)\n", driftList(drifts), pf, len(pop.Personas), cfg.Seed)
	fmt.Fprintf(st.stdout, "rehearsal  %s\n\nrun it:    cutover run %s\nstop:      Ctrl-C\n", rf, rf)
	<-ctx.Done()
	fmt.Fprintln(st.stderr, "cutover stacks: stopping")
	return nil
}
