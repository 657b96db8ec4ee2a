package journeys

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

// StatePolicy is what configuration tells of a side's rules for the state a
// run creates: how its lockout works and what its break-glass grants open.
// Where it says nothing, the runner learns what it can from the answers and
// leaves the rest unjudged (see record.StateSure).
type StatePolicy struct {
	// Lockout, when set, is the side's account lockout.
	Lockout *Lockout `yaml:"lockout"`
	// BreakGlassCovers says which credentials a live grant opens: GrantCovers*.
	BreakGlassCovers string `yaml:"breakglass_covers"`
}

// Lockout is a side's account lockout: Attempts sign-ins refused in a row lock
// the account for Duration. A successful sign-in resets the count.
type Lockout struct {
	Attempts int           `yaml:"attempts"`
	Duration time.Duration `yaml:"duration"`
}

// What a live break-glass grant opens (StatePolicy.BreakGlassCovers).
const (
	// GrantCoversPersona: every session of the persona, for the grant's time box.
	GrantCoversPersona = "persona"
	// GrantCoversCredential: only the credential the grant rides on (the
	// session that asked, or the token the grant issued).
	GrantCoversCredential = "credential"
)

// GrantCovers lists the values of StatePolicy.BreakGlassCovers.
var GrantCovers = []string{GrantCoversPersona, GrantCoversCredential}

// Rules of what the runner assumes where configuration is silent.
const (
	// probableLockAfter is how many sign-ins refused in a row make the next
	// refusal of the right password probably a lockout, on a side whose lockout
	// is not configured: three is below every common policy (NIST SP 800-63B
	// allows up to 100).
	probableLockAfter = 3
	// refusalMemory is how long refused sign-ins count on such a side.
	refusalMemory = time.Hour
	// expiringMargin is how near a grant's end a step may not be judged: the
	// stack's clock and the harness's, and the two sides' requests, are seconds
	// apart. A twentieth of the time box is added.
	expiringMargin = 2 * time.Second
)

// lockWords finds a lockout in a refusal's error code ("account_locked",
// "too_many_attempts", "temporarily_blocked").
var lockWords = regexp.MustCompile(`(?i)lock|too_many|temporar|blocked|suspend`)

// ledger keeps, per persona and side, the state the run created that can change
// a later decision, from what the journeys observed: break-glass grants with
// their time boxes, grant requests that got no answer, refused sign-ins and the
// lockouts they lead to. Journeys of one persona never overlap, but the two
// sides of one run at once: it is safe for concurrent use.
type ledger struct {
	mu   sync.Mutex
	held map[heldKey]*held
	// longest is, per side, the longest time box a grant was announced with:
	// how long a grant request that got no answer may have left one alive.
	longest map[record.Side]time.Duration
}

type heldKey struct {
	persona string
	side    record.Side
}

// held is one persona's state on one side.
type held struct {
	grants map[string]*heldGrant // by patient
	// refused counts the sign-ins refused in a row, the last at lastRefused;
	// lockedUntil and lockFrom are the lock a configured lockout put on.
	refused     int
	lastRefused time.Time
	// refusedFrom is the step of the last refusal: "journey/step deny".
	refusedFrom string
	lockedUntil time.Time
	lockFrom    string
}

// heldGrant is a grant the run obtained, or may have.
type heldGrant struct {
	g *adapter.Grant
	// id is a short hash of the grant, for the notes.
	id           string
	since, until time.Time // until zero: no time box announced
	// uncertain says, when set, that the request got no answer (what it got).
	uncertain string
	from      string
}

func (l *ledger) of(persona string, side record.Side) *held {
	if l.held == nil {
		l.held = make(map[heldKey]*held)
		l.longest = make(map[record.Side]time.Duration)
	}
	k := heldKey{persona, side}
	h, ok := l.held[k]
	if !ok {
		h = &held{grants: make(map[string]*heldGrant)}
		l.held[k] = h
	}
	return h
}

// state is what a record carries of the state it ran under.
type state struct {
	kind, note, from string
}

func (s state) set(f *record.Facts) {
	f.State, f.StateNote, f.StateFrom = s.kind, s.note, s.from
}

