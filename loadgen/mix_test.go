package loadgen

import (
	"math"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

func TestMixFollowsTheWeights(t *testing.T) {
	m := NewMix([]float64{3, 0, 1}, 42, nil, 0)
	counts := m.Counts(Constant{PerSecond: 100}, 100*time.Second)
	total := counts[0] + counts[1] + counts[2]
	if counts[1] != 0 {
		t.Errorf("a journey of weight 0 ran %d times outside any surge", counts[1])
	}
	if share := float64(counts[0]) / float64(total); math.Abs(share-0.75) > 0.02 {
		t.Errorf("weight 3 of 4 got %.3f of %d starts; want 0.75 ± 0.02", share, total)
	}
	again := NewMix([]float64{3, 0, 1}, 42, nil, 0).Counts(Constant{PerSecond: 100}, 100*time.Second)
	if again[0] != counts[0] || again[2] != counts[2] {
		t.Errorf("the same seed chose %v, then %v", counts, again)
	}
	other := NewMix([]float64{3, 0, 1}, 43, nil, 0)
	differ := 0
	for n := range uint64(1000) {
		if m.pick(n, 0) != other.pick(n, 0) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seeds 42 and 43 chose the same journey for 1000 starts")
	}
}

// TestMixRoutesTheSurge: the storm's extra starts go to its journey, the base rate
// keeps its own mix.
func TestMixRoutesTheSurge(t *testing.T) {
	storm := RefreshStorm{Base: 10, Cohort: 600, At: 20 * time.Second, Over: 30 * time.Second}
	m := NewMix([]float64{1, 0}, 7, storm, 1)
	got := m.Counts(storm, time.Minute)
	// 600 base starts and 600 storm starts: the refresh journey gets the storm's.
	if got[1] < 540 || got[1] > 660 || got[0]+got[1] < 1199 {
		t.Errorf("Counts = %v; want about 600 refresh starts out of 1200", got)
	}
	before := NewMix([]float64{1, 0}, 7, storm, 1).Counts(storm, 20*time.Second)
	if before[1] != 0 {
		t.Errorf("%d refresh starts before the storm began", before[1])
	}
}

func TestFirstSideIsAFairCoin(t *testing.T) {
	legacy := 0
	for n := range uint64(10000) {
		if FirstSide(42, n) == record.Legacy {
			legacy++
		}
	}
	if legacy < 4800 || legacy > 5200 {
		t.Errorf("legacy went first %d times in 10000; want about half", legacy)
	}
}
