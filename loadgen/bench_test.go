//go:build unix

package loadgen_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// The benchmark's target runs in a child process (this test binary again, with
// benchTargetEnv set), so the CPU the benchmark measures is the load generator's
// alone, not the server's.
const benchTargetEnv = "CUTOVER_BENCH_TARGET"

func TestMain(m *testing.M) {
	if os.Getenv(benchTargetEnv) != "" {
		serveBenchTarget()
		return
	}
	os.Exit(m.Run())
}

// serveBenchTarget serves a minimal homegrown stack on loopback, prints its URL and
// serves until its standard input closes.
func serveBenchTarget() {
	mux := benchStack(0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("http://" + l.Addr().String())
	go http.Serve(l, mux)
	io.Copy(io.Discard, os.Stdin)
}

// benchStack is a minimal homegrown stack whose patient record answers after
// delay; its other endpoints answer at once.
func benchStack(delay time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"session_id":"s-1"}`)
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":"patient-1","roles":["patient"]}`)
	})
	mux.HandleFunc("GET /api/patients/{id}/record", func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			time.Sleep(delay)
		}
		io.WriteString(w, `{"patient":"x","entries":[]}`)
	})
	mux.HandleFunc("POST /api/logout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return mux
}

func startBenchTarget(b *testing.B) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchTargetEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(url)
}

// counter counts the requests a transport sends, the same way for both
// generators.
type counter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// cpu is the CPU time (user + system) this process has used.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchHarness is the journey side of the benchmarks: the declarative legacy
// adapter on a benchStack, 200 patients, and a journey of login, 6 probes and
// logout (10 requests with the who-am-I and the replay after logout).
type benchHarness struct {
	pop     []personas.Persona
	legacy  journeys.Stack
	runner  *journeys.Runner
	journey journeys.Journey
}

func newBenchHarness(b *testing.B, base string, rt http.RoundTripper) benchHarness {
	b.Helper()
	legacyCfg := legacy.Config{
		BaseURL: base,
		Login:   legacy.Login{Mode: "json", Path: "/api/login", SessionPath: "session_id"},
		Session: legacy.SessionCarrier{Header: "X-Session-Id"},
		Me:      legacy.Me{Path: "/api/me", Subject: adapter.F("id"), Roles: adapter.F("roles")},
		Logout:  legacy.Endpoint{Method: http.MethodPost, Path: "/api/logout"},
	}
	var probes []journeys.Probe
	for i := range 6 {
		probes = append(probes, journeys.Probe{Kind: personas.Patient, Action: "read", Resource: fmt.Sprintf("record:p%d", i), Expect: record.Allow})
	}
	pop := make([]personas.Persona, 200)
	for i := range pop {
		pop[i] = personas.Persona{ID: fmt.Sprintf("patient-%05d", i), Kind: personas.Patient, Username: fmt.Sprintf("p%d", i), Secret: personas.NewSecret("pw")}
	}
	legacy, err := legacy.New(legacyCfg, rt)
	if err != nil {
		b.Fatal(err)
	}
	return benchHarness{
		pop:    pop,
		legacy: legacy,
		runner: &journeys.Runner{
			Probes:      probes,
			Resources:   map[record.Side]journeys.Resources{record.Legacy: {"record": {"read": {Method: "GET", Path: "/api/patients/{id}/record"}}}},
			Targets:     journeys.NewTargets(personas.Population{Personas: pop}),
			StepTimeout: 10 * time.Second,
		},
		journey: journeys.Journey{Name: "bench", Kinds: []personas.Kind{personas.Patient}, Steps: []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsLogout}},
	}
}

// run runs the journey at rate for span through loadgen.Run and the persona pool,
// as a rehearsal does, fails the benchmark on any step that errored or was
// skipped (the adapter's "unsupported" refresh revocation is fine), and hands every
// record to emit, if any (from many goroutines).
func (h benchHarness) run(b *testing.B, rate float64, span time.Duration, emit func(*record.Record)) {
	pool := loadgen.NewPool(len(h.pop), 1)
	loadgen.Run(context.Background(), loadgen.Plan{Pacer: loadgen.Constant{PerSecond: rate}, Duration: span, MaxInFlight: 256},
		func(ctx context.Context, t loadgen.Tick) error {
			i, ok := pool.Acquire(t.N, nil)
			if !ok {
				return &loadgen.NoIdlePersona{Journey: "bench", Pool: len(h.pop)}
			}
			defer pool.Release(i)
			h.runner.Run(ctx, h.journey, record.Legacy, h.legacy, h.pop[i], journeys.Iteration{N: t.N, Intended: t.Intended},
				func(r *record.Record) {
					if r.Outcome == record.Error || r.Outcome == record.Skipped {
						b.Errorf("step %s: %s %s", r.Step, r.Outcome, r.Error)
					}
					if emit != nil {
						emit(r)
					}
				})
			return nil
		})
}

// BenchmarkSchedulerAndJourneysVsVegeta runs the same requests against the same
// target at the same rate, once through the scheduler and the journey engine
// (loadgen.Run, the persona pool, journeys.Runner on the declarative legacy
// adapter, one record per step) and once through raw vegeta (an Attacker cycling
// through the very same requests, its results drained). It reports the CPU each
// spends per request and their ratio: what the harness's honesty costs.
func BenchmarkSchedulerAndJourneysVsVegeta(b *testing.B) {
	base := startBenchTarget(b)
	const (
		journeyRate = 100 // journeys per second, 10 requests each
		span        = time.Second
	)
	hSent := &counter{next: loadgen.NewGuard([]string{"127.0.0.1"}, adapter.NewTransport(256))}
	h := newBenchHarness(b, base, hSent)
	harness := func() (requests int64) {
		before := hSent.n.Load()
		h.run(b, journeyRate, span, nil)
		return hSent.n.Load() - before
	}

	// The journey's requests, as vegeta targets, in the same order.
	session := http.Header{"X-Session-Id": {"s-1"}}
	var seq []vegeta.Target
	seq = append(seq, vegeta.Target{Method: http.MethodPost, URL: base + "/api/login", Body: []byte(`{"password":"pw","username":"p1"}`), Header: http.Header{"Content-Type": {"application/json"}}})
	seq = append(seq, vegeta.Target{Method: http.MethodGet, URL: base + "/api/me", Header: session})
	for i := range 6 {
		seq = append(seq, vegeta.Target{Method: http.MethodGet, URL: fmt.Sprintf("%s/api/patients/p%d/record", base, i), Header: session})
	}
	seq = append(seq, vegeta.Target{Method: http.MethodPost, URL: base + "/api/logout", Header: session})
	seq = append(seq, vegeta.Target{Method: http.MethodGet, URL: base + "/api/patients/p0/record", Header: session})
	vSent := &counter{next: adapter.NewTransport(256)}
	raw := func() (requests int64) {
		before := vSent.n.Load()
		var next atomic.Uint64
		targeter := func(t *vegeta.Target) error {
			*t = seq[(next.Add(1)-1)%uint64(len(seq))]
			return nil
		}
		atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: vSent}))
		for res := range atk.Attack(targeter, loadgen.Constant{PerSecond: journeyRate * float64(len(seq))}, span, "bench") {
			if res.Code < 200 || res.Code >= 300 {
				b.Errorf("vegeta: HTTP %d %s", res.Code, res.Error)
			}
		}
		return vSent.n.Load() - before
	}

	var hCPU, vCPU time.Duration
	var hReq, vReq int64
	measure := func(f func() int64, into *time.Duration, n *int64) {
		before := cpu()
		*n += f()
		*into += cpu() - before
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			measure(harness, &hCPU, &hReq)
			measure(raw, &vCPU, &vReq)
		} else {
			measure(raw, &vCPU, &vReq)
			measure(harness, &hCPU, &hReq)
		}
		i++
	}
	hc := float64(hCPU.Microseconds()) / float64(hReq)
	vc := float64(vCPU.Microseconds()) / float64(vReq)
	b.Logf("%d harness and %d vegeta requests, %s and %s of CPU", hReq, vReq, hCPU, vCPU)
	b.ReportMetric(hc, "harness-cpu-µs/req")
	b.ReportMetric(vc, "vegeta-cpu-µs/req")
	b.ReportMetric(hc/vc, "cost-ratio")
}

