package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Ratio is candidate p50 over legacy p50 (or, in a diff, this run's p50 over the
// baseline's) with a bootstrap 95% confidence interval.
type Ratio struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// bootstrapRounds is how many ratios of bootstrap medians the interval is read
// from. Each round costs two binary searches, not a resample.
const bootstrapRounds = 4000

// medianDist is the bootstrap distribution of the median of one histogram: for
// each populated bucket, the probability that the median of n draws with
// replacement from the recorded distribution is at most that bucket's value.
//
// Subtleness ahead: a classic bootstrap draws n values per round and sorts them.
// The median of n draws is their k-th order statistic (k = (n+1)/2), and it is at
// most x exactly when at least k draws are at most x, which is a binomial tail in
// F(x), the histogram's cumulative share at x. So the whole resampling
// distribution of the median is known without drawing anything, for every n (no
// m-out-of-n cap that would widen the interval), and a round is one uniform draw
// mapped through this CDF.
type medianDist struct {
	values []float64
	cdf    []float64
}

func newMedianDist(h *hdrhistogram.Histogram) medianDist {
	n := h.TotalCount()
	k := (n + 1) / 2
	var d medianDist
	var cum int64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		cum += b.Count
		d.values = append(d.values, float64(b.From+b.To)/2)
		d.cdf = append(d.cdf, binomialTailAtLeast(n, k, float64(cum)/float64(n)))
	}
	if m := len(d.cdf); m > 0 {
		d.cdf[m-1] = 1
	}
	return d
}

// draw maps a uniform u in [0, 1) to a bootstrap median.
func (d medianDist) draw(u float64) float64 {
	i := sort.SearchFloat64s(d.cdf, u)
	return d.values[min(i, len(d.values)-1)]
}

// ratioCI bootstraps the ratio of the medians of num and den. The point value is
// the ratio of their recorded medians; the interval is the central 95% of
// bootstrapRounds ratios of independent bootstrap medians, drawn from seed.
func ratioCI(num, den *hdrhistogram.Histogram, seed uint64) Ratio {
	nd, dd := newMedianDist(num), newMedianDist(den)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	ratios := make([]float64, bootstrapRounds)
	for i := range ratios {
		ratios[i] = nd.draw(rng.Float64()) / dd.draw(rng.Float64())
	}
	slices.Sort(ratios)
	return Ratio{
		Value: float64(num.ValueAtQuantile(50)) / float64(den.ValueAtQuantile(50)),
		Low:   ratios[bootstrapRounds*25/1000],
		High:  ratios[bootstrapRounds*975/1000-1],
	}
}

// binomialTailAtLeast returns P(X >= k) for X ~ Binomial(n, p): exactly for
// small n, by the normal approximation with continuity correction beyond, where
// its error is far below the 0.1% resolution of the histograms.
func binomialTailAtLeast(n, k int64, p float64) float64 {
	switch {
	case p <= 0:
		return 0
	case p >= 1 || k <= 0:
		return 1
	case k > n:
		return 0
	}
	if n > 1000 {
		mu, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		return 0.5 * math.Erfc((float64(k)-0.5-mu)/sd/math.Sqrt2)
	}
	// Sum the probability mass from k up in log space, each term from the last.
	lgn, _ := math.Lgamma(float64(n + 1))
	lgk, _ := math.Lgamma(float64(k + 1))
	lgr, _ := math.Lgamma(float64(n - k + 1))
	lp, lq := math.Log(p), math.Log1p(-p)
	lt := lgn - lgk - lgr + float64(k)*lp + float64(n-k)*lq
	sum := 0.0
	for i := k; ; i++ {
		sum += math.Exp(lt)
		if i == n {
			break
		}
		lt += math.Log(float64(n-i)/float64(i+1)) + lp - lq
	}
	return min(sum, 1)
}
