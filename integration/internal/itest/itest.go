// Package itest holds what the integration tests of third-party providers share:
// the environment of a rehearsal file, throwaway secrets, running a rehearsal,
// the check that a results folder holds no secret of the run, and the sample
// reports they keep under examples/.
package itest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

// Env looks variables up in m, as a rehearsal file's environment.
func Env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Secret returns a fresh random secret.
func Secret(t testing.TB) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NoSecrets fails t when any file under dir holds one of secrets.
func NoSecrets(t testing.TB, dir string, secrets []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret of the run", filepath.Base(path))
				return nil
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// WriteSample copies a run's report.md and summary.json from out to the
// examples folder dir.
func WriteSample(t testing.TB, out, dir string) {
	t.Helper()
	for _, name := range []string{results.MarkdownFile, results.SummaryFile} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %s and %s to %s", results.MarkdownFile, results.SummaryFile, dir)
}

// Rehearse runs cfg into a fresh folder, with pop when not nil, and returns
// its summary and folder; a run that fails or aborts fails t, with its log.
func Rehearse(t testing.TB, cfg *config.File, pop *personas.Population) (*analysis.Summary, string) {
	t.Helper()
	out := t.TempDir()
	var log bytes.Buffer
	sum, err := rehearsal.Run(t.Context(), cfg, rehearsal.Options{Out: out, Log: &log, Version: "test", Population: pop})
	if err != nil {
		t.Fatalf("rehearsal.Run: %v\n%s", err, log.String())
	}
	if sum.Meta.Aborted != "" {
		t.Fatalf("run aborted: %s\n%s", sum.Meta.Aborted, log.String())
	}
	return sum, out
}
