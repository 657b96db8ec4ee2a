package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/run/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// state is the process state a command sees, passed in so the whole CLI runs
// in-process in tests.
type state struct {
	args           []string
	stdout, stderr io.Writer
	getenv         func(string) string
	// environ lists the environment (nil: empty), for secret references.
	environ func() []string
	// hurry is closed by a second interrupt: a run's drain ends at once (nil:
	// never).
	hurry <-chan struct{}
}

// command is one subcommand.
type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, st *state, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "demo [--duration D] [--rate R] [--drift NAMES] [--out DIR] [--gzip]", "start the embedded stacks and run examples/demo.yaml on them", cmdDemo},
		{"run", "run FILE [--out DIR] [--gzip] [--segment I/N]", "run the rehearsal described by FILE", cmdRun},
		{"merge", "merge DIR... --out DIR", "merge the results folders of a distributed run's segments into one run", cmdMerge},
		{"canary", "canary FILE [--once] [--interval D] [--baseline DIR] [--out DIR] [--listen ADDR] [--pushgateway URL]", "run FILE as a production canary: safety rails, Prometheus metrics, compared with a baseline", cmdCanary},
		{"personas", "personas generate|import|provision ...", "generate, check or SCIM-provision a population", cmdPersonas},
		{"stacks", "stacks [--drift NAMES] [--out DIR]", "serve the embedded stacks until interrupted, with a rehearsal file for them", cmdStacks},
		{"validate", "validate FILE", "check FILE and report every problem with its line", cmdValidate},
		{"report", "report DIR [--config FILE]", "re-render every report of a results folder from its records", cmdReport},
		{"diff", "diff BASELINE NOW", "compare two results folders: new, fixed, persisting findings; latency deltas", cmdDiff},
		{"plan", "plan FILE", "print FILE's schedule and requests per endpoint, sending nothing", cmdPlan},
		{"schema", "schema", "print the JSON Schema of the rehearsal file (for editors: # yaml-language-server: $schema=PATH)", func(_ context.Context, st *state, _ []string) error {
			_, err := st.stdout.Write(config.Schema())
			return err
		}},
		{"version", "version", "print the version and the source revision it was built from", func(_ context.Context, st *state, _ []string) error {
			fmt.Fprintln(st.stdout, "cutover", fullVersion())
			return nil
		}},
	}
}

// run dispatches to a subcommand and turns its error into an exit code: the one
// place where errors become statuses.
func run(ctx context.Context, st *state) exitcode.Code {
	err := dispatch(ctx, st)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(st.stderr, "cutover: %v\n", err)
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitcode.Pass
	}
	return exitcode.Of(err)
}

func dispatch(ctx context.Context, st *state) error {
	if len(st.args) == 0 {
		usage(st.stderr)
		return exitcode.With(errors.New("no command"), exitcode.Usage)
	}
	switch st.args[0] {
	case "help", "-h", "-help", "--help":
		// Asked for: on stdout, so that it pages and greps.
		usage(st.stdout)
		return flag.ErrHelp
	case "-version", "--version":
		st.args[0] = "version"
	}
	for _, c := range commands() {
		if c.name == st.args[0] {
			return c.run(ctx, st, st.args[1:])
		}
	}
	usage(st.stderr)
	return exitcode.With(fmt.Errorf("unknown command %q", st.args[0]), exitcode.Usage)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cutover COMMAND [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-45s %s\n", c.usage, c.summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 pass, 1 parity regression, 2 usage or config error, 3 aborted,")
	fmt.Fprintln(w, "            4 precondition failed, 5 performance regression only, 6 inconclusive")
}

// flags parses a subcommand's flags; positional arguments may come before or after
// the flags. A parse error is a usage error.
func flags(fs *flag.FlagSet, st *state, args []string) ([]string, error) {
	fs.SetOutput(st.stderr)
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(st.stdout) // asked for, not an error
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitcode.With(err, exitcode.Usage)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// oneArg parses a subcommand's flags and its one positional argument, what it
// names (FILE, DIR) in the usage error when there is not exactly one.
func oneArg(fs *flag.FlagSet, st *state, args []string, what string) (string, error) {
	pos, err := flags(fs, st, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", exitcode.With(fmt.Errorf("%s takes one %s", fs.Name(), what), exitcode.Usage)
	}
	return pos[0], nil
}

// fullVersion is the version with the source revision the binary was built
// from (and whether the tree had changes), for the provenance of a run's
// evidence: "dev (revision 79d00ca1b2c3, modified, go1.26.8)".
func fullVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	var rev string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	parts := []string{}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		parts = append(parts, "revision "+rev)
		if modified {
			parts = append(parts, "modified")
		}
	}
	parts = append(parts, info.GoVersion)
	return version + " (" + strings.Join(parts, ", ") + ")"
}
