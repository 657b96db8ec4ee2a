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

// TestCapacitySearch searches both embedded stacks against an objective of
// p95 < 100ms for logins, the candidate's token endpoint 150ms slow: the
// candidate breaks at the first step, on that objective and that step;
// legacy, whose logins take milliseconds, never breaks on it (it passes every
// step, or the machine running the test becomes the bottleneck first, which
// the search says rather than blaming the stack). The folder has the table,
// the plot and the JSON.
func TestCapacitySearch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded stacks at several rates")
	}
	d, err := stacks.ParseDrifts("slow-token=150ms")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Listen(context.Background(), stacks.Options{Drifts: d, BreakGlassTTL: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	cfg, err := config.Parse("demo.yaml", examples.Demo, examples.DemoEnv(pair, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Load.Drain = 20 * time.Second
	cfg.Thresholds.MinSamples = 10
	cfg.Thresholds.Steps = map[string]config.StepThreshold{"session/login": {Latency: []string{"p95 < 100ms"}}}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.Serve(context.Background(), pop); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := capacity.Run(t.Context(), cfg, capacity.Options{Start: 10, Factor: 2, Max: 40, Step: 4 * time.Second, Out: out})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := capacity.Write(out, res); err != nil {
		t.Fatal(err)
	}
	t.Log(res.Sentence())
	side := map[string]capacity.SideResult{}
	for _, s := range res.Sides {
		side[s.Side] = s
	}
	c, l := side["candidate"], side["legacy"]
	switch {
	case c.Outcome == capacity.Broken:
		if c.BrokeAt != 10 || c.Highest != 0 || !strings.Contains(c.Broke, "session/login p95") || !strings.Contains(c.Broke, "> limit 100ms") {
			t.Errorf("candidate %+v; want it broken at 10/s on session/login's p95 < 100ms", c)
		}
	case c.Outcome == capacity.HarnessBound:
		t.Logf("candidate search harness-bound on this machine: %s", c.Broke)
	default:
		t.Errorf("candidate %+v; want it broken on the login objective", c)
	}
	if l.Outcome == capacity.Broken || len(l.Steps) == 0 {
		t.Errorf("legacy %+v; want it never broken on an objective its logins meet", l)
	}
	if l.Outcome == capacity.Passed && l.Highest != 40 {
		t.Errorf("legacy passed every step but its highest is %v; want 40", l.Highest)
	}
	for _, f := range []string{capacity.JSONFile, capacity.MarkdownFile, capacity.PlotFile} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, capacity.MarkdownFile))
	if !strings.Contains(string(md), res.Sentence()) || !strings.Contains(string(md), "session/login: p95 < 100ms") {
		t.Errorf("capacity.md lacks the sentence or the objective:\n%s", md)
	}
}
