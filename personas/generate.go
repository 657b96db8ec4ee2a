package personas

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// Mix is the share of each kind in a generated population. Shares need not sum to 1:
// they are normalised.
type Mix map[Kind]float64

// DefaultMix is a hospital-like population: mostly patients, a clinical staff, a few
// back-office and non-human identities.
var DefaultMix = Mix{Patient: 0.6, Clinician: 0.2, Admin: 0.04, Billing: 0.08, Service: 0.04, Auditor: 0.04}

// Counts splits n personas across the mix by largest remainder, so the counts sum to
// n exactly and every share is within one persona of n*share.
func (m Mix) Counts(n int) (map[Kind]int, error) {
	total := 0.0
	for k, s := range m {
		if !k.Valid() {
			return nil, fmt.Errorf("mix: unknown kind %q", k)
		}
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("mix: share of %s is %v; want a finite number >= 0", k, s)
		}
		total += s
	}
	if total == 0 {
		return nil, errors.New("mix: all shares are zero")
	}
	counts := make(map[Kind]int, len(Kinds))
	type rem struct {
		k Kind
		r float64
	}
	var rems []rem
	left := n
	for _, k := range Kinds {
		exact := float64(n) * m[k] / total
		c := int(math.Floor(exact))
		counts[k] = c
		left -= c
		rems = append(rems, rem{k, exact - float64(c)})
	}
	// Stable: ties go to the kind listed first in Kinds.
	for ; left > 0; left-- {
		best := 0
		for i := range rems {
			if rems[i].r > rems[best].r {
				best = i
			}
		}
		counts[rems[best].k]++
		rems[best].r = -1
	}
	return counts, nil
}

// GenerateOptions tunes a synthetic population.
type GenerateOptions struct {
	Count int
	Mix   Mix
	// LegacySHA256Share is the share of human personas whose legacy password is
	// stored as salted SHA-256 (the older cohort); the rest are bcrypt.
	LegacySHA256Share float64
	// PanelSize is how many patients each clinician is assigned.
	PanelSize int
	// UnassignedShare is the share of patients left out of every panel, the
	// break-glass targets.
	UnassignedShare float64
}

// Generate builds a population deterministically from seed: the same seed and
// options always give the same personas, byte for byte.
func Generate(seed uint64, opt GenerateOptions) (Population, error) {
	if opt.Count <= 0 {
		return Population{}, fmt.Errorf("generate: count %d; want > 0", opt.Count)
	}
	if opt.Mix == nil {
		opt.Mix = DefaultMix
	}
	if opt.PanelSize <= 0 {
		opt.PanelSize = 5
	}
	counts, err := opt.Mix.Counts(opt.Count)
	if err != nil {
		return Population{}, fmt.Errorf("generate: %w", err)
	}
	f := gofakeit.New(seed)
	pop := Population{Seed: seed}
	users := make(map[string]bool)
	for _, k := range Kinds {
		for i := range counts[k] {
			p := Persona{ID: fmt.Sprintf("%s-%05d", k, i+1), Kind: k}
			first, last := f.FirstName(), f.LastName()
			p.Name = first + " " + last
			p.Username = uniqueUsername(users, strings.ToLower(first+"."+last))
			p.Email = p.Username + "@example.org"
			p.Cohort = Cohort{Wave: fmt.Sprintf("wave-%d", 1+f.IntRange(0, 2)), HashScheme: HashBcrypt}
			switch k {
			case Patient:
				p.MRN = f.Numerify("MRN-########")
				p.BirthDate = f.DateRange(timeYear(1930), timeYear(2020)).Format("2006-01-02")
				p.Roles = []string{"patient"}
			case Clinician:
				p.NPI = f.Numerify("##########")
				p.Roles = []string{"clinician"}
				if f.Float64() < 0.5 {
					p.BreakGlass = true
					p.Roles = append(p.Roles, "breakglass-eligible")
				}
			case Admin:
				p.Roles = []string{"admin"}
			case Billing:
				p.Roles = []string{"billing-clerk"}
			case Auditor:
				p.Roles = []string{"auditor"}
			case Service:
				p.Username = fmt.Sprintf("svc-%s-%05d", []string{"lab-feed", "analytics"}[i%2], i+1)
				delete(users, p.Username)
				p.Name, p.Email = "", ""
				p.Cohort.HashScheme = ""
				p.Roles = []string{}
				if i%2 == 0 {
					p.Permissions = []string{"lab-results:write", "lab-results:read"}
				} else {
					p.Permissions = []string{"analytics:export"}
				}
			}
			if p.Human() && f.Float64() < opt.LegacySHA256Share {
				p.Cohort.HashScheme = HashSaltedSHA256
			}
			if p.Human() {
				p.Secret = NewSecret(f.Password(true, true, true, true, false, 20))
			} else {
				p.Secret = NewSecret(f.Password(true, true, true, false, false, 40))
			}
			pop.Personas = append(pop.Personas, p)
		}
	}
	assignPanels(f, &pop, opt)
	return pop, nil
}

// assignPanels gives each clinician PanelSize patients drawn from the assignable
// ones (all but the UnassignedShare at the end of the patient list).
func assignPanels(f *gofakeit.Faker, pop *Population, opt GenerateOptions) {
	var patients []string
	for _, p := range pop.Personas {
		if p.Kind == Patient {
			patients = append(patients, p.ID)
		}
	}
	assignable := len(patients) - int(math.Round(float64(len(patients))*opt.UnassignedShare))
	if assignable <= 0 {
		return
	}
	for i := range pop.Personas {
		p := &pop.Personas[i]
		if p.Kind != Clinician {
			continue
		}
		seen := make(map[int]bool)
		for len(p.Panel) < min(opt.PanelSize, assignable) {
			j := f.IntRange(0, assignable-1)
			if !seen[j] {
				seen[j] = true
				p.Panel = append(p.Panel, patients[j])
			}
		}
	}
}

func uniqueUsername(seen map[string]bool, base string) string {
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
			return r
		}
		return -1
	}, base)
	name := base
	for n := 2; seen[name]; n++ {
		name = fmt.Sprintf("%s%d", base, n)
	}
	seen[name] = true
	return name
}

func timeYear(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
