package report

import (
	"path"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// shot is what a failed step left to look at: its screenshot, shown small
// and linked, and its other files (the redacted DOM excerpt), linked.
type shot struct {
	Step    string // journey/step
	Side    record.Side
	Persona string
	Iter    uint64
	// What says how the step failed: its error, or the finding it raised.
	What  string
	Image string
	Files []string
}

// maxShots bounds the screenshots report.html shows: a drift that fails
// every browser sign-in must not make the page a gallery.
const maxShots = 24

// shots collects the evidence of failed steps: the examples of findings
// first (a refused browser sign-in is a LOGIN_FAILED), then the steps'
// own evidence (errors, which no finding names), each file once.
func shots(s *analysis.Summary) []shot {
	var out []shot
	seen := map[string]bool{}
	add := func(sh shot, files []string) {
		for _, f := range files {
			if !evidencePath(f) || seen[f] {
				continue
			}
			seen[f] = true
			if sh.Image == "" && strings.EqualFold(path.Ext(f), ".png") {
				sh.Image = f
			} else {
				sh.Files = append(sh.Files, f)
			}
		}
		if (sh.Image != "" || len(sh.Files) > 0) && len(out) < maxShots {
			out = append(out, sh)
		}
	}
	for _, f := range s.Findings {
		for _, ex := range f.Examples {
			if len(ex.Evidence) > 0 {
				add(shot{Step: f.Journey + "/" + f.Step, Side: record.Candidate, Persona: ex.Persona, Iter: ex.Iteration,
					What: classCheck(f) + ": legacy " + ex.Legacy + ", candidate " + ex.Candidate}, ex.Evidence)
			}
		}
	}
	for _, st := range s.Steps {
		for _, ev := range st.Evidence {
			what := ev.Error
			if what == "" {
				what = string(ev.Outcome)
			}
			add(shot{Step: st.Journey + "/" + st.Step, Side: ev.Side, Persona: ev.Persona, Iter: ev.Iteration, What: what}, ev.Files)
		}
	}
	return out
}

// evidencePath reports whether p is a file report.html may link to: a clean
// relative path inside the results folder, never a URL, an absolute path or a
// way out of the folder.
func evidencePath(p string) bool {
	return p != "" && path.Clean(p) == p && !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../") &&
		!strings.ContainsAny(p, `\:?#`) && !slices.Contains(strings.Split(p, "/"), "..")
}
