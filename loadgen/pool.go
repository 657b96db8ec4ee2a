package loadgen

import (
	"sync"
)

// Pool hands out members (by index) so that none is in two journeys at once. The
// member tried first for start n is derived from the seed and n, so a run's choices
// are reproducible as long as members come back in the same order. It is safe for
// concurrent use.
type Pool struct {
	mu   sync.Mutex
	busy []bool
	seed uint64
}

// NewPool returns a pool of size members, all idle.
func NewPool(size int, seed uint64) *Pool { return &Pool{busy: make([]bool, size), seed: seed} }

// Acquire takes an idle member for start n among those eligible accepts (nil: all),
// or reports false when every eligible member is busy.
func (p *Pool) Acquire(n uint64, eligible func(i int) bool) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := uint64(len(p.busy))
	if size == 0 {
		return 0, false
	}
	first := mix64(p.seed^n) % size
	for i := uint64(0); i < size; i++ {
		j := (first + i) % size
		if !p.busy[j] && (eligible == nil || eligible(int(j))) {
			p.busy[j] = true
			return int(j), true
		}
	}
	return 0, false
}

// Release returns member i to the pool.
func (p *Pool) Release(i int) {
	p.mu.Lock()
	p.busy[i] = false
	p.mu.Unlock()
}

// mix64 is the SplitMix64 finaliser: a cheap, well-spread hash of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
