package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/loadgen"
)

// withLoad returns the demo file with its load section replaced and, if given,
// journeys appended to its journeys.
func withLoad(t *testing.T, load, extraJourneys string) []byte {
	t.Helper()
	s := string(readDemo(t))
	i, j := strings.Index(s, "\nload:\n"), strings.Index(s, "\nthresholds:")
	if i < 0 || j < i {
		t.Fatal("demo.yaml has no load section before thresholds")
	}
	s = s[:i] + "\nload:\n" + load + "\n" + s[j:]
	if extraJourneys != "" {
		s = strings.Replace(s, "\n# Emergency access", extraJourneys+"\n# Emergency access", 1)
	}
	return []byte(s)
}

const shiftJourney = `  - name: shift
    kinds: [clinician]
    steps: [login, probes]
    weight: 0
`

func TestProfiles(t *testing.T) {
	tests := []struct {
		load string
		want string
	}{
		{"  profile: {type: constant, rate: 20}\n  duration: 10s", "Constant{20/s}"},
		{"  profile: {type: stages, rate: 0, stages: [{duration: 10s, target: 20}, {duration: 30s, target: 20}, {duration: 25%, target: 0}]}\n  duration: 1m",
			"Stages{0/s, 10s→20/s, 30s→20/s, 15s→0/s}"},
		{"  profile: {type: spike, rate: 10, peak: 80, at: 20s, ramp: 5s, hold: 10s}\n  duration: 1m", "Spike{10/s, at 20s 5s↑ 80/s for 10s 5s↓}"},
		{"  profile: {type: sine, rate: 20, amplitude: 15, period: 1m, start: trough}\n  duration: 2m", "Sine{20/s ± 15/s every 1m0s from 1.5π}"},
		{"  profile: {type: diurnal, rate: 20, amplitude: 20}\n  duration: 4m", "Sine{20/s ± 20/s every 4m0s from 1.5π}"},
		{"  profile: {type: shift-change, rate: 5, cohort: 300, at: 25%, over: 50%, journey: shift}\n  duration: 4m", "ShiftChange{5/s + 300 within 2m0s at 1m0s}"},
		{"  profile: {type: refresh-storm, rate: 5, cohort: 200, at: 30s, over: 1m, journey: shift}\n  duration: 2m", "RefreshStorm{5/s + 200 within 1m0s at 30s}"},
	}
	for _, tt := range tests {
		f, err := Parse("demo.yaml", withLoad(t, tt.load, shiftJourney), demoEnv)
		if err != nil {
			t.Errorf("Parse(%s) = %v", tt.load, err)
			continue
		}
		if got := fmt.Sprint(f.Load.Profile.Pacer(f.Load.Duration)); got != tt.want {
			t.Errorf("Pacer() = %s; want %s", got, tt.want)
		}
	}
}

// TestStagesDefaultTheDuration: a stages profile without load.duration runs for
// the sum of its stages, as k6 does.
func TestStagesDefaultTheDuration(t *testing.T) {
	f, err := Parse("demo.yaml", withLoad(t, "  profile: {type: stages, stages: [{duration: 10s, target: 20}, {duration: 50s, target: 20}]}", ""), demoEnv)
	if err != nil {
		t.Fatal(err)
	}
	if f.Load.Duration.Seconds() != 60 {
		t.Errorf("duration = %s; want 1m0s, the stages' total", f.Load.Duration)
	}
}

// TestSurgeJourney: an explicit weight 0 is kept (the rehearsal's
// TestSurgeMix shows the shift change's extra logins go to the journey it names).
func TestSurgeJourney(t *testing.T) {
	f, err := Parse("demo.yaml", withLoad(t, "  profile: {type: shift-change, rate: 5, cohort: 300, at: 10s, over: 40s, journey: shift}\n  duration: 1m", shiftJourney), demoEnv)
	if err != nil {
		t.Fatal(err)
	}
	shift := slices.IndexFunc(f.Journeys, func(j journeys.Journey) bool { return j.Name == "shift" })
	if shift < 0 || f.Journeys[shift].Weight != 0 || f.Journeys[0].Weight != 0.75 {
		t.Fatalf("journeys %+v; want session weight 0.75 (as written), shift weight 0 (explicit, kept)", f.Journeys)
	}
	if _, ok := f.Load.Profile.Pacer(f.Load.Duration).(loadgen.Surge); !ok {
		t.Error("a shift change is not a surge")
	}
}

