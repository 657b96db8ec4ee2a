package rehearsal

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/term"

	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/results/record"
)

// meter counts what the progress display shows. The hot path only adds to atomic
// counters; the display samples them a few times a second, so watching a run
// costs it nothing measurable.
type meter struct {
	live loadgen.Live
	// begun counts the journeys begun on each side; errors the records of each
	// side that ended in an availability error (the pipeline goroutine's).
	begun, errors [2]atomic.Int64
	findings      atomic.Int64
}

func sideIndex(s record.Side) int {
	if s == record.Candidate {
		return 1
	}
	return 0
}

// record accounts one record; the pipeline goroutine calls it.
func (m *meter) record(r *record.Record) {
	if r.Outcome == record.Error {
		m.errors[sideIndex(r.Side)].Add(1)
	}
}

// progress renders a meter on w: a bar redrawn in place when w is a terminal,
// plain lines at a steady pace otherwise (CI logs, files, tests).
type progress struct {
	m     *meter
	pacer vegeta.Pacer
	total time.Duration
	w     io.Writer
	begin time.Time

	// last sample, for the achieved rates
	at    time.Duration
	begun [2]int64
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress shows the run's progress on w until the returned stop is called.
func startProgress(ctx context.Context, w io.Writer, m *meter, pacer vegeta.Pacer, total time.Duration) (stop func()) {
	p := &progress{m: m, pacer: pacer, total: total, w: w, begin: time.Now()}
	every := min(max(total/12, time.Second), 10*time.Second)
	var bar *progressbar.ProgressBar
	width := 0 // of the terminal: a line that wraps cannot be redrawn in place
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		if width, _, _ = term.GetSize(int(f.Fd())); width <= 0 {
			width = 80
		}
		every = 250 * time.Millisecond
		bar = progressbar.NewOptions64(total.Milliseconds(),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if bar != nil {
					_ = bar.Finish()
				}
				return
			case <-t.C:
				line := p.sample()
				if bar != nil {
					// The bar and its percentage take 35 columns.
					if r := []rune(line); len(r) > width-35 {
						line = string(r[:max(width-36, 0)]) + "…"
					}
					bar.Describe(line)
					_ = bar.Set64(min(time.Since(p.begin), p.total).Milliseconds())
				} else {
					fmt.Fprintf(w, "cutover: %s\n", line)
				}
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// sample reads the meter once and describes it: elapsed and total, the target rate,
// the rate of journeys each stack achieved since the last sample and its
// availability errors, findings so far, journeys in flight, late and dropped
// starts.
func (p *progress) sample() string {
	elapsed := time.Since(p.begin)
	dt := (elapsed - p.at).Seconds()
	var rates [2]float64
	for i := range p.begun {
		n := p.m.begun[i].Load()
		if dt > 0 {
			rates[i] = float64(n-p.begun[i]) / dt
		}
		p.begun[i] = n
	}
	p.at = elapsed
	m := p.m
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s  target %.1f/s  legacy %.1f/s %d errors  candidate %.1f/s %d errors  findings %d  in flight %d  late %d  dropped %d",
		min(elapsed, p.total).Round(time.Second), p.total, p.pacer.Rate(min(elapsed, p.total)),
		rates[0], m.errors[0].Load(), rates[1], m.errors[1].Load(), m.findings.Load(),
		m.live.InFlight.Load(), m.live.Late.Load(), m.live.Dropped.Load())
	return b.String()
}
