package loadgen

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestPoolNeverLendsAMemberTwice hammers a small pool from many goroutines: each
// marks its member busy with a compare-and-swap, so a member lent twice at once
// fails the swap. Run with -race.
func TestPoolNeverLendsAMemberTwice(t *testing.T) {
	const size, workers, rounds = 8, 32, 2000
	p := NewPool(size, 1)
	var inUse [size]atomic.Bool
	var lent, refused, twice atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				n := uint64(w*rounds + r)
				// Odd workers only take even members: eligibility under contention.
				var eligible func(int) bool
				if w%2 == 1 {
					eligible = func(i int) bool { return i%2 == 0 }
				}
				i, ok := p.Acquire(n, eligible)
				if !ok {
					refused.Add(1)
					continue
				}
				if eligible != nil && !eligible(i) {
					t.Errorf("Acquire handed member %d to a caller that only takes even ones", i)
				}
				if !inUse[i].CompareAndSwap(false, true) {
					twice.Add(1)
				}
				lent.Add(1)
				inUse[i].Store(false)
				p.Release(i)
			}
		})
	}
	wg.Wait()
	if twice.Load() != 0 {
		t.Errorf("%d times a member was lent while already out", twice.Load())
	}
	if lent.Load() == 0 {
		t.Errorf("nothing was lent (%d refusals)", refused.Load())
	}
}

func TestPoolRefusesWhenAllBusy(t *testing.T) {
	p := NewPool(3, 9)
	var got []int
	for n := range uint64(3) {
		i, ok := p.Acquire(n, nil)
		if !ok {
			t.Fatalf("Acquire(%d) refused with idle members", n)
		}
		got = append(got, i)
	}
	if _, ok := p.Acquire(3, nil); ok {
		t.Fatalf("Acquire succeeded with members %v all out", got)
	}
	p.Release(got[1])
	if i, ok := p.Acquire(4, nil); !ok || i != got[1] {
		t.Errorf("Acquire after releasing %d = (%d, %t); want (%d, true)", got[1], i, ok, got[1])
	}
	if _, ok := NewPool(0, 1).Acquire(0, nil); ok {
		t.Error("an empty pool lent a member")
	}
	if _, ok := NewPool(4, 1).Acquire(0, func(int) bool { return false }); ok {
		t.Error("a pool lent a member nobody was eligible for")
	}
}

func TestPoolIsReproducible(t *testing.T) {
	a, b := NewPool(50, 42), NewPool(50, 42)
	for n := range uint64(20) {
		i, _ := a.Acquire(n, nil)
		j, _ := b.Acquire(n, nil)
		if i != j {
			t.Fatalf("start %d: pools of the same seed lent %d and %d", n, i, j)
		}
	}
}

// TestPoolDrawsUniformly: members eligible for a journey sit together in the
// population (personas are generated kind by kind); each must be drawn as often as
// the others, not the first of the block whenever a draw lands before it.
func TestPoolDrawsUniformly(t *testing.T) {
	p := NewPool(100, 42)
	block := func(i int) bool { return i >= 50 && i < 60 }
	counts := map[int]int{}
	for n := range uint64(10000) {
		i, ok := p.Acquire(n, block)
		if !ok || !block(i) {
			t.Fatalf("Acquire(%d) = (%d, %t); want a member of 50-59", n, i, ok)
		}
		counts[i]++
		p.Release(i)
	}
	for i := 50; i < 60; i++ {
		if counts[i] < 800 || counts[i] > 1200 {
			t.Errorf("member %d drawn %d times in 10000; want about 1000 (all: %v)", i, counts[i], counts)
		}
	}
}
