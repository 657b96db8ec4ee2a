package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/config"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/internal/rehearsal"
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
	cfg, err := config.Parse("examples/demo.yaml", examples.Demo, placeholderEnv(st))
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
	// The rehearsal file is the demo's with the addresses filled in.
	rf := filepath.Join(*out, "rehearsal.yaml")
	body := bytes.ReplaceAll(examples.Demo, []byte("${"+envLegacyURL+"}"), []byte(pair.LegacyURL))
	body = bytes.ReplaceAll(body, []byte("${"+envCandidateURL+"}"), []byte(pair.CandidateURL))
	// The introspection secret goes to a file only its owner reads; the rehearsal
	// file references it.
	secretFile := "introspection-secret"
	if err := os.WriteFile(filepath.Join(*out, secretFile), []byte(pair.IntrospectionClientSecret.Reveal()), 0o600); err != nil {
		return err
	}
	body = bytes.ReplaceAll(body, []byte("{env: "+envIntrospectionSecret+"}"), []byte("{file: "+secretFile+"}"))
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

// placeholderEnv resolves the demo's address variables to a placeholder, for
// reading the demo file before the stacks (and so their addresses) exist.
func placeholderEnv(st *state) func(string) string {
	return func(k string) string {
		switch k {
		case envLegacyURL, envCandidateURL:
			return "http://127.0.0.1"
		case envIntrospectionSecret:
			return "placeholder"
		}
		return st.getenv(k)
	}
}
