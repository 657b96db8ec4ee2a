package results

import (
	"io"
	"testing"
	"time"
)

// BenchmarkWriter writes the records of a fixture run, redacting and encoding
// each, one core.
func BenchmarkWriter(b *testing.B) {
	recs := (fixture{Journeys: 1000, Duration: time.Minute, Seed: 3}).records()
	w := NewWriter(io.Discard)
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
