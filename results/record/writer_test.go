package record_test

import (
	"io"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

// BenchmarkWriter writes the records of a fixture run, redacting and encoding
// each, one core.
func BenchmarkWriter(b *testing.B) {
	recs := (fixture.Run{Journeys: 1000, Duration: time.Minute, Seed: 3}).Records()
	w := record.NewWriter(io.Discard)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := *recs[i%len(recs)]
		if err := w.Write(&r); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
