package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

// usageFooter closes the root command's help: the exit codes, which scripts
// and CI gates read.
const usageFooter = `
exit codes: 0 pass, 1 parity regression, 2 usage or config error, 3 aborted,
            4 precondition failed, 5 performance regression only, 6 inconclusive
`

// newRoot builds the command tree for one invocation. Help goes to stdout (it
// pages and greps), errors to stderr, once; an unknown command is answered
// with the nearest one ("did you mean"); every command's help names its
// arguments and gives an example.
func newRoot(st *state, started *bool) *cobra.Command {
	root := &cobra.Command{
		Use:   "cutover COMMAND",
		Short: "rehearse an identity cutover",
		Long: `cutover drives persona journeys (patient, clinician, admin, billing clerk,
service account, break-glass clinician) through a legacy and a candidate
identity stack side by side, under load, and reports every difference in who
gets in, what they can reach, how sessions behave and how fast each step is.`,
		Example: `  cutover demo                      # both reference stacks in-process, a short run, a report
  cutover validate rehearsal.yaml   # every problem of a rehearsal file, with its line
  cutover run rehearsal.yaml --duration 5m --rate 2x`,
		Version:       fullVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Flag parsing and argument checks are done; what fails from here on
		// is the command's, not its usage.
		PersistentPreRun: func(*cobra.Command, []string) { *started = true },
	}
	root.SetVersionTemplate("cutover {{.Version}}\n")
	root.SetOut(st.stdout)
	root.SetErr(st.stderr)
	// pflag writes a boolean flag as --gzip[=true|false]: true to its
	// parser, noise in a help text; blanked, the columns stay aligned.
	cobra.AddTemplateFunc("flagUsages", func(fs *pflag.FlagSet) string {
		return strings.ReplaceAll(fs.FlagUsages(), "[=true|false]", strings.Repeat(" ", len("[=true|false]")))
	})
	usage := strings.NewReplacer(".LocalFlags.FlagUsages", "flagUsages .LocalFlags", ".InheritedFlags.FlagUsages", "flagUsages .InheritedFlags").Replace(root.UsageTemplate())
	root.SetUsageTemplate(usage + usageFooter)
	root.AddCommand(demoCmd(st), runCmd(st), capacityCmd(st), mergeCmd(st), canaryCmd(st), personasCmd(st), stacksCmd(st),
		validateCmd(st), reportCmd(st), diffCmd(st), planCmd(st), shadowCmd(st),
		&cobra.Command{
			Use:   "schema",
			Short: "print the JSON Schema of the rehearsal file (for editors: # yaml-language-server: $schema=PATH)",
			Example: "  cutover schema > rehearsal.schema.json   # then, first line of the file:\n" +
				"  # yaml-language-server: $schema=rehearsal.schema.json",
			Args: noArgs,
			RunE: func(*cobra.Command, []string) error {
				_, err := st.stdout.Write(config.Schema())
				return err
			},
		},
		&cobra.Command{
			Use:     "version",
			Short:   "print the version, the source revision it was built from and the Go release",
			Example: "  cutover version   # also: cutover --version",
			Args:    noArgs,
			RunE: func(*cobra.Command, []string) error {
				fmt.Fprintln(st.stdout, "cutover", fullVersion())
				return nil
			},
		})
	return root
}

// run executes one command line and turns its error into an exit code: the
// one place where errors become statuses. Whatever fails before a command
// starts (an unknown command or flag, a missing argument, a value without its
// unit) is a usage error, exit 2.
func run(ctx context.Context, st *state) exitcode.Code {
	var started bool
	root := newRoot(st, &started)
	root.SetArgs(st.args)
	if len(st.args) == 0 {
		root.SetOut(st.stderr) // not asked for: the usage is the error's
		_ = root.Usage()
		fmt.Fprintln(st.stderr, "cutover: no command")
		return exitcode.Usage
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitcode.Pass
	}
	if !started {
		err = exitcode.With(err, exitcode.Usage)
	}
	fmt.Fprintf(st.stderr, "cutover: %v\n", strings.TrimRight(err.Error(), "\n"))
	if !started && cmd != nil {
		fmt.Fprintf(st.stderr, "see '%s --help'\n", cmd.CommandPath())
	}
	return exitcode.Of(err)
}

// noArgs refuses arguments to a command that takes none.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments (got %q)", c.Name(), args[0])
	}
	return nil
}

// argNamed wants a command's one positional argument, what it names (FILE,
// DIR) in the error when there is not exactly one.
func argNamed(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%s takes one %s", c.Name(), what)
		}
		return nil
	}
}

// durationFlag is a duration flag whose error says what to write: "20" is
// refused with "add a unit: 20s".
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%s has no unit; add one: %ss", s, s)
		}
		return fmt.Errorf("%q is not a duration (90s, 5m, 1h30m)", s)
	}
	*f.d = d
	return nil
}

func (durationFlag) Type() string { return "duration" }

// durationVar defines a duration flag with a helpful error.
func durationVar(fs *pflag.FlagSet, d *time.Duration, name string, value time.Duration, usage string) {
	*d = value
	fs.Var(durationFlag{d}, name, usage)
}

// load are the flags that reshape a rehearsal file's load on run, demo and
// canary: a run of another length, more or less of it, another seed.
type load struct {
	scaling config.Scaling
	seed    uint64
	only    string
}

// rateFlag reads --rate as config.ParseRate does.
type rateFlag struct{ sc *config.Scaling }

func (f rateFlag) String() string {
	switch {
	case f.sc == nil || f.sc.Rate == 0:
		return ""
	case f.sc.Times:
		return strconv.FormatFloat(f.sc.Rate, 'g', -1, 64) + "x"
	}
	return strconv.FormatFloat(f.sc.Rate, 'g', -1, 64)
}

func (f rateFlag) Set(s string) error {
	sc, err := config.ParseRate(s)
	if err != nil {
		return err
	}
	f.sc.Rate, f.sc.Times = sc.Rate, sc.Times
	return nil
}

func (rateFlag) Type() string { return "rate" }

func (l *load) flags(fs *pflag.FlagSet) {
	durationVar(fs, &l.scaling.Duration, "duration", 0, "run length; the profile keeps its shape (storms scale with it) (default: the file's)")
	fs.Var(rateFlag{&l.scaling}, "rate", "journeys per second of the profile's base rate, every other rate in proportion (15), or a factor of the file's rates (2x) (default: the file's)")
	fs.Uint64Var(&l.seed, "seed", 0, "seed of personas and schedule (default: the file's)")
	fs.StringVar(&l.only, "only", "", "drive one stack alone, legacy or candidate: a capacity or performance test judged on its own thresholds, nothing compared")
}

// apply reshapes cfg's load as the flags say.
func (l *load) apply(cfg *config.File) error {
	if l.seed > 0 {
		cfg.Seed = l.seed
	}
	if l.only != "" {
		cfg.Only = l.only
	}
	if l.scaling == (config.Scaling{}) && l.seed == 0 && l.only == "" {
		return nil
	}
	if err := cfg.Scale(l.scaling); err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	return nil
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
