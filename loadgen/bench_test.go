//go:build unix

package loadgen_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
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
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"session_id":"s-1"}`)
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":"patient-1","roles":["patient"]}`)
	})
	mux.HandleFunc("GET /api/patients/{id}/record", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"patient":"x","entries":[]}`)
	})
	mux.HandleFunc("POST /api/logout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("http://" + l.Addr().String())
	go http.Serve(l, mux)
	io.Copy(io.Discard, os.Stdin)
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
	legacyCfg := journeys.LegacyConfig{
		BaseURL: base,
		Login:   journeys.LegacyLogin{Mode: "json", Path: "/api/login", SessionPath: "session_id"},
		Session: journeys.LegacySession{Header: "X-Session-Id"},
		Me:      journeys.LegacyMe{Path: "/api/me", Subject: "id", Roles: "roles"},
		Logout:  journeys.Endpoint{Method: http.MethodPost, Path: "/api/logout"},
	}
	// 6 probes, then logout and the replay of the first allowed probe: with the
	// login and who-am-I, 10 requests a journey.
	var probes []journeys.Probe
	for i := range 6 {
		probes = append(probes, journeys.Probe{Kind: personas.Patient, Action: "read", Resource: fmt.Sprintf("record:p%d", i), Expect: results.Allow})
	}
	pop := make([]personas.Persona, 200)
	for i := range pop {
		pop[i] = personas.Persona{ID: fmt.Sprintf("patient-%05d", i), Kind: personas.Patient, Username: fmt.Sprintf("p%d", i), Secret: personas.NewSecret("pw")}
	}
	hSent := &counter{next: loadgen.NewGuard([]string{"127.0.0.1"}, journeys.NewTransport(256))}
	legacy, err := journeys.NewLegacy(legacyCfg, hSent)
	if err != nil {
		b.Fatal(err)
	}
	runner := &journeys.Runner{
		Probes:      probes,
		Resources:   map[results.Side]journeys.Resources{results.Legacy: {"record": {"read": {Method: "GET", Path: "/api/patients/{id}/record"}}}},
		Targets:     journeys.NewTargets(personas.Population{Personas: pop}),
		StepTimeout: 10 * time.Second,
	}
	journey := journeys.Journey{Name: "bench", Kinds: []personas.Kind{personas.Patient}, Steps: []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsLogout}}

	harness := func() (requests int64) {
		before := hSent.n.Load()
		pool := loadgen.NewPool(len(pop), 1)
		loadgen.Run(context.Background(), loadgen.Plan{Pacer: loadgen.Constant{PerSecond: journeyRate}, Duration: span, MaxInFlight: 256},
			func(ctx context.Context, t loadgen.Tick) bool {
				i, ok := pool.Acquire(t.N, nil)
				if !ok {
					return false
				}
				defer pool.Release(i)
				runner.Run(ctx, journey, results.Legacy, legacy, pop[i], journeys.Iteration{N: t.N, Intended: t.Intended},
					func(r *results.Record) {
						if r.Outcome != results.OK {
							b.Errorf("harness step %s: %s", r.Step, r.Error)
						}
					})
				return true
			})
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
	vSent := &counter{next: journeys.NewTransport(256)}
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
	h := float64(hCPU.Microseconds()) / float64(hReq)
	v := float64(vCPU.Microseconds()) / float64(vReq)
	b.Logf("%d harness and %d vegeta requests, %s and %s of CPU", hReq, vReq, hCPU, vCPU)
	b.ReportMetric(h, "harness-cpu-µs/req")
	b.ReportMetric(v, "vegeta-cpu-µs/req")
	b.ReportMetric(h/v, "cost-ratio")
}
