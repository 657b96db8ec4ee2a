package loadgen

import (
	"sync"

	"github.com/cutover-dev/cutover/internal/splitmix"
)

// Pool hands out members (by index) so that none is in two journeys at once. The
// member lent for start n is drawn uniformly among the idle eligible ones, from the
// seed and n, so a run's choices are reproducible as long as members come back in
// the same order, and no member is favoured for where it sits in the population.
// It is safe for concurrent use.
type Pool struct {
	mu   sync.Mutex
	busy []bool
	seed uint64
}

// NewPool returns a pool of size members, all idle.
func NewPool(size int, seed uint64) *Pool { return &Pool{busy: make([]bool, size), seed: seed} }

// Acquire takes an idle member for start n among those eligible accepts (nil: all),
// or reports false when every eligible member is busy. eligible is called under
// the pool's lock and must not call back into the pool.
func (p *Pool) Acquire(n uint64, eligible func(i int) bool) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	free := func(i int) bool { return !p.busy[i] && (eligible == nil || eligible(i)) }
	idle := 0
	for i := range p.busy {
		if free(i) {
			idle++
		}
	}
	if idle == 0 {
		return 0, false
	}
	k := int(splitmix.Mix64(p.seed^n) % uint64(idle))
	for i := range p.busy {
		if free(i) {
			if k == 0 {
				p.busy[i] = true
				return i, true
			}
			k--
		}
	}
	panic("loadgen: pool changed under its lock")
}

// Release returns member i to the pool.
func (p *Pool) Release(i int) {
	p.mu.Lock()
	p.busy[i] = false
	p.mu.Unlock()
}
