package shadow_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/run/shadow"
)

// metric returns the value of the series of name with labels, and whether
// there is one; a counter vector with no labels given sums its series.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum, found := 0.0, false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue series
				}
			}
			found = true
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			} else {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum, found
}

// waitFor polls cond until it holds or the test's deadline nears; it never
// judges how long that took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Minute)
	}
	for !cond() {
		if time.Now().After(deadline.Add(-5 * time.Second)) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFollow follows a decision log as it grows, is rotated and truncated, counting
// every line in Prometheus as it comes; when stopped it judges what it read
// and exports the disagreement rate per cause: the billing clerks' drift.
func TestFollow(t *testing.T) {
	w := newWorld(600, 7)
	pdp, _ := opaPDP(t, policy(t, billingAdmin), map[string]any{"panels": w.panels()})
	dir := t.TempDir()
	path := filepath.Join(dir, "synthetic.jsonl")
	log, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	part := func(out io.Writer, from, n uint64) {
		l := newSynthLog(w, from+n)
		l.i = from
		if _, err := io.Copy(out, l); err != nil {
			t.Fatal(err)
		}
	}
	part(log, 0, 5000)
	f, err := shadow.Parse(filepath.Join(dir, "shadow.yaml"), fmt.Appendf(nil, synthShadowFile, pdp.URL, 100), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := filepath.Join(dir, "out")
	type done struct {
		res *shadow.Result
		err error
	}
	ended := make(chan done, 1)
	go func() {
		res, err := shadow.Run(ctx, f, shadow.Options{Follow: true, Window: time.Hour, Poll: 5 * time.Millisecond,
			Metrics: shadow.NewMetrics(reg), Out: out, MaxRate: 1000})
		ended <- done{res, err}
	}()
	lines := func(n float64) func() bool {
		return func() bool { v, _ := metric(t, reg, "cutover_shadow_lines_total", nil); return v == n }
	}
	waitFor(t, "the first 5000 lines", lines(5000))
	// A line written in two parts is read once whole.
	half := newSynthLog(w, 5001)
	half.i = 5000
	whole, _ := io.ReadAll(half)
	if _, err := log.Write(whole[:20]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // several polls see half a line
	if _, err := log.Write(whole[20:]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the line written in two parts", lines(5001))
	// Rotation: the old file gets its last lines, then a new one takes its
	// place.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	part(log, 5001, 999)
	fresh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	part(fresh, 6000, 4000)
	waitFor(t, "every line of both files", lines(10000))
	// Truncated in place (copytruncate): read again from its start.
	if err := fresh.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part(fresh, 10000, 1000)
	waitFor(t, "the lines written after the truncation", lines(11000))
	if v, _ := metric(t, reg, "cutover_shadow_lines_total", map[string]string{"outcome": "over_permission"}); v == 0 {
		t.Error("no over_permission line counted while following")
	}
	if v, _ := metric(t, reg, "cutover_shadow_pdp_evaluations_total", nil); v == 0 || v >= 11000 {
		t.Errorf("cutover_shadow_pdp_evaluations_total = %g; want some, far fewer than the lines", v)
	}
	cancel()
	d := <-ended
	if d.err != nil {
		t.Fatal(d.err)
	}
	if d.res.Report.Lines != 11000 || d.res.Report.Ambiguous != 11000/5000+11000/7919 {
		t.Errorf("%s; want 11000 lines, 3 ambiguous", d.res.Report.Sentence())
	}
	// Only billing clerks and admins ask for users in the synthetic log, and
	// legacy allows admins: among the entitlements legacy denied, the resource
	// type alone picks out the clerks'.
	rate, ok := metric(t, reg, "cutover_shadow_disagreement_rate", map[string]string{"cause": "persona:resource_type=users", "class": "OVER_PERMISSION"})
	if want := float64(d.res.Report.Over) / float64(d.res.Report.Compared); !ok || rate != want {
		t.Errorf("disagreement rate of the billing clerks' cause = %g (found %t); want %g", rate, ok, want)
	}
	if v, _ := metric(t, reg, "cutover_shadow_last_verdict", map[string]string{"verdict": "fail"}); v != 1 {
		t.Error("last verdict is not fail")
	}
	if _, _, err := results.Read(out); err != nil {
		t.Errorf("the followed run's results folder: %v", err)
	}
}

// TestFollowWindows: a followed log is judged window by window, each
// window's results written over the last.
func TestFollowWindows(t *testing.T) {
	w := newWorld(100, 9)
	pdp, _ := opaPDP(t, policy(t), map[string]any{"panels": w.panels()})
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "synthetic.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if _, err := io.Copy(log, newSynthLog(w, 1000)); err != nil {
		t.Fatal(err)
	}
	f, err := shadow.Parse(filepath.Join(dir, "shadow.yaml"), fmt.Appendf(nil, synthShadowFile, pdp.URL, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ended := make(chan error, 1)
	go func() {
		_, err := shadow.Run(ctx, f, shadow.Options{Follow: true, Window: 20 * time.Millisecond, Poll: 5 * time.Millisecond,
			Metrics: shadow.NewMetrics(reg), Out: filepath.Join(dir, "out"), MaxRate: 1000})
		ended <- err
	}()
	waitFor(t, "a window judged with every line in", func() bool {
		v, _ := metric(t, reg, "cutover_shadow_lines_total", nil)
		ts, _ := metric(t, reg, "cutover_shadow_last_window_timestamp_seconds", nil)
		return v == 1000 && ts > 0
	})
	waitFor(t, "a window's results", func() bool {
		_, err := os.Stat(filepath.Join(dir, "out", shadow.ReportFile))
		return err == nil
	})
	cancel()
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
}
