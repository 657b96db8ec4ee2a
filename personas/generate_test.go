package personas

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func mustGenerate(t testing.TB, seed uint64, opt GenerateOptions) Population {
	t.Helper()
	pop, err := Generate(seed, opt)
	if err != nil {
		t.Fatalf("Generate(%d, %+v) = %v", seed, opt, err)
	}
	return pop
}

func TestGenerateDeterministic(t *testing.T) {
	opt := GenerateOptions{Count: 500, LegacySHA256Share: 0.2, UnassignedShare: 0.2}
	for _, seed := range []uint64{0, 7, 1 << 63} {
		a, b := mustGenerate(t, seed, opt), mustGenerate(t, seed, opt)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("Generate(%d) twice: JSON differs", seed)
		}
		for i := range a.Personas {
			if got, want := a.Personas[i].Secret.Reveal(), b.Personas[i].Secret.Reveal(); got != want {
				t.Fatalf("Generate(%d) twice: persona %d secret differs", seed, i)
			}
		}
	}
	a, b := mustGenerate(t, 7, opt), mustGenerate(t, 8, opt)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		t.Errorf("Generate(7) and Generate(8) give the same JSON")
	}
	same := 0
	for i := range a.Personas {
		if a.Personas[i].Secret.Reveal() == b.Personas[i].Secret.Reveal() {
			same++
		}
	}
	if same > 0 {
		t.Errorf("Generate(7) and Generate(8) share %d secrets; want 0", same)
	}
}

// within reports whether got/n is within tol of want.
func within(got, n int, want, tol float64) bool {
	return math.Abs(float64(got)/float64(n)-want) <= tol
}

func TestGenerateMixShares(t *testing.T) {
	const n = 10_000
	tests := []struct {
		name string
		mix  Mix
	}{
		{"default", nil},
		{"unnormalised", Mix{Patient: 3, Clinician: 1, Service: 1}},
		{"odd shares", Mix{Patient: 0.333, Clinician: 0.333, Admin: 0.001, Billing: 0.111, Service: 0.111, Auditor: 0.111}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pop := mustGenerate(t, 42, GenerateOptions{Count: n, Mix: tt.mix})
			if got := len(pop.Personas); got != n {
				t.Fatalf("len(Personas) = %d; want %d", got, n)
			}
			mix := tt.mix
			if mix == nil {
				mix = DefaultMix
			}
			total := 0.0
			for _, s := range mix {
				total += s
			}
			for _, k := range Kinds {
				if got, want := len(pop.ByKind(k)), mix[k]/total; !within(got, n, want, 0.01) {
					t.Errorf("share of %s = %d/%d; want %.3f ± 0.01", k, got, n, want)
				}
			}
		})
	}
}

func TestGenerateCohortShares(t *testing.T) {
	const n = 10_000
	waves := []Wave{{"pilot", 0.05}, {"bulk", 0.7}, {"stragglers", 0.25}}
	pop := mustGenerate(t, 3, GenerateOptions{Count: n, Waves: waves, LegacySHA256Share: 0.3})
	byWave := map[string]int{}
	sha, humans := 0, 0
	for _, p := range pop.Personas {
		byWave[p.Cohort.Wave]++
		if p.Human() {
			humans++
			if p.Cohort.HashScheme == HashSaltedSHA256 {
				sha++
			}
		} else if p.Cohort.HashScheme != "" {
			t.Errorf("%s: hash scheme %q; want none for a service account", p.ID, p.Cohort.HashScheme)
		}
	}
	for _, w := range waves {
		if got := byWave[w.Name]; !within(got, n, w.Share, 0.01) {
			t.Errorf("share of wave %s = %d/%d; want %.2f ± 0.01", w.Name, got, n, w.Share)
		}
	}
	if len(byWave) != len(waves) {
		t.Errorf("waves = %v; want only %v", byWave, waves)
	}
	if !within(sha, humans, 0.3, 0.01) {
		t.Errorf("share of %s = %d/%d; want 0.30 ± 0.01", HashSaltedSHA256, sha, humans)
	}
}

