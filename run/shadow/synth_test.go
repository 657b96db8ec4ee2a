package shadow_test

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/cutover-dev/cutover/internal/splitmix"
)

// A synthetic production: subjects of every role in three tenants, four
// partner organisations and three migration waves, each asking a few
// questions again and again (its own record, its panel's notes, the claims
// list), as real traffic does; a log of any length is generated line by line
// on demand, never held in memory, and the same seed gives the same log.

// synthSubject is one subject of the synthetic production.
type synthSubject struct {
	id, role, tenant, partner, wave string
	panel                           []string
}

// world is the synthetic production's subjects and the clinicians' panels.
type world struct {
	subjects []synthSubject
	patients []string
	seed     uint64
}

var (
	synthTenants  = []string{"north", "south", "east"}
	synthPartners = []string{"carefirst", "medibill", "healthnet", "direct"}
	synthWaves    = []string{"wave-1", "wave-2", "wave-3"}
)

func draw(seed uint64, parts ...uint64) uint64 {
	h := splitmix.Mix64(seed)
	for _, p := range parts {
		h = splitmix.Mix64(h ^ p)
	}
	return h
}

// newWorld builds n subjects: 60% patients, 20% clinicians (a panel of 5
// patients each), 8% billing clerks, 6% admins, 6% auditors.
func newWorld(n int, seed uint64) *world {
	w := &world{seed: seed}
	for i := range n {
		role := "patient"
		switch share := i % 50; {
		case share >= 30 && share < 40:
			role = "clinician"
		case share >= 40 && share < 44:
			role = "billing-clerk"
		case share >= 44 && share < 47:
			role = "admin"
		case share >= 47:
			role = "auditor"
		}
		h := draw(seed, uint64(i))
		s := synthSubject{id: fmt.Sprintf("u%06d", i), role: role, tenant: synthTenants[h%3], partner: synthPartners[(h>>8)%4], wave: synthWaves[(h>>16)%3]}
		if role == "patient" {
			w.patients = append(w.patients, s.id)
		}
		w.subjects = append(w.subjects, s)
	}
	for i := range w.subjects {
		if s := &w.subjects[i]; s.role == "clinician" {
			for k := range 5 {
				s.panel = append(s.panel, w.patients[draw(seed, uint64(i), uint64(k), 1)%uint64(len(w.patients))])
			}
		}
	}
	return w
}

// panels is the candidate PDP's data: each clinician's panel.
func (w *world) panels() map[string]any {
	out := map[string]any{}
	for _, s := range w.subjects {
		if s.role == "clinician" {
			ids := make([]any, len(s.panel))
			for i, p := range s.panel {
				ids[i] = p
			}
			out[s.id] = ids
		}
	}
	return out
}

// question is line i's question: a subject of the world (a few subjects are
// far busier than the others) and one of the few things its role asks.
func (w *world) question(i uint64) (s *synthSubject, action, typ, id string) {
	h := draw(w.seed, i, 7)
	// Skewed: half the lines come from a tenth of the subjects.
	n := uint64(len(w.subjects))
	idx := h % n
	if h>>63 == 1 {
		idx = h % max(n/10, 1)
	}
	s = &w.subjects[idx]
	other := w.patients[draw(w.seed, idx, (h>>20)%4)%uint64(len(w.patients))]
	pick := (h >> 32) % 10
	switch s.role {
	case "patient":
		switch {
		case pick < 4:
			return s, "read", "record", s.id
		case pick < 6:
			return s, "read", "appointments", s.id
		case pick < 8:
			return s, "read", "bills", s.id
		case pick < 9:
			return s, "read", "record", other
		}
		return s, "read", "notes", s.id
	case "clinician":
		p := s.panel[(h>>40)%uint64(len(s.panel))]
		switch {
		case pick < 3:
			return s, "read", "record", p
		case pick < 6:
			return s, "read", "notes", p
		case pick < 7:
			return s, "write", "notes", p
		case pick < 8:
			return s, "read", "appointments", p
		}
		return s, "read", "record", other
	case "billing-clerk":
		switch {
		case pick < 5:
			return s, "read", "claims", "all"
		case pick < 8:
			return s, "read", "bills", other
		case pick < 9:
			return s, "read", "users", "all"
		}
		return s, "read", "notes", other
	case "admin":
		if pick < 7 {
			return s, "read", "users", "all"
		}
		return s, "read", "record", other
	}
	if pick < 8 {
		return s, "read", "audit", "all"
	}
	return s, "read", "record", other
}

