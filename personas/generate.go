package personas

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// Mix is the share of each kind in a generated population. Counts normalises the
// shares; a mix a user gives is checked with Validate, which wants them to add up
// to 1.
type Mix map[Kind]float64

// MixTolerance is how far from 1 the shares of a valid Mix may add up to: room
// for the rounding of decimal shares (0.1+0.2), none for a mistake.
const MixTolerance = 1e-9

// Validate reports, all at once, what is wrong with m as a mix a user gave: a kind
// that is not one of Kinds, a share that is not a finite number >= 0, shares that
// do not add up to 1 within MixTolerance (saying what they add up to).
func (m Mix) Validate() error {
	var errs []error
	kinds := slices.Collect(maps.Keys(m))
	slices.SortFunc(kinds, func(a, b Kind) int {
		// Known kinds in their order, then the others by name: a stable message.
		ia, ib := slices.Index(Kinds, a), slices.Index(Kinds, b)
		if ia < 0 && ib < 0 {
			return strings.Compare(string(a), string(b))
		}
		if ia < 0 || ib < 0 {
			return ib - ia
		}
		return ia - ib
	})
	sum := 0.0
	for _, k := range kinds {
		s := m[k]
		switch {
		case !k.Valid():
			errs = append(errs, fmt.Errorf("mix: unknown kind %q; want one of %s", k, kindList()))
		case s < 0 || math.IsNaN(s) || math.IsInf(s, 0):
			errs = append(errs, fmt.Errorf("mix: %s share is %v; want a number from 0 to 1", k, s))
		default:
			sum += s
		}
	}
	if len(errs) == 0 && math.Abs(sum-1) > MixTolerance {
		errs = append(errs, fmt.Errorf("mix: the shares add up to %.10g; want 1 (within %g)", sum, MixTolerance))
	}
	return errors.Join(errs...)
}

// DefaultMix is a hospital-like population: mostly patients, a clinical staff, a few
// back-office and non-human identities.
var DefaultMix = Mix{Patient: 0.6, Clinician: 0.2, Admin: 0.04, Billing: 0.08, Service: 0.04, Auditor: 0.04}

// Counts splits n personas across the mix by largest remainder, so the counts sum to
// n exactly and every share is within one persona of n*share.
func (m Mix) Counts(n int) (map[Kind]int, error) {
	shares := make([]float64, len(Kinds))
	for k, s := range m {
		if !k.Valid() {
			return nil, fmt.Errorf("mix: unknown kind %q", k)
		}
		shares[slices.Index(Kinds, k)] = s
	}
	split, err := apportion(n, shares)
	if err != nil {
		return nil, fmt.Errorf("mix: %w", err)
	}
	counts := make(map[Kind]int, len(Kinds))
	for i, k := range Kinds {
		counts[k] = split[i]
	}
	return counts, nil
}

// apportion splits n across shares by largest remainder: the parts sum to n and each
// is within one of n*share/total. Ties go to the earlier share.
func apportion(n int, shares []float64) ([]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("%d to split; want >= 0", n)
	}
	total := 0.0
	for i, s := range shares {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("share %d is %v; want a finite number >= 0", i, s)
		}
		total += s
	}
	if total == 0 {
		return nil, errors.New("all shares are zero")
	}
	parts := make([]int, len(shares))
	rems := make([]float64, len(shares))
	left := n
	for i, s := range shares {
		exact := float64(n) * s / total
		parts[i] = int(math.Floor(exact))
		rems[i] = exact - float64(parts[i])
		left -= parts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rems {
			if rems[i] > rems[best] {
				best = i
			}
		}
		parts[best]++
		rems[best] = -1
	}
	return parts, nil
}

// Wave is a migration wave and the share of the population that moves in it.
type Wave struct {
	Name  string
	Share float64
}

// DefaultWaves moves a small pilot first, then the bulk in two steps.
var DefaultWaves = []Wave{{"wave-1", 0.1}, {"wave-2", 0.3}, {"wave-3", 0.6}}

// DefaultBreakGlassShare is the share of clinicians eligible for break-glass when
// GenerateOptions leaves it zero.
const DefaultBreakGlassShare = 0.5

// DefaultPanelSize is the smallest panel of a clinician when GenerateOptions leaves
// it zero.
const DefaultPanelSize = 5

// GenerateOptions tunes a synthetic population. The zero value of a field takes the
// default named in its comment.
type GenerateOptions struct {
	// Count is how many personas to generate; it must be > 0.
	Count int
	// Mix is the share of each kind (default DefaultMix).
	Mix Mix
	// Waves are the migration waves and their shares (default DefaultWaves). Every
	// kind is spread across the waves in these shares.
	Waves []Wave
	// LegacySHA256Share is the share of human personas, within each kind, whose legacy
	// password is stored as salted SHA-256 (the older cohort); the rest are bcrypt.
	LegacySHA256Share float64
	// PanelSize is the smallest number of patients assigned to each clinician
	// (default DefaultPanelSize). Panels grow past it when every assignable patient
	// would not otherwise be on a panel.
	PanelSize int
	// UnassignedShare is the share of patients on no panel at all: the break-glass
	// targets. When it is > 0 there is at least one such patient.
	UnassignedShare float64
	// BreakGlassShare is the share of clinicians eligible for break-glass (default
	// DefaultBreakGlassShare); when there are clinicians, at least one is eligible.
	BreakGlassShare float64
}

// Generate builds a population deterministically from seed: the same seed and
// options always give the same personas, byte for byte, secrets included; another
// seed gives other personas. Shares of kinds, waves, hash schemes, break-glass
// eligibility and unassigned patients are exact up to rounding, not drawn at random.
func Generate(seed uint64, opt GenerateOptions) (Population, error) {
	if opt.Count <= 0 {
		return Population{}, fmt.Errorf("generate: count %d; want > 0", opt.Count)
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"legacy SHA-256 share", opt.LegacySHA256Share}, {"unassigned share", opt.UnassignedShare}, {"break-glass share", opt.BreakGlassShare}} {
		if !(s.v >= 0 && s.v <= 1) {
			return Population{}, fmt.Errorf("generate: %s is %v; want 0 to 1", s.name, s.v)
		}
	}
	if opt.Mix == nil {
		opt.Mix = DefaultMix
	}
	if opt.Waves == nil {
		opt.Waves = DefaultWaves
	}
	if opt.PanelSize <= 0 {
		opt.PanelSize = DefaultPanelSize
	}
	if opt.BreakGlassShare == 0 {
		opt.BreakGlassShare = DefaultBreakGlassShare
	}
	counts, err := opt.Mix.Counts(opt.Count)
	if err != nil {
		return Population{}, fmt.Errorf("generate: %w", err)
	}
	// gofakeit.New(0) would seed from crypto/rand; build the source ourselves so
	// every seed, 0 included, is reproducible.
	g := &generator{
		f:         gofakeit.NewFaker(rand.NewPCG(seed, seed), false),
		usernames: make(map[string]bool),
		unique:    make(map[string]bool),
	}
	pop := Population{Seed: seed, Personas: make([]Persona, 0, opt.Count)}
	for _, k := range Kinds {
		first := len(pop.Personas)
		for i := range counts[k] {
			pop.Personas = append(pop.Personas, g.persona(k, i))
		}
		group := pop.Personas[first:]
		if err := g.cohorts(group, opt); err != nil {
			return Population{}, fmt.Errorf("generate: %w", err)
		}
		if k == Clinician {
			g.breakGlass(group, opt.BreakGlassShare)
		}
	}
	g.panels(&pop, opt)
	return pop, nil
}

// generator holds the random source and what must stay unique across a population.
type generator struct {
	f         *gofakeit.Faker
	usernames map[string]bool
	unique    map[string]bool // MRNs, NPIs and secrets, prefixed by what they are
}

// persona draws the i-th persona of kind k, without its cohort and relationships.
func (g *generator) persona(k Kind, i int) Persona {
	p := Persona{ID: fmt.Sprintf("%s-%05d", k, i+1), Kind: k, Roles: []string{}}
	if k == Service {
		feed := []string{"lab-feed", "analytics"}[i%2]
		p.Username = fmt.Sprintf("svc-%s-%05d", feed, i+1)
		if feed == "lab-feed" {
			p.Permissions = []string{"lab-results:read", "lab-results:write"}
		} else {
			p.Permissions = []string{"analytics:export"}
		}
		p.Secret = NewSecret(g.draw("secret:", func() string { return g.f.Password(true, true, true, false, false, 40) }))
		return p
	}
	first, last := g.f.FirstName(), g.f.LastName()
	p.Name = first + " " + last
	p.Username = g.username(strings.ToLower(first + "." + last))
	p.Email = p.Username + "@example.org"
	switch k {
	case Patient:
		p.MRN = g.draw("mrn:", func() string { return g.f.Numerify("MRN-########") })
		p.BirthDate = g.f.DateRange(timeYear(1930), timeYear(2021)).Format(time.DateOnly)
		p.Roles = []string{"patient"}
	case Clinician:
		p.NPI = g.draw("npi:", func() string {
			first9 := g.f.Numerify(string(rune('1'+g.f.IntN(2))) + "########")
			return first9 + string(npiCheckDigit(first9))
		})
		p.Roles = []string{"clinician"}
	case Admin:
		p.Roles = []string{"admin"}
	case Billing:
		p.Roles = []string{"billing-clerk"}
	case Auditor:
		p.Roles = []string{"auditor"}
	}
	p.Secret = NewSecret(g.draw("secret:", func() string { return g.f.Password(true, true, true, true, false, 20) }))
	return p
}