func TestGenerateRelationships(t *testing.T) {
	tests := []struct {
		name string
		opt  GenerateOptions
	}{
		{"default", GenerateOptions{Count: 10_000, UnassignedShare: 0.1}},
		{"big panels", GenerateOptions{Count: 300, PanelSize: 40, UnassignedShare: 0.5, BreakGlassShare: 0.2}},
		{"few patients", GenerateOptions{Count: 20, Mix: Mix{Patient: 2, Clinician: 18}, PanelSize: 5, UnassignedShare: 0.01}},
		{"everyone assigned", GenerateOptions{Count: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pop := mustGenerate(t, 11, tt.opt)
			if err := pop.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			patients, clinicians := pop.ByKind(Patient), pop.ByKind(Clinician)
			onPanel := map[string]bool{}
			eligible := 0
			panelSize := cmpOr(tt.opt.PanelSize, DefaultPanelSize)
			for _, c := range clinicians {
				if got, want := len(c.Panel), min(panelSize, len(patients)-unassignedWant(tt.opt, len(patients))); got < want {
					t.Errorf("%s: panel of %d patients; want at least %d", c.ID, got, want)
				}
				for _, pid := range c.Panel {
					onPanel[pid] = true
				}
				if got, want := c.BreakGlass, slices.Contains(c.Roles, "breakglass-eligible"); got != want {
					t.Errorf("%s: BreakGlass = %t, breakglass-eligible role %t; want both alike", c.ID, got, want)
				}
				if c.BreakGlass {
					eligible++
				}
			}
			for _, p := range patients {
				if len(p.Panel) > 0 || p.BreakGlass || !slices.Equal(p.Roles, []string{"patient"}) {
					t.Errorf("%s: panel %v, break-glass %t, roles %v; want a patient that sees only itself", p.ID, p.Panel, p.BreakGlass, p.Roles)
				}
			}
			if got, want := len(patients)-len(onPanel), unassignedWant(tt.opt, len(patients)); got != want {
				t.Errorf("patients on no panel = %d; want %d", got, want)
			}
			if tt.opt.UnassignedShare > 0 && len(patients)-len(onPanel) == 0 {
				t.Errorf("no patient is on no panel; want break-glass targets")
			}
			share := cmpOr(tt.opt.BreakGlassShare, DefaultBreakGlassShare)
			if want := max(1, int(math.Round(float64(len(clinicians))*share))); eligible != want {
				t.Errorf("break-glass eligible clinicians = %d of %d; want %d", eligible, len(clinicians), want)
			}
			for _, p := range pop.Personas {
				if p.Kind != Clinician && p.BreakGlass {
					t.Errorf("%s: %s eligible for break-glass; want clinicians only", p.ID, p.Kind)
				}
			}
		})
	}
}