// TestLoadProblems breaks the load section in many ways at once: each problem is
// reported, with its line, in one error.
func TestLoadProblems(t *testing.T) {
	load := `  profile: {type: spike, rate: 10, peak: 5, at: 50s, hold: 30s, cohort: 3}
  duration: 1m
  max_delay: -1s
  pairing: sometimes
  abort: {window: 5s}
  raw:
    - endpoint: userinfo
      profile: {type: constant, rate: 1}
    - endpoint: introspection
      profile: {type: refresh-storm, rate: 1, cohort: 10, over: 10s, journey: session}
    - endpoint: client_credentials
      profile: {type: constant, rate: 900}
      legacy: {method: DELETE, path: api/whoami}
    - endpoint: jwks
      profile: {type: sine, rate: 10, amplitude: 12, period: ten, start: noon}`
	doc := withLoad(t, load, "")
	base := strings.Count(string(doc[:strings.Index(string(doc), "\nload:\n")]), "\n") + 2
	// at(k) is the file:line prefix of line k of the load section (0: "load:").
	at := func(k int) string { return fmt.Sprintf("demo.yaml:%d: ", base+k) }
	_, err := Parse("demo.yaml", doc, demoEnv)
	if err == nil {
		t.Fatal("Parse = nil; want errors")
	}
	for _, w := range []string{
		at(15) + `load.raw.3.profile.start: "ten" is not a duration (90s, 2m) or a share of the run (25%)`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse error lacks %q; got:\n%v", w, err)
		}
	}
	// The decoding error stops there; fix it and see the rest at once.
	load = strings.Replace(load, "period: ten", "period: 10s", 1)
	_, err = Parse("demo.yaml", withLoad(t, load, ""), demoEnv)
	for _, w := range []string{
		at(1) + "load.profile.cohort: is not used by a spike profile (it takes rate, peak, at, ramp, hold)",
		at(1) + "load.profile.peak: is 5; want >= the base rate 10",
		at(1) + "load.profile: its wave ends at 1m20s, after the run (load.duration 1m0s)",
		at(3) + "load.max_delay: is -1s; want >= 0",
		at(4) + `load.pairing: is "sometimes"; want simultaneous or random-order`,
		at(5) + "load.abort: sets no limit",
		at(7) + `load.raw.0.endpoint: is "userinfo"; want one of discovery, jwks, client_credentials, introspection`,
		at(10) + "load.raw.1.profile.journey: has no meaning for a raw attack",
		"load.raw.1.client_id: and client_secret are needed to call introspection",
		at(12) + "load.raw.2.profile.rate: 900/s exceeds the safety ceiling load.max_rate 200/s",
		at(13) + `load.raw.2.legacy.method: is "DELETE"; want GET, POST or HEAD`,
		at(13) + `load.raw.2.legacy.path: is "api/whoami"; want a path from the legacy base_url`,
		at(15) + "load.raw.3.profile.amplitude: is 12; want between 0 and the mean rate 10",
		at(15) + `load.raw.3.profile.start: is "noon"`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Parse error lacks %q; got:\n%v", w, err)
		}
	}
}

func TestProfileProblems(t *testing.T) {
	tests := []struct {
		load, journeys, want string
	}{
		{"  profile: {type: ramp, rate: 1}\n  duration: 1m", "", `load.profile.type: is "ramp"; want one of constant, stages, spike, sine, diurnal, shift-change, refresh-storm`},
		{"  profile: {type: refresh-storm, rate: 1, cohort: 10, over: 10s}\n  duration: 1m", "", "load.profile.journey: is missing: name the journey the refreshes run"},
		{"  profile: {type: shift-change, rate: 1, cohort: 10, over: 10s, journey: night}\n  duration: 1m", "", `load.profile.journey: "night" is not a journey of this file`},
		{"  profile: {type: shift-change, rate: 1, cohort: 3000, over: 10s}\n  duration: 1m", "", "load.profile: peaks at 601/s, which exceeds the safety ceiling load.max_rate 200/s"},
		{"  profile: {type: stages, stages: [{duration: 50%, target: 1}]}", "", "load.profile.stages.0.duration: is a share of the run, but load.duration is not set"},
		{"  profile: {type: stages, stages: []}\n  duration: 1m", "", "load.profile.stages: is empty"},
		{"  profile: {type: constant, rate: 1}\n  duration: 1m", strings.Replace(shiftJourney, "shift", "other", 1) + "", ""},
	}
	for _, tt := range tests {
		_, err := Parse("demo.yaml", withLoad(t, tt.load, tt.journeys), demoEnv)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Parse(%s) = %v; want no error", tt.load, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Parse(%s) = %v; want %q", tt.load, err, tt.want)
		}
	}
	s := regexp.MustCompile(`weight: [0-9.]+`).ReplaceAllString(string(withLoad(t, "  profile: {type: constant, rate: 1}\n  duration: 1m", "")), "weight: 0")
	if _, err := Parse("demo.yaml", []byte(s), demoEnv); err == nil || !strings.Contains(err.Error(), "journeys: every journey has weight 0: nothing to schedule") {
		t.Errorf("Parse with every weight 0 = %v; want it refused", err)
	}
}
