package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
)

// TestSIGINTLeavesAPartialReport builds the binary, starts a minute-long demo,
// sends it a real SIGINT once the run is under way, and wants exit 3 and a valid
// summary.json saying aborted, with every started journey's records.
func TestSIGINTLeavesAPartialReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "demo", "--duration", "1m", "--drift", "none", "--no-browser", "--out", dir)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer kill.Stop()
	// The first progress line says the schedule is running.
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "  target ") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != int(exitcode.Aborted) {
		t.Fatalf("cutover demo after SIGINT: %v; want exit %d\nstderr:\n%s\nstdout:\n%s", err, exitcode.Aborted, log.String(), stdout.String())
	}
	s := readSummary(t, dir)
	if s.Verdict != analysis.VerdictAborted || !strings.Contains(s.Meta.Aborted, "interrupt signal received") {
		t.Errorf("summary.json: verdict %q, aborted %q; want aborted by the interrupt", s.Verdict, s.Meta.Aborted)
	}
	if s.Generator.Started == 0 || s.Generator.Scheduled >= 500 {
		t.Errorf("generator %+v; want a run stopped early, with journeys started", s.Generator)
	}
	recs, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil || int64(bytes.Count(recs, []byte("\n"))) < 2*s.Generator.Started {
		t.Errorf("records.jsonl: %d lines, %v; want at least two per started journey (%d)", bytes.Count(recs, []byte("\n")), err, s.Generator.Started)
	}
	if !strings.Contains(stdout.String(), "verdict: ABORTED") {
		t.Errorf("stdout lacks the aborted verdict:\n%s", stdout.String())
	}
}