// grantState is the state of persona's grants for patient on side at now, as
// it bears on a step sent with credential s.
func (x *run) grantState(patient string, s *adapter.Session) state {
	l := &x.r.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.of(x.p.ID, x.side)
	hg, ok := h.grants[patient]
	if !ok {
		return state{}
	}
	now := x.r.now()
	if hg.uncertain != "" {
		// A grant nobody saw may live as long as the longest the side announced;
		// with none announced, for the rest of the run.
		if d := l.longest[x.side]; d > 0 && now.After(hg.since.Add(d+expiringMargin)) {
			delete(h.grants, patient)
			return state{}
		}
		return state{record.StateGrantUncertain, fmt.Sprintf("its break-glass request for %s at %s %s", patient, clock(hg.since), hg.uncertain), hg.from}
	}
	if !hg.until.IsZero() {
		margin := expiringMargin + hg.until.Sub(hg.since)/20
		switch {
		case now.After(hg.until.Add(margin)):
			delete(h.grants, patient)
			return state{}
		case now.After(hg.until.Add(-margin)):
			return state{record.StateGrantExpiring, fmt.Sprintf("its break-glass grant%s for %s ends at %s, too near to tell", ref(hg.id), patient, clock(hg.until)), hg.from}
		}
	}
	note := fmt.Sprintf("holds a break-glass grant%s for %s since %s", ref(hg.id), patient, clock(hg.since))
	if !hg.until.IsZero() {
		note += ", until " + clock(hg.until)
	}
	covers := x.r.Policy[x.side].BreakGlassCovers
	switch {
	case s != nil && s == hg.g.Session, covers == GrantCoversPersona:
		return state{record.StateGrantCovers, note, hg.from}
	case covers == GrantCoversCredential:
		return state{record.StateGrantElsewhere, note + " on another credential", hg.from}
	default:
		return state{record.StateGrantUnknown, note + " on another credential (whether it opens this one: set breakglass_covers)", hg.from}
	}
}

// granted notes a grant for patient obtained at since by step from.
func (x *run) granted(patient string, g *adapter.Grant, since time.Time, from string) {
	l := &x.r.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	hg := &heldGrant{g: g, id: g.Ref(), since: since, from: from}
	if g.TTL > 0 {
		hg.until = since.Add(g.TTL)
		l.longest[x.side] = max(l.longest[x.side], g.TTL)
	}
	l.of(x.p.ID, x.side).grants[patient] = hg
}

// grantFailed notes the answer to a grant request for patient sent at since:
// a refusal leaves no grant; an availability error may have left one.
func (x *run) grantFailed(patient string, err error, since time.Time, from string) {
	l := &x.r.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.of(x.p.ID, x.side)
	var re *adapter.RefusedError
	if errors.As(err, &re) || errors.Is(err, adapter.ErrUnsupported) {
		delete(h.grants, patient)
		return
	}
	h.grants[patient] = &heldGrant{since: since, uncertain: "got no answer: " + err.Error(), from: from + " error"}
}

// grantEnded notes that the grant for patient was ended early.
func (x *run) grantEnded(patient string) {
	l := &x.r.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.of(x.p.ID, x.side).grants, patient)
}

// lockState is the lockout state a sign-in of the persona runs under, before
// its answer: a configured lockout the run's refused sign-ins set off.
func (x *run) lockState() state {
	l := &x.r.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.of(x.p.ID, x.side)
	if now := x.r.now(); now.Before(h.lockedUntil) {
		return state{record.StateLocked, fmt.Sprintf("locked by its lockout (%d refused sign-ins in a row) until %s", h.refused, clock(h.lockedUntil)), h.lockFrom}
	}
	return state{}
}

// signedIn notes the answer to a sign-in made at now by step from: nil, or
// the refusal. On a refusal of the right password (right) it returns the state
// that explains it, if any: a lock the answer names, or, where the side's
// lockout is not configured, refusals in a row before it.
func (x *run) signedIn(err error, right bool, from string) state {
	l := &x.r.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.of(x.p.ID, x.side)
	now := x.r.now()
	if err == nil {
		h.refused, h.lockedUntil, h.lockFrom, h.refusedFrom = 0, time.Time{}, "", ""
		return state{}
	}
	var re *adapter.RefusedError
	if !errors.As(err, &re) {
		return state{} // no answer: the stack counted nothing we know of
	}
	lock := x.r.Policy[x.side].Lockout
	switch {
	case lock == nil && now.Sub(h.lastRefused) > refusalMemory:
		h.refused = 0
	case lock != nil && !h.lockedUntil.IsZero() && !now.Before(h.lockedUntil):
		// The lock ran out: the side counts afresh.
		h.refused, h.lockedUntil, h.lockFrom = 0, time.Time{}, ""
	}
	before, prevFrom := h.refused, h.refusedFrom
	h.refused++
	h.lastRefused, h.refusedFrom = now, from+" deny"
	if lock != nil && lock.Attempts > 0 && h.refused >= lock.Attempts && h.lockedUntil.IsZero() {
		h.lockedUntil, h.lockFrom = now.Add(lock.Duration), from+" deny"
	}
	if !right {
		return state{}
	}
	announced := re.Status == 423 || lockWords.MatchString(re.Reason)
	origin := cmp.Or(h.lockFrom, prevFrom, from+" deny")
	switch {
	case announced:
		return state{record.StateLockProbable, fmt.Sprintf("%s: a lockout's answer, after %d refused sign-ins in a row", re.Error(), before), origin}
	case lock == nil && before >= probableLockAfter:
		return state{record.StateLockProbable, fmt.Sprintf("refused after %d refused sign-ins in a row: probably a lockout (set lockout to judge it)", before), origin}
	}
	return state{}
}

// ref is a grant's reference in a note: " 3f2a1c", or nothing.
func ref(id string) string {
	if id == "" {
		return ""
	}
	return " " + id
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }
