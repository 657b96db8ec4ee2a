package loadgen

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"time"
)

// A load generator that is itself starved measures its own queueing as the
// stacks' latency. Health watches the generator while a run goes, in short
// intervals, from four signals, any of which marks an interval unhealthy:
//
//   - hiccups: how late a timer that should fire every few milliseconds (a
//     fifth of MaxHiccup, at most 10ms) fires (a hiccup meter, as jHiccup
//     does): a late timer is a late measurement, whether the Go scheduler or
//     the operating system (another process on the cores) held the generator
//     back;
//   - the Go scheduler's latency (runtime/metrics /sched/latencies:seconds): how
//     long runnable goroutines waited for a processor, 99th percentile;
//   - GC pauses (/sched/pauses/total/gc:seconds), the longest;
//   - CPU: the share of the cores the process may use (GOMAXPROCS) that it used
//     (user and system time, from getrusage where the system has it).
//
// Steps that ran while the generator was unhealthy are set apart from the latency
// and error-rate verdicts; one bad interval taints the steps that overlap it, not
// the run.

// HealthOptions are the limits of a healthy interval.
type HealthOptions struct {
	// Interval is the length of an interval (default 100ms).
	Interval time.Duration
	// MaxHiccup is the longest a timer may fire late (default 50ms).
	MaxHiccup time.Duration
	// MaxSchedLatency bounds the scheduler latency's 99th percentile (default
	// 50ms).
	MaxSchedLatency time.Duration
	// MaxGCPause bounds the longest GC pause (default 50ms).
	MaxGCPause time.Duration
	// MaxCPU, when set, bounds the share of the process's cores in use. It is
	// off by default: a busy process measures well as long as its timers and
	// its scheduler keep up, which the other signals see.
	MaxCPU float64
	// Keep is how far back intervals are kept for Healthy (default 10m).
	Keep time.Duration
}

func (o HealthOptions) withDefaults() HealthOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, 100*time.Millisecond)
	def(&o.MaxHiccup, 50*time.Millisecond)
	def(&o.MaxSchedLatency, 50*time.Millisecond)
	def(&o.MaxGCPause, 50*time.Millisecond)
	def(&o.Keep, 10*time.Minute)
	return o
}

// Interval is what Health saw in one interval.
type Interval struct {
	Start time.Time
	// Hiccup is the latest a timer fired; SchedP99 the scheduler latency's 99th
	// percentile; GCPause the longest pause; CPU the share of the cores used.
	Hiccup, SchedP99, GCPause time.Duration
	CPU                       float64
	// Reason names what made it unhealthy; "" when it was healthy.
	Reason string
}

// Healthy reports whether nothing was over its limit.
func (iv Interval) Healthy() bool { return iv.Reason == "" }

// Health is a running monitor. Its methods are safe for concurrent use.
type Health struct {
	opt   HealthOptions
	begin time.Time
	stop  chan struct{}
	done  chan struct{}

	mu        sync.Mutex
	ring      []Interval // the last opt.Keep of intervals, oldest first
	through   time.Time  // the end of the last interval sampled
	total     int
	bad       int
	windows   []HealthWindow
	worst     Interval // the worst of each signal over the run
	hiccupNow time.Duration
}

// HealthWindow is a stretch of unhealthy intervals, as offsets from the start of
// the monitor, with the reasons seen in it.
type HealthWindow struct {
	From, To time.Duration
	Reasons  []string
}

// StartHealth starts watching the generator; Stop ends it.
func StartHealth(opt HealthOptions) *Health {
	h := &Health{opt: opt.withDefaults(), begin: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	h.through = h.begin
	go h.hiccups()
	go h.sample()
	return h
}

// Stop ends the monitor and waits for its goroutines.
func (h *Health) Stop() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
}

// hiccups runs the hiccup meter: a short sleep, again and again, recording the
// longest it overslept since the last interval was sampled.
//
// The nap is a fifth of MaxHiccup, at most 10ms: a stall longer than
// MaxHiccup plus a nap is always seen over the limit (the timer falls due
// inside it, at most a nap after it began), and an idle generator wakes 100
// times a second rather than 500 (each wake-up costs the Go runtime tens of
// microseconds of CPU: at a few journeys a second, more than the journeys).
func (h *Health) hiccups() {
	nap := min(max(h.opt.MaxHiccup/5, time.Millisecond), 10*time.Millisecond)
	t := time.NewTimer(nap)
	defer t.Stop()
	for {
		at := time.Now()
		select {
		case <-h.stop:
			return
		case <-t.C:
			// Now, not the time the timer fired: what counts is when this
			// goroutine got to run.
			late := time.Since(at) - nap
			h.mu.Lock()
			h.hiccupNow = max(h.hiccupNow, late)
			h.mu.Unlock()
			t.Reset(nap)
		}
	}
}

var healthMetrics = []string{
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
}

// sample closes an interval every opt.Interval.
func (h *Health) sample() {
	defer close(h.done)
	samples := make([]metrics.Sample, len(healthMetrics))
	for i, n := range healthMetrics {
		samples[i].Name = n
	}
	metrics.Read(samples)
	prev := snapshot(samples)
	tick := time.NewTicker(h.opt.Interval)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-tick.C:
			metrics.Read(samples)
			cur := snapshot(samples)
			h.close(now, prev, cur)
			prev = cur
		}
	}
}

// metricState is a copy of the cumulative metrics at one instant.
type metricState struct {
	sched, gc *metrics.Float64Histogram
	// cpu is the process's CPU time (user and system) and at when it was read.
	cpu time.Duration
	at  time.Time
}

