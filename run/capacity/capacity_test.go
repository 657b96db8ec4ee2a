package capacity_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/run/capacity"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// searchDemo starts the embedded stacks with drifts, points the demo file at
// them, edits it and runs a capacity search with o.
func searchDemo(t *testing.T, drifts string, edit func(*config.File), o capacity.Options) (*capacity.Result, string) {
	t.Helper()
	d, err := stacks.ParseDrifts(drifts)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Listen(context.Background(), stacks.Options{Drifts: d, BreakGlassTTL: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair.Close() })
	cfg, err := config.Parse("demo.yaml", examples.Demo, examples.DemoEnv(pair, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Load.Drain = 20 * time.Second
	cfg.Thresholds.MinSamples = 10
	edit(cfg)
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.Serve(context.Background(), pop); err != nil {
		t.Fatal(err)
	}
	o.Out = t.TempDir()
	res, err := capacity.Run(t.Context(), cfg, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := capacity.Write(o.Out, res); err != nil {
		t.Fatal(err)
	}
	t.Log(res.Sentence())
	return res, o.Out
}

func sides(res *capacity.Result) map[string]capacity.SideResult {
	out := map[string]capacity.SideResult{}
	for _, s := range res.Sides {
		out[s.Side] = s
	}
	return out
}

// TestCapacityKnee: the candidate's token endpoint serves 40 requests a
// second, one at a time (token-capacity=40), and a journey asks it about four
// times: the candidate breaks p95 < 300ms at a lower rate than legacy, whose
// steps take milliseconds, and the search names POST /token as what broke
// first. The folder has the table, the plot and the JSON.
func TestCapacityKnee(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded stacks at several rates")
	}
	res, out := searchDemo(t, "token-capacity=40", func(cfg *config.File) {
		cfg.Thresholds.Latency = []string{"p95 < 300ms"}
	}, capacity.Options{Start: 5, Factor: 2, Max: 40, Step: 4 * time.Second})
	s := sides(res)
	c, l := s["candidate"], s["legacy"]
	if c.Outcome == capacity.HarnessBound || l.Outcome == capacity.HarnessBound && l.BrokeAt <= c.BrokeAt {
		// A loaded machine: the search says so, and gives no ratio from a floor.
		t.Logf("harness-bound on this machine: candidate %q, legacy %q", c.Broke, l.Broke)
		if res.Ratio != 0 {
			t.Errorf("ratio %v from a harness-bound search", res.Ratio)
		}
		return
	}
	legacyKnee := l.BrokeAt
	if l.Outcome == capacity.Passed {
		legacyKnee = 2 * 40 // above the search's ceiling
	}
	if c.Outcome != capacity.Broken || c.BrokeAt >= legacyKnee || !strings.HasPrefix(c.Broke, "POST /token first: ") || !strings.Contains(c.Broke, "> limit 300ms") {
		t.Errorf("candidate %+v, legacy %+v; want the candidate broken below legacy's knee, on POST /token", c, l)
	}
	if l.Outcome == capacity.Broken && l.Highest <= c.Highest {
		t.Errorf("legacy holds %v/s, the candidate %v/s; want legacy higher", l.Highest, c.Highest)
	}
	for _, f := range []string{capacity.JSONFile, capacity.MarkdownFile, capacity.PlotFile} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, capacity.MarkdownFile))
	if !strings.Contains(string(md), res.Sentence()) || !strings.Contains(string(md), "p95 < 300ms") {
		t.Errorf("capacity.md lacks the sentence or the objective:\n%s", md)
	}
}

// TestCapacityHarnessBound: a generator allowed one journey in flight cannot
// keep 20 journeys a second on schedule whatever the stack: the search says
// the harness was the bottleneck, not that legacy broke.
func TestCapacityHarnessBound(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded stacks")
	}
	res, _ := searchDemo(t, "none", func(cfg *config.File) {
		cfg.Thresholds.Latency = []string{"p95 < 5s"}
		cfg.Load.MaxInFlight = 1
		cfg.Load.MaxDelay = 10 * time.Millisecond
	}, capacity.Options{Start: 20, Factor: 2, Max: 20, Step: 3 * time.Second, Sides: []string{"legacy"}})
	l := sides(res)["legacy"]
	if l.Outcome != capacity.HarnessBound || !strings.Contains(l.Broke, "this machine, not the stack, was the bottleneck") {
		t.Errorf("legacy %+v; want the step harness-bound", l)
	}
	if !strings.Contains(res.Sentence(), "the harness, not the stack, was the bottleneck") {
		t.Errorf("sentence %q does not say the harness was the bottleneck", res.Sentence())
	}
}
