package loadgen

import (
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// TestHealthSeesAStarvedGenerator: busy goroutines on every core, and as many busy
// processes, make the generator's timers late and its scheduler queue: the
// monitor marks those intervals, and Healthy says so, with a reason, for a span
// inside them. (Nothing is asserted of the quiet part: a CI machine is never
// quiet.)
func TestHealthSeesAStarvedGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs busy loops for two seconds")
	}
	h := StartHealth(HealthOptions{Interval: 50 * time.Millisecond, MaxHiccup: 10 * time.Millisecond, MaxSchedLatency: 10 * time.Millisecond})
	time.Sleep(500 * time.Millisecond)
	stop := make(chan struct{})
	for range 4 * runtime.GOMAXPROCS(0) {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 1e6; i++ {
				}
			}
		}()
	}
	var hogs []*exec.Cmd
	for range runtime.NumCPU() {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if err := c.Start(); err == nil {
			hogs = append(hogs, c)
		}
	}
	busyStart := time.Now()
	time.Sleep(1500 * time.Millisecond)
	busyEnd := time.Now()
	close(stop)
	for _, c := range hogs {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	time.Sleep(200 * time.Millisecond)
	h.Stop()
	r := h.Report()
	t.Logf("report: %+v", r)
	if r.Unhealthy == 0 {
		t.Fatalf("no unhealthy interval while %d busy goroutines and %d busy processes ran: %+v", 4*runtime.GOMAXPROCS(0), len(hogs), r)
	}
	// A short step inside an unhealthy window was measured by a starved
	// generator; the whole busy span, seconds long, is not distorted by a
	// hiccup a fraction of its length.
	w := r.Windows[len(r.Windows)/2]
	from := h.begin.Add(w.From)
	if ok, why := h.Healthy(from, from.Add(10*time.Millisecond)); ok {
		t.Errorf("Healthy(10ms inside %s-%s) = true; want false", w.From, w.To)
	} else if why == "" {
		t.Errorf("Healthy(10ms inside the window): no reason given")
	}
	if ok, _ := h.Healthy(busyStart, busyEnd.Add(10*time.Second)); !ok {
		t.Errorf("Healthy(a 11s span) = false; want true: no hiccup of the run is a fifth of it")
	}
}
