package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestSealedBucketKeepsEveryCount: a sealed bucket answers as the open one did,
// takes records again (reopened), merges, and is a small fraction of the
// histogram it replaced.
func TestSealedBucketKeepsEveryCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	// Latencies over the whole range a histogram takes: microseconds to minutes.
	draw := func() int64 {
		return clampLatency(time.Duration(float64(time.Millisecond) * math.Exp(3*rng.NormFloat64())))
	}
	var b secondStats
	all := newSecondHist()
	for range 5000 {
		v := draw()
		b.record(v)
		_ = all.RecordValue(v)
	}
	open := b.side()
	b.seal()
	if b.hist != nil || len(b.sealed) == 0 {
		t.Fatalf("sealed bucket: hist %v, %d bytes; want no histogram and its buckets encoded", b.hist, len(b.sealed))
	}
	if got := b.side(); got != open {
		t.Errorf("sealed bucket answers %+v; open it answered %+v", got, open)
	}
	perBucket := float64(len(b.sealed)) / float64(all.Populated())
	if perBucket > 4 {
		t.Errorf("sealed: %d bytes for %d buckets (%.1f each); want at most 4 each", len(b.sealed), all.Populated(), perBucket)
	}
	// A late record reopens it; merging a sealed bucket into another adds its counts.
	v := draw()
	b.record(v)
	_ = all.RecordValue(v)
	b.seal()
	var into secondStats
	into.merge(&b)
	ps := []float64{1, 25, 50, 90, 99, 99.9, 100}
	got, want := into.histogram().ValueAtPercentilesSlice(ps), all.ValueAtPercentilesSlice(ps)
	if !slices.Equal(got, want) || into.histogram().TotalCount() != all.TotalCount() || into.count != all.TotalCount() {
		t.Errorf("after reopening, resealing and merging: percentiles %v of %d; want %v of %d",
			got, into.histogram().TotalCount(), want, all.TotalCount())
	}
	// Each bucket's count, not only the percentiles.
	for v, c := range all.ForEachBucket {
		if n := into.histogram().CountAtValue(v); n != c {
			t.Fatalf("bucket at %d: %d; want %d", v, n, c)
		}
	}
}