// BenchmarkLatencyAccuracy drives the journey through the scheduler and the
// journey engine against a stack whose record answers after exactly delay
// (a sleep in the handler), at a modest rate, and reports the p50 and p99 the
// harness records for the probes (HDR, through results.Stats as a report does)
// against that true delay: just above 1 is the price of loopback and Go's timers;
// far above 1 would be the harness adding latency it then blames on the stack.
// Raw vegeta runs the same resource at the same rate in the same loop as the
// control: on a busy machine both tails stretch, and vegeta-p99/true says by how
// much the machine alone stretches them.
//
//	go test -run '^$' -bench LatencyAccuracy -benchtime 1x ./loadgen
func BenchmarkLatencyAccuracy(b *testing.B) {
	const (
		delay       = 20 * time.Millisecond
		journeyRate = 50 // journeys per second, 6 probes each
		span        = 2 * time.Second
	)
	srv := httptest.NewServer(benchStack(delay))
	b.Cleanup(srv.Close)
	h := newBenchHarness(b, srv.URL, loadgen.NewGuard([]string{"127.0.0.1"}, adapter.NewTransport(256)))
	stats := analysis.NewStats(time.Now())
	var mu sync.Mutex
	// The control: raw vegeta on the same resource at the same probe rate, right
	// after, so a tail that vegeta sees too is the machine's, not the harness's.
	recordTarget := vegeta.Target{Method: http.MethodGet, URL: srv.URL + "/api/patients/p0/record"}
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: adapter.NewTransport(256)}))
	var control vegeta.Metrics
	for b.Loop() {
		h.run(b, journeyRate, span, func(r *record.Record) {
			if r.Step == record.StepProbe {
				mu.Lock()
				stats.Add(r)
				mu.Unlock()
			}
		})
		for res := range atk.Attack(vegeta.NewStaticTargeter(recordTarget), loadgen.Constant{PerSecond: journeyRate * 6}, span, "control") {
			control.Add(res)
		}
	}
	control.Close()
	probe := stats.Side(analysis.StepKey{Journey: h.journey.Name, Step: record.StepProbe}, record.Legacy)
	if probe == nil || probe.Count == 0 {
		b.Fatal("no probe was recorded")
	}
	p50, p99 := probe.Quantile(50), probe.Quantile(99)
	b.Logf("%d probes against a %s delay: p50 %s, p99 %s; vegeta, %d requests: p50 %s, p99 %s",
		probe.Count, delay, p50, p99, control.Requests, control.Latencies.P50, control.Latencies.P99)
	b.ReportMetric(float64(p50.Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1e3, "p99-ms")
	b.ReportMetric(float64(p50)/float64(delay), "p50/true")
	b.ReportMetric(float64(p99)/float64(delay), "p99/true")
	b.ReportMetric(float64(control.Latencies.P99)/float64(delay), "vegeta-p99/true")
}

// BenchmarkTransportCPU runs the journey of BenchmarkSchedulerAndJourneysVsVegeta
// at the same rate against the same target (a child process) through the
// generator's transport (the guard's, which writes and reads each request on
// the goroutine that sends it) and through net/http's Transport with the same
// limits, alternating, and reports the CPU each spends per request and their
// ratio.
//
//	go test -run '^$' -bench TransportCPU -benchtime 5x ./loadgen
func BenchmarkTransportCPU(b *testing.B) {
	base := startBenchTarget(b)
	const (
		journeyRate = 100 // journeys per second, 10 requests each
		span        = time.Second
	)
	type arm struct {
		sent *counter
		h    benchHarness
		cpu  time.Duration
		reqs int64
	}
	newArm := func(rt http.RoundTripper) *arm {
		a := &arm{sent: &counter{next: rt}}
		a.h = newBenchHarness(b, base, a.sent)
		return a
	}
	conn := newArm(loadgen.NewGuard([]string{"127.0.0.1"}, adapter.NewTransport(256)))
	std := newArm(adapter.NewTransport(256))
	run := func(a *arm) {
		before, sent := cpu(), a.sent.n.Load()
		a.h.run(b, journeyRate, span, nil)
		a.cpu += cpu() - before
		a.reqs += a.sent.n.Load() - sent
	}
	// A round of each first, unmeasured: connections dialled, pools filled.
	conn.h.run(b, journeyRate, span/4, nil)
	std.h.run(b, journeyRate, span/4, nil)
	i := 0
	for b.Loop() {
		order := []*arm{conn, std}
		if i%2 == 1 {
			order = []*arm{std, conn}
		}
		for _, a := range order {
			run(a)
		}
		i++
	}
	cc := float64(conn.cpu.Microseconds()) / float64(conn.reqs)
	sc := float64(std.cpu.Microseconds()) / float64(std.reqs)
	b.Logf("%d requests through the guard's transport, %d through net/http's: %s and %s of CPU", conn.reqs, std.reqs, conn.cpu, std.cpu)
	b.ReportMetric(cc, "conn-cpu-µs/req")
	b.ReportMetric(sc, "nethttp-cpu-µs/req")
	b.ReportMetric(cc/sc, "conn/nethttp")
}
