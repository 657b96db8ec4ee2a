package analysis

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// secondStats is one bucket of a latency-over-time series: one side's seconds,
// every step's latencies together or one step's.
//
// While the run is in the bucket its latencies go to a sparse histogram. Once
// the run has moved past, the bucket is sealed: the histogram's populated
// buckets are kept as uvarint pairs (the bucket's value less the previous
// one's, in the histogram's unit, and its count), two to four bytes each, where the histogram itself costs a few
// hundred bytes whatever it holds. An hour at one-second buckets is thousands
// of them per step and side; sealed, the plots' data is a small fraction of a
// run's memory. Opening a sealed bucket records each value back at its count:
// the values are the buckets' own, so every count lands where it was.
// sealUnit is the histograms' unit: the largest power of two not above their
// lowest discernible value, of which every bucket's value is a multiple.
var sealUnit = int64(1) << (bits.Len64(uint64(histMin)) - 1)

type secondStats struct {
	count, errors int64
	hist          *hdrhistogram.PackedHistogram
	sealed        []byte
}

// record accounts one answered step's latency (in range).
func (s *secondStats) record(v int64) {
	_ = s.open().RecordValue(v)
	s.count++
}

// open returns the bucket's histogram to record into, reopening a sealed one.
func (s *secondStats) open() *hdrhistogram.PackedHistogram {
	if s.hist == nil {
		s.hist = s.histogram()
		s.sealed = nil
	}
	return s.hist
}

// histogram returns the bucket's latencies: its histogram, a new one decoded
// from a sealed bucket, or an empty one.
func (s *secondStats) histogram() *hdrhistogram.PackedHistogram {
	if s.hist != nil {
		return s.hist
	}
	h := newSecondHist()
	var v int64
	for b := s.sealed; len(b) > 0; {
		d, n := binary.Uvarint(b)
		c, m := binary.Uvarint(b[n:])
		b = b[n+m:]
		v += int64(d) * sealUnit
		_ = h.RecordValues(v, int64(c))
	}
	return h
}

// seal keeps the histogram's buckets as uvarint pairs and drops the histogram.
func (s *secondStats) seal() {
	if s.hist == nil {
		return
	}
	var buf [2 * binary.MaxVarintLen64]byte
	n, prev := 0, int64(0)
	for v, c := range s.hist.ForEachBucket {
		n += binary.PutUvarint(buf[:], uint64((v-prev)/sealUnit)) + binary.PutUvarint(buf[:], uint64(c))
		prev = v
	}
	out := make([]byte, 0, n)
	prev = 0
	for v, c := range s.hist.ForEachBucket {
		out = binary.AppendUvarint(binary.AppendUvarint(out, uint64((v-prev)/sealUnit)), uint64(c))
		prev = v
	}
	s.hist, s.sealed = nil, out
}

// merge adds o into s.
func (s *secondStats) merge(o *secondStats) {
	s.count += o.count
	s.errors += o.errors
	if o.hist != nil || o.sealed != nil {
		s.open().Merge(o.histogram())
	}
}

// side returns the figures of one bucket.
func (s *secondStats) side() TimeSide {
	out := TimeSide{Count: s.count, Errors: s.errors}
	if h := s.histogram(); h.TotalCount() > 0 {
		v := middles(h, 50, 99)
		out.P50, out.P99 = ms(time.Duration(v[0])), ms(time.Duration(v[1]))
	}
	return out
}

// middles returns the middle of the bucket each percentile falls in, where the
// library answers the bucket's highest value: at one significant digit that
// would draw every point up to 6.25% high, the middle is within half of it
// either way.
func middles(h *hdrhistogram.PackedHistogram, ps ...float64) []int64 {
	hi := h.ValueAtPercentilesSlice(ps)
	out := make([]int64, len(hi))
	for v := range h.ForEachBucket {
		// v is a bucket's lowest value, in ascending order: the last one at or
		// below a percentile's highest value starts the bucket it is in.
		for i, x := range hi {
			if v <= x {
				out[i] = v + (x-v)/2
			}
		}
	}
	return out
}