func snapshot(s []metrics.Sample) metricState {
	var st metricState
	copyHist := func(v metrics.Value) *metrics.Float64Histogram {
		if v.Kind() != metrics.KindFloat64Histogram {
			return nil
		}
		h := v.Float64Histogram()
		return &metrics.Float64Histogram{Counts: slices.Clone(h.Counts), Buckets: h.Buckets}
	}
	st.sched, st.gc = copyHist(s[0].Value), copyHist(s[1].Value)
	st.cpu, st.at = processCPU(), time.Now()
	return st
}

func (h *Health) close(now time.Time, prev, cur metricState) {
	iv := Interval{
		SchedP99: secondsOf(quantileDelta(prev.sched, cur.sched, 0.99)),
		GCPause:  secondsOf(quantileDelta(prev.gc, cur.gc, 1)),
	}
	// A tick that came late is followed by one right away: a share over a few
	// microseconds means nothing.
	if wall := cur.at.Sub(prev.at); wall >= h.opt.Interval/2 && cur.cpu > 0 {
		iv.CPU = float64(cur.cpu-prev.cpu) / (float64(wall) * float64(runtime.GOMAXPROCS(0)))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	iv.Start, iv.Hiccup, h.hiccupNow = h.through, h.hiccupNow, 0
	var why []string
	if iv.Hiccup > h.opt.MaxHiccup {
		why = append(why, fmt.Sprintf("timers %s late", iv.Hiccup.Round(time.Millisecond)))
	}
	if iv.SchedP99 > h.opt.MaxSchedLatency {
		why = append(why, fmt.Sprintf("scheduler latency p99 %s", iv.SchedP99.Round(time.Millisecond)))
	}
	if iv.GCPause > h.opt.MaxGCPause {
		why = append(why, fmt.Sprintf("GC pause %s", iv.GCPause.Round(time.Millisecond)))
	}
	if h.opt.MaxCPU > 0 && iv.CPU > h.opt.MaxCPU {
		why = append(why, fmt.Sprintf("CPU %.0f%% of its cores", 100*iv.CPU))
	}
	iv.Reason = strings.Join(why, ", ")
	h.through = now
	h.total++
	h.worst.Hiccup = max(h.worst.Hiccup, iv.Hiccup)
	h.worst.SchedP99 = max(h.worst.SchedP99, iv.SchedP99)
	h.worst.GCPause = max(h.worst.GCPause, iv.GCPause)
	h.worst.CPU = max(h.worst.CPU, iv.CPU)
	if !iv.Healthy() {
		h.bad++
		from, to := iv.Start.Sub(h.begin), now.Sub(h.begin)
		if n := len(h.windows); n > 0 && h.windows[n-1].To == from {
			w := &h.windows[n-1]
			w.To = to
			for _, r := range why {
				kind, _, _ := strings.Cut(r, " ")
				if !slices.ContainsFunc(w.Reasons, func(s string) bool { return strings.HasPrefix(s, kind) }) {
					w.Reasons = append(w.Reasons, r)
				}
			}
		} else {
			h.windows = append(h.windows, HealthWindow{From: from, To: to, Reasons: why})
		}
	}
	h.ring = append(h.ring, iv)
	if keep := int(h.opt.Keep / h.opt.Interval); len(h.ring) > keep {
		h.ring = slices.Delete(h.ring, 0, len(h.ring)-keep)
	}
}

// Through is the end of the last interval sampled: Healthy can judge spans that
// end before it.
func (h *Health) Through() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.through
}

// Healthy reports whether the generator measured the span [from, to] soundly:
// whether no interval overlapping it was unhealthy by more than a fifth of the
// span (a 60ms hiccup distorts a 100ms step, not a 2s one), and the reasons of
// the first that was. Intervals not sampled yet, or no longer kept, count as
// healthy: call it once Through has passed to.
func (h *Health) Healthy(from, to time.Time) (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i, _ := slices.BinarySearchFunc(h.ring, from, func(iv Interval, t time.Time) int {
		return iv.Start.Add(h.opt.Interval).Compare(t)
	})
	span := to.Sub(from)
	for ; i < len(h.ring) && !h.ring[i].Start.After(to); i++ {
		iv := h.ring[i]
		if !iv.Healthy() && 5*max(iv.Hiccup, iv.SchedP99, iv.GCPause) > span {
			return false, iv.Reason
		}
	}
	return true, ""
}

// HealthReport is what the monitor saw over the whole run.
type HealthReport struct {
	Intervals, Unhealthy int
	// Worst holds the worst of each signal.
	Worst   Interval
	Windows []HealthWindow
}

// Report returns what the monitor saw so far.
func (h *Health) Report() HealthReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HealthReport{Intervals: h.total, Unhealthy: h.bad, Worst: h.worst, Windows: slices.Clone(h.windows)}
}

// quantileDelta is quantile q of the observations cur holds beyond prev (0 when
// none): the upper bound of the bucket it falls in, capped at the last finite one.
func quantileDelta(prev, cur *metrics.Float64Histogram, q float64) float64 {
	if cur == nil {
		return 0
	}
	var total uint64
	counts := make([]uint64, len(cur.Counts))
	for i, c := range cur.Counts {
		if prev != nil && i < len(prev.Counts) {
			c -= prev.Counts[i]
		}
		counts[i] = c
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			hi := cur.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = cur.Buckets[i]
			}
			return hi
		}
	}
	return 0
}

func secondsOf(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