// draw calls next until it returns a value not drawn before under the same prefix.
func (g *generator) draw(prefix string, next func() string) string {
	for {
		v := next()
		if !g.unique[prefix+v] {
			g.unique[prefix+v] = true
			return v
		}
	}
}

// username makes base a unique login name of lowercase letters, digits and dots.
func (g *generator) username(base string) string {
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
			return r
		}
		return -1
	}, base)
	if strings.Trim(base, ".") == "" {
		base = "user"
	}
	name := base
	for n := 2; g.usernames[name]; n++ {
		name = fmt.Sprintf("%s%d", base, n)
	}
	g.usernames[name] = true
	return name
}

// cohorts spreads one kind's personas across the waves and, for humans, the hash
// schemes, in exact shares and in random order.
func (g *generator) cohorts(group []Persona, opt GenerateOptions) error {
	shares := make([]float64, len(opt.Waves))
	for i, w := range opt.Waves {
		if w.Name == "" {
			return fmt.Errorf("waves: wave %d has no name", i)
		}
		shares[i] = w.Share
	}
	split, err := apportion(len(group), shares)
	if err != nil {
		return fmt.Errorf("waves: %w", err)
	}
	order := g.perm(len(group))
	for w, n := range split {
		for _, j := range order[:n] {
			group[j].Cohort.Wave = opt.Waves[w].Name
		}
		order = order[n:]
	}
	if len(group) == 0 || !group[0].Human() {
		return nil
	}
	sha := int(math.Round(float64(len(group)) * opt.LegacySHA256Share))
	for rank, j := range g.perm(len(group)) {
		group[j].Cohort.HashScheme = HashBcrypt
		if rank < sha {
			group[j].Cohort.HashScheme = HashSaltedSHA256
		}
	}
	return nil
}

// breakGlass makes a share of the clinicians, at least one, eligible for break-glass.
func (g *generator) breakGlass(clinicians []Persona, share float64) {
	n := max(1, int(math.Round(float64(len(clinicians))*share)))
	for _, j := range g.perm(len(clinicians))[:min(n, len(clinicians))] {
		clinicians[j].BreakGlass = true
		clinicians[j].Roles = append(clinicians[j].Roles, "breakglass-eligible")
	}
}

// panels leaves UnassignedShare of the patients on no panel and puts every other
// patient on at least one clinician's panel, each panel at least PanelSize long
// when there are enough assignable patients.
func (g *generator) panels(pop *Population, opt GenerateOptions) {
	var patients []string
	var clinicians []*Persona
	for i := range pop.Personas {
		switch p := &pop.Personas[i]; p.Kind {
		case Patient:
			patients = append(patients, p.ID)
		case Clinician:
			clinicians = append(clinicians, p)
		}
	}
	if len(patients) == 0 || len(clinicians) == 0 {
		return
	}
	unassigned := int(math.Round(float64(len(patients)) * opt.UnassignedShare))
	if opt.UnassignedShare > 0 {
		unassigned = max(unassigned, 1)
	}
	// Every clinician keeps a panel: at least one patient stays assignable.
	unassigned = min(unassigned, len(patients)-1)
	var assignable []string
	for _, j := range g.perm(len(patients))[unassigned:] {
		assignable = append(assignable, patients[j])
	}
	onPanel := make([]map[string]bool, len(clinicians))
	for c := range clinicians {
		onPanel[c] = make(map[string]bool)
	}
	// Deal first, so that no assignable patient is left out by chance.
	for j, pid := range assignable {
		onPanel[j%len(clinicians)][pid] = true
	}
	size := min(opt.PanelSize, len(assignable))
	for c, p := range clinicians {
		for len(onPanel[c]) < size {
			onPanel[c][assignable[g.f.IntN(len(assignable))]] = true
		}
		p.Panel = make([]string, 0, len(onPanel[c]))
		for pid := range onPanel[c] {
			p.Panel = append(p.Panel, pid)
		}
		slices.Sort(p.Panel)
	}
}

// perm returns a random permutation of 0..n-1 drawn from the generator's source.
func (g *generator) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	g.f.ShuffleInts(p)
	return p
}

func timeYear(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