// decide is the reference policy (the Rego's, without drift), the legacy's
// decisions in the synthetic log.
func decide(s *synthSubject, action, typ, id string) bool {
	switch s.role {
	case "patient":
		return action == "read" && id == s.id && (typ == "record" || typ == "appointments" || typ == "bills")
	case "clinician":
		return slices.Contains(s.panel, id) && (action == "read" && (typ == "record" || typ == "notes" || typ == "appointments") || action == "write" && typ == "notes")
	case "billing-clerk":
		return action == "read" && (typ == "claims" || typ == "bills")
	case "admin":
		return action == "read" && typ == "users"
	}
	return action == "read" && typ == "audit"
}

// synthLog is a JSON-lines decision log of n lines of w, generated as it is
// read. One line in 5,000 carries a decision that is neither allow nor deny,
// one in 7,919 no subject: the ambiguity a real log has.
type synthLog struct {
	w    *world
	n, i uint64
	buf  []byte
	t0   time.Time
}

func newSynthLog(w *world, n uint64) *synthLog {
	return &synthLog{w: w, n: n, t0: time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)}
}

func (l *synthLog) Read(p []byte) (int, error) {
	for len(l.buf) < len(p) && l.i < l.n {
		l.buf = l.line(l.buf, l.i)
		l.i++
	}
	if len(l.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, l.buf)
	l.buf = l.buf[:copy(l.buf, l.buf[n:])]
	return n, nil
}

func (l *synthLog) line(b []byte, i uint64) []byte {
	s, action, typ, id := l.w.question(i)
	decision := "deny"
	if decide(s, action, typ, id) {
		decision = "allow"
	}
	if i%5000 == 4999 {
		decision = "indeterminate"
	}
	b = append(b, `{"time":"`...)
	b = l.t0.Add(time.Duration(i)*time.Millisecond).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","subject":{`...)
	if i%7919 != 7918 {
		b = append(b, `"id":"`...)
		b = append(b, s.id...)
		b = append(b, `",`...)
	}
	b = append(b, `"roles":["`...)
	b = append(b, s.role...)
	b = append(b, `"],"tenant":"`...)
	b = append(b, s.tenant...)
	b = append(b, `","partner":"`...)
	b = append(b, s.partner...)
	b = append(b, `","wave":"`...)
	b = append(b, s.wave...)
	b = append(b, `"},"action":"`...)
	b = append(b, action...)
	b = append(b, `","resource":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","id":"`...)
	b = append(b, id...)
	b = append(b, `"},"decision":"`...)
	b = append(b, decision...)
	b = append(b, `","latency_ms":`...)
	b = strconv.AppendUint(b, draw(l.w.seed, i, 3)%40, 10)
	return append(b, "}\n"...)
}

// synthShadowFile maps the synthetic log; %s is the PDP's URL, %d the
// evaluations per batch request.
const synthShadowFile = `version: 1
name: synthetic
log:
  path: synthetic.jsonl
  subject: subject.id
  roles: subject.roles
  action: action
  resource_type: resource.type
  resource_id: resource.id
  decision: decision
  attributes:
    tenant: subject.tenant
    partner: subject.partner
    cohort: subject.wave
candidate: {url: "%s", rate: 1000, batch: %d, concurrency: 2}
allow_hosts: [127.0.0.1]
expected:
  roles: [patient, clinician, billing-clerk, admin, auditor]
  resource_types: [record, notes, appointments, bills, claims, users, audit]
  actions: [read, write]
`
