package loadgen

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Segment is slice I of N of a schedule, for a run spread over N machines (k6's
// execution segments): it holds the starts whose number n satisfies n mod N == I.
// Each start keeps its global number and intended time, so the N segments
// together make exactly the starts of one run at the full rate. The zero value is
// the whole schedule.
type Segment struct{ I, N int }

// ParseSegment parses "I/N" (0 <= I < N).
func ParseSegment(s string) (Segment, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	if !ok || ierr != nil || nerr != nil {
		return Segment{}, fmt.Errorf("segment %q: want I/N, like 0/4", s)
	}
	seg := Segment{I: i, N: n}
	if err := seg.Validate(); err != nil {
		return Segment{}, err
	}
	return seg, nil
}

// Validate reports a segment outside 0 <= I < N.
func (s Segment) Validate() error {
	if s == (Segment{}) {
		return nil
	}
	if s.N < 1 || s.I < 0 || s.I >= s.N {
		return fmt.Errorf("segment %d/%d: want 0 <= I < N", s.I, s.N)
	}
	return nil
}

// Whole reports whether s is the whole schedule.
func (s Segment) Whole() bool { return s.N <= 1 }

// String returns "I/N", or "" for the whole schedule.
func (s Segment) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Has reports whether start n of the whole schedule belongs to s.
func (s Segment) Has(n uint64) bool { return s.Whole() || n%uint64(s.N) == uint64(s.I) }

// Global returns the number in the whole schedule of the segment's start k.
func (s Segment) Global(k uint64) uint64 {
	if s.Whole() {
		return k
	}
	return uint64(s.I) + k*uint64(s.N)
}

// Pacer returns p thinned to the segment: its hit k is due when hit Global(k) of
// p is, and it stops at the first hit due after d (d > 0). For vegeta's attacker,
// whose hits are numbered from 0 on each machine, and which checks its duration
// before it waits for a hit, not after: without the bound a segment would send a
// hit due after the end that the whole run, with shorter waits, never sends. The
// pacer is safe for concurrent use.
func (s Segment) Pacer(p vegeta.Pacer, d time.Duration) vegeta.Pacer {
	if s.Whole() {
		return p
	}
	return &segmentPacer{seg: s, p: p, d: d}
}

// segmentPacer remembers the due times of the segment's hits it has walked to,
// so pacing hit k costs N steps of p, not Global(k).
type segmentPacer struct {
	seg Segment
	p   vegeta.Pacer
	d   time.Duration

	mu   sync.Mutex
	due  []time.Duration // due time of the segment's hit k
	next uint64          // next global hit to walk
	last time.Duration   // due time of global hit next-1
	done bool
}

var _ vegeta.Pacer = (*segmentPacer)(nil)

// Pace returns the wait until the segment's hit k is due, from elapsed.
func (sp *segmentPacer) Pace(elapsed time.Duration, k uint64) (time.Duration, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for !sp.done && uint64(len(sp.due)) <= k {
		wait, stop := sp.p.Pace(sp.last, sp.next)
		if stop || sp.d > 0 && sp.last+wait > sp.d {
			sp.done = true
			break
		}
		sp.last += wait
		if sp.seg.Has(sp.next) {
			sp.due = append(sp.due, sp.last)
		}
		sp.next++
	}
	if k >= uint64(len(sp.due)) {
		return 0, true
	}
	return max(sp.due[k]-elapsed, 0), false
}

// Rate returns the rate of p at elapsed over N.
func (sp *segmentPacer) Rate(elapsed time.Duration) float64 {
	return sp.p.Rate(elapsed) / float64(sp.seg.N)
}

// String describes p and the segment.
func (sp *segmentPacer) String() string { return fmt.Sprintf("%s, segment %s", sp.p, sp.seg) }
