package shadow

import (
	"container/list"
	"hash/maphash"
	"math"
	"math/bits"
	"time"
)

// qkey identifies a distinct question: 128 bits of hash over everything sent
// to the PDP, so that a cache entry and the distinct count cost 16 bytes
// whatever the question's size.
type qkey struct{ a, b uint64 }

var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// keyOf hashes what the PDP is asked for question q (props: the subject
// properties sent).
func keyOf(q *question, props func(string) bool) qkey {
	var k qkey
	for i, dst := range []*uint64{&k.a, &k.b} {
		var h maphash.Hash
		h.SetSeed(keySeeds[i])
		w := func(s string) {
			h.WriteString(s)
			h.WriteByte(0)
		}
		w(q.subjectType)
		w(q.subject)
		if props("roles") {
			for _, r := range q.roles {
				w(r)
			}
		}
		h.WriteByte(1)
		for _, x := range q.attrs {
			if props(x.k) {
				w(x.k)
				w(x.v)
			}
		}
		h.WriteByte(1)
		w(q.action)
		w(q.typ)
		w(q.id)
		for _, x := range q.context {
			w(x.k)
			w(x.v)
		}
		*dst = h.Sum64()
	}
	return k
}

// lru remembers the candidate's decisions for at most size questions, the
// least recently used forgotten first, each for at most ttl (0: no limit).
// It is not safe for concurrent use.
type lru struct {
	size  int
	ttl   time.Duration
	items map[qkey]*list.Element
	order *list.List
}

type cached struct {
	k     qkey
	allow bool
	at    time.Time
}

func newLRU(size int, ttl time.Duration) *lru {
	return &lru{size: size, ttl: ttl, items: make(map[qkey]*list.Element, min(size, 1<<16)), order: list.New()}
}

// get returns the decision remembered for k, if one is and is fresh at now.
func (c *lru) get(k qkey, now time.Time) (allow, ok bool) {
	el, ok := c.items[k]
	if !ok {
		return false, false
	}
	e := el.Value.(*cached)
	if c.ttl > 0 && now.Sub(e.at) >= c.ttl {
		c.order.Remove(el)
		delete(c.items, k)
		return false, false
	}
	c.order.MoveToFront(el)
	return e.allow, true
}

// put remembers the decision for k, forgetting the least recently used
// question beyond size.
func (c *lru) put(k qkey, allow bool, now time.Time) {
	if c.size == 0 {
		return
	}
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cached)
		e.allow, e.at = allow, now
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.size {
		old := c.order.Back()
		e := old.Value.(*cached)
		delete(c.items, e.k)
		// The element is reused: no allocation once the cache is full.
		e.k, e.allow, e.at = k, allow, now
		c.order.MoveToFront(old)
		c.items[k] = old
		return
	}
	c.items[k] = c.order.PushFront(&cached{k: k, allow: allow, at: now})
}

func (c *lru) len() int { return c.order.Len() }

// distinct counts distinct questions in bounded memory: exactly up to
// exactLimit of them, then by a HyperLogLog sketch of 2^14 registers (16 KiB,
// a standard error of about 0.8%).
type distinct struct {
	exact map[qkey]struct{}
	regs  []uint8
}

const (
	exactLimit = 1 << 17
	hllBits    = 14
)

func newDistinct() *distinct {
	return &distinct{exact: map[qkey]struct{}{}, regs: make([]uint8, 1<<hllBits)}
}

func (d *distinct) add(k qkey) {
	i := k.a >> (64 - hllBits)
	rank := uint8(bits.LeadingZeros64(k.a<<hllBits|1<<(hllBits-1))) + 1
	d.regs[i] = max(d.regs[i], rank)
	if d.exact != nil {
		d.exact[k] = struct{}{}
		if len(d.exact) > exactLimit {
			d.exact = nil
		}
	}
}

// count returns the distinct questions seen and whether the count is exact.
func (d *distinct) count() (int64, bool) {
	if d.exact != nil {
		return int64(len(d.exact)), true
	}
	m := float64(len(d.regs))
	sum, zeros := 0.0, 0
	for _, r := range d.regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(est)), false
}
