package loadgen

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestParseSegment(t *testing.T) {
	tests := []struct {
		in   string
		want Segment
		ok   bool
	}{
		{"0/4", Segment{0, 4}, true},
		{"3/4", Segment{3, 4}, true},
		{"0/1", Segment{0, 1}, true},
		{"4/4", Segment{}, false},
		{"-1/4", Segment{}, false},
		{"1/0", Segment{}, false},
		{"1", Segment{}, false},
		{"a/b", Segment{}, false},
	}
	for _, tt := range tests {
		got, err := ParseSegment(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseSegment(%q) = (%v, %v); want (%v, ok %t)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestSegmentsMakeTheWholeRun: under synctest's clock, the starts of n segments run
// side by side are exactly those of one run, with the same numbers and intended
// offsets, and their accounting sums to the whole run's.
func TestSegmentsMakeTheWholeRun(t *testing.T) {
	pacer := Stages{Stages: []Stage{{Target: 20, Duration: time.Second}, {Target: 5, Duration: time.Second}}}
	run := func(seg Segment) (map[uint64]time.Duration, int64) {
		var (
			mu  sync.Mutex
			got = map[uint64]time.Duration{}
		)
		var scheduled int64
		synctest.Test(t, func(t *testing.T) {
			acct := Run(context.Background(), Plan{Pacer: pacer, Duration: 2 * time.Second, Segment: seg}, func(_ context.Context, tk Tick) error {
				mu.Lock()
				got[tk.N] = tk.Offset
				mu.Unlock()
				return nil
			})
			scheduled = acct.Scheduled
			if acct.Started != acct.Scheduled {
				t.Errorf("segment %v: %+v; want every start started", seg, acct)
			}
		})
		return got, scheduled
	}
	whole, wholeN := run(Segment{})
	union, sum := map[uint64]time.Duration{}, int64(0)
	for i := range 3 {
		seg := Segment{I: i, N: 3}
		got, n := run(seg)
		sum += n
		for k, at := range got {
			if !seg.Has(k) {
				t.Errorf("segment %v ran start %d", seg, k)
			}
			union[k] = at
		}
	}
	if sum != wholeN || len(union) != len(whole) {
		t.Fatalf("segments scheduled %d (%d distinct); the whole run %d", sum, len(union), wholeN)
	}
	for k, at := range whole {
		if union[k] != at {
			t.Errorf("start %d at %s in its segment; %s in the whole run", k, union[k], at)
		}
	}
}

// TestSegmentPacer: hit k of a segment's pacer is due when hit Global(k) of the
// whole pacer is, and the segment stops where the whole schedule does.
func TestSegmentPacer(t *testing.T) {
	p := vegeta.LinearPacer{StartAt: vegeta.Rate{Freq: 10, Per: time.Second}, Slope: 5}
	var whole []time.Duration
	Schedule(p, 3*time.Second, func(_ uint64, at time.Duration) bool { whole = append(whole, at); return true })
	seg := Segment{I: 1, N: 4}
	var got []time.Duration
	Schedule(seg.Pacer(p, 0), 3*time.Second, func(_ uint64, at time.Duration) bool { got = append(got, at); return true })
	var want []time.Duration
	for n, at := range whole {
		if seg.Has(uint64(n)) {
			want = append(want, at)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("segment %v due at %v; want %v", seg, got, want)
	}
	// Bounded by a duration, it stops at the first hit due after it.
	var bounded, wantBounded []time.Duration
	Schedule(seg.Pacer(p, time.Second), 0, func(_ uint64, at time.Duration) bool { bounded = append(bounded, at); return true })
	for _, at := range want {
		if at <= time.Second {
			wantBounded = append(wantBounded, at)
		}
	}
	if !slices.Equal(bounded, wantBounded) {
		t.Errorf("segment %v bounded by 1s due at %v; want %v", seg, bounded, wantBounded)
	}
	if k := seg.Global(2); k != 9 {
		t.Errorf("Global(2) of %v = %d; want 9", seg, k)
	}
}
