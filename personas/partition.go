package personas

import "fmt"

// Partition returns segment i (0 <= i < n) of n disjoint segments of pop, for
// distributed runs: persona j goes to segment j mod n. The segments together hold
// every persona exactly once, their sizes differ by at most one, and since a
// population lists its personas kind by kind, each segment keeps the mix of kinds.
// The same population always splits the same way. A segment keeps the seed of pop;
// its clinicians' panels still name patients of the whole population, so validate
// the population, not a segment.
func Partition(pop Population, i, n int) (Population, error) {
	if n < 1 || i < 0 || i >= n {
		return Population{}, fmt.Errorf("partition: segment %d of %d; want 0 <= segment < count", i, n)
	}
	seg := Population{Seed: pop.Seed, Personas: make([]Persona, 0, (len(pop.Personas)+n-1-i)/n)}
	for j := i; j < len(pop.Personas); j += n {
		seg.Personas = append(seg.Personas, pop.Personas[j])
	}
	return seg, nil
}