func unassignedWant(opt GenerateOptions, patients int) int {
	n := int(math.Round(float64(patients) * opt.UnassignedShare))
	if opt.UnassignedShare > 0 {
		n = max(n, 1)
	}
	return min(n, patients-1)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func TestGenerateServiceAccounts(t *testing.T) {
	pop := mustGenerate(t, 5, GenerateOptions{Count: 1000})
	want := map[string][]string{
		"lab-feed":  {"lab-results:read", "lab-results:write"},
		"analytics": {"analytics:export"},
	}
	seen := map[string]int{}
	for _, s := range pop.ByKind(Service) {
		feed := strings.TrimPrefix(strings.TrimRight(s.Username, "0123456789"), "svc-")
		feed = strings.TrimSuffix(feed, "-")
		if got := s.Permissions; !slices.Equal(got, want[feed]) {
			t.Errorf("%s (%s): permissions %v; want %v", s.ID, s.Username, got, want[feed])
		}
		if len(s.Roles) != 0 || s.Name != "" || s.Email != "" {
			t.Errorf("%s: roles %v, name %q, email %q; want none for a service account", s.ID, s.Roles, s.Name, s.Email)
		}
		seen[feed]++
	}
	if seen["lab-feed"] == 0 || seen["analytics"] == 0 {
		t.Errorf("service accounts by feed = %v; want both lab-feed and analytics", seen)
	}
}

func TestGenerateIdentifiers(t *testing.T) {
	pop := mustGenerate(t, 9, GenerateOptions{Count: 10_000})
	mrn := regexp.MustCompile(`^MRN-[0-9]{8}$`)
	secrets := map[string]bool{}
	for _, p := range pop.Personas {
		if p.Kind == Patient {
			if !mrn.MatchString(p.MRN) {
				t.Errorf("%s: MRN %q; want MRN-########", p.ID, p.MRN)
			}
			if p.BirthDate < "1930-01-01" || p.BirthDate > "2020-12-31" {
				t.Errorf("%s: birth date %q; want 1930 to 2020", p.ID, p.BirthDate)
			}
		}
		if p.Kind == Clinician {
			if msg := checkNPI(p.NPI); msg != "" || (p.NPI[0] != '1' && p.NPI[0] != '2') {
				t.Errorf("%s: NPI %q: %s; want 10 digits from 1 or 2 with a valid check digit", p.ID, p.NPI, msg)
			}
		}
		s := p.Secret.Reveal()
		if secrets[s] {
			t.Errorf("%s: secret already used by another persona", p.ID)
		}
		secrets[s] = true
		var lower, upper, digit bool
		for _, r := range s {
			lower = lower || unicode.IsLower(r)
			upper = upper || unicode.IsUpper(r)
			digit = digit || unicode.IsDigit(r)
		}
		if len(s) < 20 || !lower || !upper || !digit {
			t.Errorf("%s: secret of %d characters (lower %t, upper %t, digit %t); want >= 20 with all three", p.ID, len(s), lower, upper, digit)
		}
	}
	// Validate checks uniqueness of ids, usernames, MRNs and NPIs and the email form.
	if err := pop.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestGenerateOptionErrors(t *testing.T) {
	tests := []struct {
		opt  GenerateOptions
		want string
	}{
		{GenerateOptions{}, "generate: count 0; want > 0"},
		{GenerateOptions{Count: 10, Mix: Mix{"nurse": 1}}, `generate: mix: unknown kind "nurse"`},
		{GenerateOptions{Count: 10, Mix: Mix{Patient: 0}}, "generate: mix: all shares are zero"},
		{GenerateOptions{Count: 10, Mix: Mix{Patient: -1}}, "generate: mix: share 0 is -1; want a finite number >= 0"},
		{GenerateOptions{Count: 10, LegacySHA256Share: 1.5}, "generate: legacy SHA-256 share is 1.5; want 0 to 1"},
		{GenerateOptions{Count: 10, UnassignedShare: math.NaN()}, "generate: unassigned share is NaN; want 0 to 1"},
		{GenerateOptions{Count: 10, Waves: []Wave{{"", 1}}}, "generate: waves: wave 0 has no name"},
		{GenerateOptions{Count: 10, Waves: []Wave{{"w", 0}}}, "generate: waves: all shares are zero"},
	}
	for _, tt := range tests {
		_, err := Generate(1, tt.opt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Generate(1, %+v) = %v; want %q", tt.opt, err, tt.want)
		}
	}
}

func TestCheckNPI(t *testing.T) {
	tests := []struct{ npi, want string }{
		{"1234567893", ""}, // the CMS worked example
		{"1245319599", ""},
		{"1234567890", `"1234567890" has check digit 0; want 3`},
		{"123456789", `"123456789" is not 10 digits`},
		{"12345678a3", `"12345678a3" is not 10 digits`},
	}
	for _, tt := range tests {
		if got := checkNPI(tt.npi); got != tt.want {
			t.Errorf("checkNPI(%q) = %q; want %q", tt.npi, got, tt.want)
		}
	}
}

func TestMixCounts(t *testing.T) {
	tests := []struct {
		mix  Mix
		n    int
		want map[Kind]int
	}{
		{Mix{Patient: 1, Clinician: 1, Admin: 1}, 10, map[Kind]int{Patient: 4, Clinician: 3, Admin: 3}},
		{DefaultMix, 1, map[Kind]int{Patient: 1}},
		{Mix{Service: 1}, 0, map[Kind]int{}},
	}
	for _, tt := range tests {
		got, err := tt.mix.Counts(tt.n)
		if err != nil {
			t.Fatalf("%v.Counts(%d) = %v", tt.mix, tt.n, err)
		}
		for _, k := range Kinds {
			if got[k] != tt.want[k] {
				t.Errorf("%v.Counts(%d)[%s] = %d; want %d", tt.mix, tt.n, k, got[k], tt.want[k])
			}
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Generate(1, GenerateOptions{Count: n, UnassignedShare: 0.1, LegacySHA256Share: 0.3}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
