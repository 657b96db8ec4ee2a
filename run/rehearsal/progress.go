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
// plain lines at a steady pace otherwise (CI logs, files, tests), always
// within the terminal's width (80 columns off a terminal).
type progress struct {
	m     *meter
	pacer vegeta.Pacer
	total time.Duration
	w     io.Writer
	begin time.Time
	// window is how far back the achieved rates look: a rate over a few
	// seconds is steady at a steady schedule, where one over the last quarter
	// second jumps with each start.
	window time.Duration

	// samples of the journeys begun, oldest first, back to window ago
	samples []progressSample
}

type progressSample struct {
	at    time.Duration
	begun [2]int64
}

// plainWidth is the width of a progress line off a terminal.
const plainWidth = 80

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress shows the run's progress on w until the returned stop is called.
func startProgress(ctx context.Context, w io.Writer, m *meter, pacer vegeta.Pacer, total time.Duration) (stop func()) {
	every := min(max(total/12, time.Second), 10*time.Second)
	p := &progress{m: m, pacer: pacer, total: total, w: w, begin: time.Now(), window: max(5*time.Second, every)}
	var bar *progressbar.ProgressBar
	width := plainWidth // a line that wraps cannot be redrawn in place
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		if width, _, _ = term.GetSize(int(f.Fd())); width <= 0 {
			width = plainWidth
		}
		every = 250 * time.Millisecond
		bar = progressbar.NewOptions64(total.Milliseconds(),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(barWidth),
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
				s := p.sample()
				if bar != nil {
					bar.Describe(s.line(width - barColumns))
					_ = bar.Set64(min(time.Since(p.begin), p.total).Milliseconds())
				} else {
					for _, l := range s.lines(plainWidth - len("cutover: ")) {
						fmt.Fprintf(w, "cutover: %s\n", l)
					}
				}
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// barWidth is the bar's width in the terminal; barColumns what the bar and
// its percentage take ("100% |██████████| ").
const (
	barWidth   = 10
	barColumns = barWidth + 8
)

// snapshot is one reading of the meter.
type snapshot struct {
	elapsed, total       time.Duration
	target               float64
	rates                [2]float64 // journeys begun per second, over the window
	errors               [2]int64
	disagreements        int64
	inFlight, late, drop int64
}

// sample reads the meter once: the journeys each stack began per second over
// the last window against the target, its availability errors, the
// comparisons that disagreed so far, journeys in flight, late and dropped
// starts.
func (p *progress) sample() snapshot {
	elapsed := time.Since(p.begin)
	cur := progressSample{at: elapsed}
	for i := range cur.begun {
		cur.begun[i] = p.m.begun[i].Load()
	}
	p.samples = append(p.samples, cur)
	for len(p.samples) > 2 && elapsed-p.samples[1].at >= p.window {
		p.samples = p.samples[1:]
	}
	s := snapshot{
		elapsed: min(elapsed, p.total).Round(time.Second), total: p.total, target: p.pacer.Rate(min(elapsed, p.total)),
		disagreements: p.m.findings.Load(), inFlight: p.m.live.InFlight.Load(), late: p.m.live.Late.Load(), drop: p.m.live.Dropped.Load(),
	}
	// Over the window: from the newest sample at least a window old (or the
	// run's start, when nothing was begun).
	first := progressSample{}
	if len(p.samples) > 1 {
		first = p.samples[0]
	}
	if dt := (cur.at - first.at).Seconds(); dt > 0 {
		for i := range s.rates {
			s.rates[i] = float64(cur.begun[i]-first.begun[i]) / dt
		}
	}
	for i := range s.errors {
		s.errors[i] = p.m.errors[i].Load()
	}
	return s
}

// lines writes the snapshot off a terminal: what ran, what went wrong, and
// how the starts fared, each line at most width columns.
func (s snapshot) lines(width int) []string {
	return []string{
		clip(fmt.Sprintf("%s/%s journeys/s: legacy %.1f, candidate %.1f (target %.1f)", s.elapsed, s.total, s.rates[0], s.rates[1], s.target), width),
		clip(fmt.Sprintf("  errors: legacy %d, candidate %d; comparisons disagreed: %d", s.errors[0], s.errors[1], s.disagreements), width),
		clip(fmt.Sprintf("  starts: %d in flight, %d late, %d dropped", s.inFlight, s.late, s.drop), width),
	}
}

// line writes the snapshot beside the bar in at most width columns: what
// matters most is kept (rates, errors, disagreements, dropped starts), the
// rest as room allows. L|C are legacy|candidate.
func (s snapshot) line(width int) string {
	segs := []struct {
		text string
		rank int // lower is kept first
	}{
		{fmt.Sprintf("%s/%s", s.elapsed, s.total), 0},
		{fmt.Sprintf("L|C %.1f|%.1f/s", s.rates[0], s.rates[1]), 1},
		{fmt.Sprintf("target %.1f/s", s.target), 6},
		{fmt.Sprintf("errors %d|%d", s.errors[0], s.errors[1]), 2},
		{fmt.Sprintf("%d disagreed", s.disagreements), 3},
		{fmt.Sprintf("%d dropped", s.drop), 4},
		{fmt.Sprintf("%d late", s.late), 5},
		{fmt.Sprintf("%d in flight", s.inFlight), 7},
	}
	keep := make([]bool, len(segs))
	used := -2
	for rank := range 8 {
		for i, sg := range segs {
			if sg.rank == rank && used+2+len([]rune(sg.text)) <= width {
				keep[i], used = true, used+2+len([]rune(sg.text))
			}
		}
	}
	var out []string
	for i, sg := range segs {
		if keep[i] {
			out = append(out, sg.text)
		}
	}
	return strings.Join(out, "  ")
}

// clip cuts a line to width columns.
func clip(s string, width int) string {
	if r := []rune(s); len(r) > width {
		return string(r[:max(width-1, 0)]) + "…"
	}
	return s
}
