package personas_test

import (
	"reflect"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

func TestPartition(t *testing.T) {
	pop, err := personas.Generate(3, personas.GenerateOptions{Count: 1003})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7, 1003, 2000} {
		seen := map[string]int{}
		minSize, maxSize := len(pop.Personas), 0
		for i := range n {
			seg, err := personas.Partition(pop, i, n)
			if err != nil {
				t.Fatalf("Partition(pop, %d, %d) = %v", i, n, err)
			}
			again, _ := personas.Partition(pop, i, n)
			if !reflect.DeepEqual(seg, again) {
				t.Errorf("Partition(pop, %d, %d) twice differs", i, n)
			}
			if seg.Seed != pop.Seed {
				t.Errorf("Partition(pop, %d, %d).Seed = %d; want %d", i, n, seg.Seed, pop.Seed)
			}
			for _, p := range seg.Personas {
				seen[p.ID]++
			}
			minSize, maxSize = min(minSize, len(seg.Personas)), max(maxSize, len(seg.Personas))
			if n == 7 {
				// Each segment keeps the mix: within one persona per kind of n-th of it.
				for _, k := range personas.Kinds {
					all, got := len(pop.ByKind(k)), len(seg.ByKind(k))
					if lo, hi := all/n, (all+n-1)/n; got < lo || got > hi {
						t.Errorf("Partition(pop, %d, 7): %d of %d %s; want %d to %d", i, got, all, k, lo, hi)
					}
				}
			}
		}
		if len(seen) != len(pop.Personas) {
			t.Errorf("n=%d: segments hold %d distinct personas; want %d", n, len(seen), len(pop.Personas))
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("n=%d: %s in %d segments; want 1", n, id, c)
			}
		}
		if maxSize-minSize > 1 {
			t.Errorf("n=%d: segment sizes %d to %d; want them within one", n, minSize, maxSize)
		}
	}
}

func TestPartitionErrors(t *testing.T) {
	tests := []struct {
		i, n int
		want string
	}{
		{0, 0, "partition: segment 0 of 0; want 0 <= segment < count"},
		{-1, 3, "partition: segment -1 of 3; want 0 <= segment < count"},
		{3, 3, "partition: segment 3 of 3; want 0 <= segment < count"},
	}
	for _, tt := range tests {
		_, err := personas.Partition(personas.Population{}, tt.i, tt.n)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Partition(pop, %d, %d) = %v; want %q", tt.i, tt.n, err, tt.want)
		}
	}
}
