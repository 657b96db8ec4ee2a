package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// cmdStacks serves both embedded stacks until interrupted, and writes a
// ready-to-run rehearsal file for them, so a user can point `cutover run` (or a
// browser, or curl) at them.
func cmdStacks(ctx context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("stacks", flag.ContinueOnError)
	drift := fs.String("drift", "none", "candidate drifts: none, or NAME[=PARAM],...")
	out := fs.String("out", "out/stacks", "folder for the rehearsal file and the personas")
	legacyAddr := fs.String("legacy-addr", "127.0.0.1:0", "legacy listen address")
	candidateAddr := fs.String("candidate-addr", "127.0.0.1:0", "candidate listen address")
	fs.Usage = func() {
		fmt.Fprintln(st.stderr, "usage: cutover stacks [--drift NAMES] [--out DIR] [--legacy-addr A] [--candidate-addr A]")
		fmt.Fprintln(st.stderr, "\ndrifts of the embedded candidate:")
		for _, d := range stacks.Catalogue {
			fmt.Fprintf(st.stderr, "  %-24s %-30s %s\n", d.Name, d.Class, d.Description)
		}
		fs.PrintDefaults()
	}
	if _, err := flags(fs, st, args); err != nil {
		return err
	}
	drifts, err := stacks.ParseDrifts(*drift)
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
	pair, err := stacks.Start(ctx, stacks.Options{Population: pop, Drifts: drifts, Seed: cfg.Seed, BreakGlassTTL: demoBreakGlassTTL, LegacyAddr: *legacyAddr, CandidateAddr: *candidateAddr})
	if err != nil {
		return exitcode.With(fmt.Errorf("start embedded stacks: %w", err), exitcode.Precondition)
	}
	defer pair.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	// The rehearsal file is the demo's with the addresses filled in; the client
	// secrets go to files only their owner reads, which the rehearsal references.
	rf := filepath.Join(*out, "rehearsal.yaml")
	body := bytes.ReplaceAll(examples.Demo, []byte("${"+examples.EnvLegacyURL+"}"), []byte(pair.LegacyURL))
	body = bytes.ReplaceAll(body, []byte("${"+examples.EnvCandidateURL+"}"), []byte(pair.CandidateURL))
	env := examples.DemoEnv(pair, nil)
	for name, file := range map[string]string{examples.EnvIntrospectionSecret: "introspection-secret", examples.EnvProvisionerSecret: "provisioner-secret"} {
		if err := os.WriteFile(filepath.Join(*out, file), []byte(env(name)), 0o600); err != nil {
			return err
		}
		body = bytes.ReplaceAll(body, []byte("{env: "+name+"}"), []byte("{file: "+file+"}"))
	}
	if err := os.WriteFile(rf, body, 0o644); err != nil {
		return err
	}
	pf := filepath.Join(*out, "personas.jsonl")
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
