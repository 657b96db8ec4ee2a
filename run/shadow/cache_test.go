package shadow

import (
	"math"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/splitmix"
)

func k(i uint64) qkey { return qkey{splitmix.Mix64(i), splitmix.Mix64(i + 1<<40)} }

// TestLRU: the least recently used question goes first, a used one stays,
// an entry older than the TTL is forgotten, size 0 remembers nothing.
func TestLRU(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	c := newLRU(2, time.Minute)
	c.put(k(1), true, t0)
	c.put(k(2), false, t0)
	if allow, ok := c.get(k(1), t0); !ok || !allow {
		t.Fatalf("get(1) = (%t, %t); want (true, true)", allow, ok)
	}
	c.put(k(3), true, t0) // evicts 2, the least recently used
	for i, want := range map[uint64]bool{1: true, 2: false, 3: true} {
		if _, ok := c.get(k(i), t0); ok != want {
			t.Errorf("get(%d) found %t; want %t", i, ok, want)
		}
	}
	if c.len() != 2 {
		t.Errorf("len = %d; want 2", c.len())
	}
	if _, ok := c.get(k(1), t0.Add(time.Minute)); ok {
		t.Error("an entry a minute old with a TTL of a minute was still found")
	}
	none := newLRU(0, 0)
	none.put(k(1), true, t0)
	if _, ok := none.get(k(1), t0); ok {
		t.Error("a cache of size 0 remembered")
	}
}

// TestDistinct: exact up to its limit, then an estimate within a few
// percent, in a fixed 16 KiB.
func TestDistinct(t *testing.T) {
	tests := []struct {
		n     uint64
		exact bool
		tol   float64
	}{{10, true, 0}, {exactLimit, true, 0}, {exactLimit + 1, false, 0.03}, {1_000_000, false, 0.03}}
	for _, tt := range tests {
		d := newDistinct()
		for i := range tt.n {
			d.add(k(i))
			d.add(k(i)) // a repeat counts once
		}
		got, exact := d.count()
		if exact != tt.exact || math.Abs(float64(got)-float64(tt.n))/float64(tt.n) > tt.tol {
			t.Errorf("count of %d distinct = (%d, exact %t); want within %.0f%%, exact %t", tt.n, got, exact, 100*tt.tol, tt.exact)
		}
	}
}
