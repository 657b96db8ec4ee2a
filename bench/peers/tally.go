package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Tools, in the order of the tables: cutover first, the peers after; a
// "-full" peer runs cutover's own journey (the same requests in the same
// order), the others the peers' shorter one.
var tools = []string{"cutover", "locust-full", "artillery-full", "locust", "artillery", "vegeta"}

// Meta is what run.sh writes about a run beside its outputs (run.json).
type Meta struct {
	Tool      string  `json:"tool"`
	Phase     string  `json:"phase"` // steady, ramp or wire
	Round     int     `json:"round"`
	Rate      float64 `json:"rate"` // journeys per second
	DurationS float64 `json:"duration_s"`
	// JourneyRequests is how many of vegeta's requests make one journey.
	JourneyRequests int `json:"journey_requests,omitempty"`
}

// Quantiles are latencies in milliseconds.
type Quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Run is one run of one tool, as its own outputs and the measurements tell it.
type Run struct {
	Meta
	Dir     string   `json:"dir"`
	Process *Process `json:"process,omitempty"`
	Wire    *Wire    `json:"wire,omitempty"`
	// Journeys started, completed and failed, by the tool's own count (vegeta:
	// its requests, JourneyRequests to a journey). A journey neither completed
	// nor failed was cut by the end of the run.
	Started   int `json:"started"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// Requests is the tool's own count of the requests it sent (cutover: the
	// distinct endpoints of each step, a lower bound; the wire phase counts them
	// all).
	Requests int `json:"requests"`
	// StartRate is Started over the configured duration, where the tool stops
	// starting journeys then (cutover, Locust); Artillery's journeys started
	// within that long of its first, vegeta's own rate. ErrorPct is Failed over
	// Started.
	StartRate float64 `json:"start_rate"`
	ErrorPct  float64 `json:"error_pct"`
	// Refresh is the refresh grant's POST /token as the tool timed it; Code the
	// authorization code's (cutover times it inside its login step only).
	Refresh *Quantiles `json:"refresh_ms,omitempty"`
	Code    *Quantiles `json:"code_ms,omitempty"`
	// Late and Dropped are cutover's own account of starts it made late or not
	// at all (no slot within max_delay, or no persona of the journey idle).
	Late    int `json:"late,omitempty"`
	Dropped int `json:"dropped,omitempty"`
	// Error says why the run's outputs could not be read (a tool that died
	// under load writes none): the run counts as off schedule.
	Error string `json:"error,omitempty"`
}

// OnSchedule reports whether the run kept its rate: starts at >= 95% of the
// target, and fewer than 1% of the journeys failed.
func (r Run) OnSchedule() bool {
	return r.Error == "" && r.StartRate >= 0.95*r.Rate && r.ErrorPct < 1
}

// tally reads DIR/runs/*/ and writes DIR/results.json and DIR/results.md.
func tally(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("tally: want DIR (the folder of run.sh: DIR/runs/*)")
	}
	dir := args[0]
	runs, err := readRuns(filepath.Join(dir, "runs"))
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("tally: no runs in %s/runs", dir)
	}
	var machine map[string]any
	if data, err := os.ReadFile(filepath.Join(dir, "machine.json")); err == nil {
		if err := json.Unmarshal(data, &machine); err != nil {
			return fmt.Errorf("tally: machine.json: %w", err)
		}
	}
	res := summarize(runs)
	res.Machine = machine
	if d, ok := machine["date"].(string); ok {
		res.Date = d // the run's, not the tally's
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	md := markdown(res)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	_, err = io.WriteString(stdout, md)
	return err
}

// Results is what results.json holds: every run, and the figures of the tables.
type Results struct {
	Date    string         `json:"date"`
	Machine map[string]any `json:"machine,omitempty"`
	Steady  []Figures      `json:"steady"`
	Ramp    []Ramp         `json:"ramp"`
	Runs    []Run          `json:"runs"`
}

// Figures are one tool's steady rounds, a value a round; the tables show
// their medians.
type Figures struct {
	Tool   string  `json:"tool"`
	Rounds int     `json:"rounds"`
	Rate   float64 `json:"rate"`
	// Per round, in round order.
	StartRate      []float64 `json:"start_rate"`
	ErrorPct       []float64 `json:"error_pct"`
	Completed      []int     `json:"completed"`
	CPUWholeMS     []float64 `json:"cpu_ms_per_journey_whole_run"`
	CPULoadMS      []float64 `json:"cpu_ms_per_journey_at_load"`
	CPULoadUSPerRq []float64 `json:"cpu_us_per_request_at_load"`
	RSSMiB         []float64 `json:"peak_rss_mib"`
	Load1          []float64 `json:"load1_end"`
	// Ratios to cutover's figure of the same round.
	RatioLoad    []float64 `json:"ratio_at_load"`
	RatioRequest []float64 `json:"ratio_per_request_at_load"`
	RatioWhole   []float64 `json:"ratio_whole_run"`
	// RequestsPerJourney is counted on the wire (the wire phase) where it ran,
	// else from the tool's own count; WireByEndpoint per journey.
	RequestsPerJourney float64            `json:"requests_per_journey"`
	PerJourneyFrom     string             `json:"requests_per_journey_from"`
	WireByEndpoint     map[string]float64 `json:"wire_by_endpoint_per_journey,omitempty"`
	// Refresh is the refresh latency of the round whose p50 is the median.
	Refresh *Quantiles `json:"refresh_ms,omitempty"`
}

// Ramp is one tool's short runs at rising rates.
type Ramp struct {
	Tool    string      `json:"tool"`
	Highest float64     `json:"highest_on_schedule"` // 0: none
	Points  []RampPoint `json:"points"`
	// MarginalMS is the CPU a journey more costs: the slope of LoadCPU from the
	// lowest rate to the highest on schedule (nil without two such rates).
	MarginalMS *float64 `json:"marginal_cpu_ms_per_journey,omitempty"`
}

// RampPoint is one rate of a ramp.
type RampPoint struct {
	Rate       float64 `json:"rate"`
	StartRate  float64 `json:"start_rate"`
	ErrorPct   float64 `json:"error_pct"`
	OnSchedule bool    `json:"on_schedule"`
	CPUS       float64 `json:"cpu_s"`
	// LoadCPU is the generator's CPU seconds a second over its load window.
	LoadCPU float64 `json:"load_cpu_per_s"`
	Load1   float64 `json:"load1_end"`
	Error   string  `json:"error,omitempty"`
}

func summarize(runs []Run) Results {
	res := Results{Date: time.Now().UTC().Format(time.DateOnly), Runs: runs}
	slices.SortFunc(runs, func(a, b Run) int {
		return cmp.Or(cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Round, b.Round), cmp.Compare(a.Rate, b.Rate),
			cmp.Compare(slices.Index(tools, a.Tool), slices.Index(tools, b.Tool)))
	})
	wirePer := map[string]*Run{}
	for i, r := range runs {
		if r.Phase == "wire" && r.Wire != nil && r.Completed > 0 && r.Error == "" {
			wirePer[r.Tool] = &runs[i]
		}
	}
	// cutover's figures by round, for the ratios.
	base := map[int][3]float64{}
	for _, tool := range tools {
		f := Figures{Tool: tool}
		var refresh []*Quantiles
		for _, r := range runs {
			if r.Tool != tool || r.Phase != "steady" || r.Process == nil || r.Completed == 0 || r.Error != "" {
				continue
			}
			per, from := requestsPerJourney(r, wirePer[tool])
			f.RequestsPerJourney, f.PerJourneyFrom = per, from
			p := r.Process
			whole := 1000 * (p.UserS + p.SysS) / float64(r.Completed)
			// The journeys of the load window: the window's share of the run's.
			inWindow := float64(r.Completed) * min(1, p.LoadWindowS/r.DurationS)
			if inWindow == 0 || per == 0 {
				continue // it never reached the target
			}
			atLoad := 1000 * p.LoadCPUS / inWindow
			f.Rounds++
			f.Rate = r.Rate
			f.StartRate = append(f.StartRate, r.StartRate)
			f.ErrorPct = append(f.ErrorPct, r.ErrorPct)
			f.Completed = append(f.Completed, r.Completed)
			f.CPUWholeMS = append(f.CPUWholeMS, whole)
			f.CPULoadMS = append(f.CPULoadMS, atLoad)
			f.CPULoadUSPerRq = append(f.CPULoadUSPerRq, 1000*atLoad/per)
			f.RSSMiB = append(f.RSSMiB, float64(max(p.MaxRSSKiB, p.TreeRSSKiB))/1024)
			f.Load1 = append(f.Load1, p.Load1End)
			perRequest := 1000 * atLoad / per
			if tool == "cutover" {
				base[r.Round] = [3]float64{atLoad, perRequest, whole}
			}
			if b, ok := base[r.Round]; ok {
				f.RatioLoad = append(f.RatioLoad, atLoad/b[0])
				f.RatioRequest = append(f.RatioRequest, perRequest/b[1])
				f.RatioWhole = append(f.RatioWhole, whole/b[2])
			}
			if r.Refresh != nil {
				refresh = append(refresh, r.Refresh)
			}
		}
		if w := wirePer[tool]; w != nil {
			f.WireByEndpoint = map[string]float64{}
			for ep, n := range w.Wire.ByEndpoint {
				f.WireByEndpoint[ep] = float64(n) / float64(w.Completed)
			}
		}
		if len(refresh) > 0 {
			slices.SortFunc(refresh, func(a, b *Quantiles) int { return cmp.Compare(a.P50, b.P50) })
			f.Refresh = refresh[len(refresh)/2]
		}
		if f.Rounds > 0 {
			res.Steady = append(res.Steady, f)
		}

		rp := Ramp{Tool: tool}
		for _, r := range runs {
			if r.Tool != tool || r.Phase != "ramp" {
				continue
			}
			pt := RampPoint{Rate: r.Rate, StartRate: r.StartRate, ErrorPct: r.ErrorPct, OnSchedule: r.OnSchedule(), Error: r.Error}
			if p := r.Process; p != nil {
				pt.CPUS, pt.Load1 = p.UserS+p.SysS, p.Load1End
				if p.LoadWindowS > 0 {
					pt.LoadCPU = p.LoadCPUS / p.LoadWindowS
				}
			}
			rp.Points = append(rp.Points, pt)
			if pt.OnSchedule && r.Rate > rp.Highest {
				rp.Highest = r.Rate
			}
		}
		rp.MarginalMS = marginal(rp)
		if len(rp.Points) > 0 {
			res.Ramp = append(res.Ramp, rp)
		}
	}
	return res
}

// marginal is the slope, in CPU ms a journey, of the generator's CPU a second
// from the ramp's lowest rate to its highest on schedule; nil without two.
func marginal(rp Ramp) *float64 {
	var lo, hi *RampPoint
	for i, p := range rp.Points {
		if !p.OnSchedule || p.LoadCPU == 0 {
			continue
		}
		if lo == nil || p.StartRate < lo.StartRate {
			lo = &rp.Points[i]
		}
		if hi == nil || p.StartRate > hi.StartRate {
			hi = &rp.Points[i]
		}
	}
	if lo == nil || hi == lo || hi.StartRate <= lo.StartRate {
		return nil
	}
	v := 1000 * (hi.LoadCPU - lo.LoadCPU) / (hi.StartRate - lo.StartRate)
	return &v
}

// requestsPerJourney is the wire count per completed journey of the tool's
// wire run when there is one, else the tool's own count per started journey.
func requestsPerJourney(r Run, w *Run) (float64, string) {
	if w != nil {
		return float64(w.Wire.Requests) / float64(w.Completed), "wire"
	}
	if r.Started > 0 {
		return float64(r.Requests) / float64(r.Started), "tool"
	}
	return 0, "none"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is "m" for one value, "m (lo-hi)" for more.
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "-"
	}
	m := fmt.Sprintf(format, median(v))
	if len(v) == 1 {
		return m
	}
	return fmt.Sprintf("%s (%s-%s)", m, fmt.Sprintf(format, slices.Min(v)), fmt.Sprintf(format, slices.Max(v)))
}

// runs of a journey, for the table's first column.
var journeyOf = map[string]string{
	"cutover":        "sign-in (authorize, form, code), refresh, replay checks, re-sign-in, revoke, introspect; every token verified; records written",
	"locust-full":    "cutover's journey, request for request: sign-in, refresh, replay and family checks, re-sign-in, revoke both tokens, introspect both, refresh after logout; no token verified, no record (FastHttpUser)",
	"artillery-full": "cutover's journey, request for request, as locust-full (one virtual user a journey)",
	"locust":         "the peers' journey: authorize (form), POST form, code for tokens, refresh, revoke (FastHttpUser)",
	"artillery":      "the peers' journey: authorize (form), POST form, code for tokens, refresh, revoke (one virtual user a journey)",
	"vegeta":         "GET discovery, five times (the floor: as many requests, no journey)",
}

func markdown(res Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Beside Locust, Artillery and vegeta: %s\n\n", res.Date)
	if m := res.Machine; m != nil {
		fmt.Fprintf(&b, "Machine: %v cores, %v, %v; %v. Load average (1 min) at the start of the benchmark: %v.\n\n",
			m["cores"], m["cpu"], m["memory"], m["versions"], m["load1_start"])
	}
	if len(res.Steady) > 0 {
		f0 := res.Steady[0]
		fmt.Fprintf(&b, "## At %g journeys/s, %d rounds alternated\n\n", f0.Rate, f0.Rounds)
		b.WriteString("Medians of the rounds, (min-max) beside the ratios. CPU is user+sys of the generator's process; \"at load\" is its CPU from its first connection to the candidate for the run's duration (start-up and final report left out), \"whole run\" all of it. The \"-full\" rows run cutover's own journey request for request, so their CPU per journey compares with cutover's for the same journey; the other peers run a shorter journey, compared per request.\n\n")
		b.WriteString("| tool | requests/journey | journeys/s kept | errors | CPU ms/journey at load | × cutover | CPU µs/request at load | × cutover | CPU ms/journey, whole run | peak RSS MiB | refresh POST /token p50 / p99 ms | load avg 1m |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range res.Steady {
			tok := "-"
			if f.Refresh != nil {
				tok = fmt.Sprintf("%.2f / %.2f", f.Refresh.P50, f.Refresh.P99)
			}
			from := ""
			if f.PerJourneyFrom != "wire" {
				from = " (" + f.PerJourneyFrom + ")"
			}
			fmt.Fprintf(&b, "| %s | %.1f%s | %s | %s%% | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				f.Tool, f.RequestsPerJourney, from, spread(f.StartRate, "%.1f"), spread(f.ErrorPct, "%.1f"),
				spread(f.CPULoadMS, "%.2f"), spread(f.RatioLoad, "%.2fx"), spread(f.CPULoadUSPerRq, "%.0f"),
				spread(f.RatioRequest, "%.2fx"), spread(f.CPUWholeMS, "%.2f"), spread(f.RSSMiB, "%.0f"), tok, spread(f.Load1, "%.1f"))
		}
		b.WriteString("\nWhat each runs per journey:\n\n")
		for _, f := range res.Steady {
			fmt.Fprintf(&b, "- %s: %s.", f.Tool, journeyOf[f.Tool])
			if len(f.WireByEndpoint) > 0 {
				eps := make([]string, 0, len(f.WireByEndpoint))
				for ep := range f.WireByEndpoint {
					eps = append(eps, ep)
				}
				slices.Sort(eps)
				var parts []string
				for _, ep := range eps {
					parts = append(parts, fmt.Sprintf("%s %.2f", ep, f.WireByEndpoint[ep]))
				}
				fmt.Fprintf(&b, " On the wire, per journey: %s.", strings.Join(parts, ", "))
			}
			b.WriteString("\n")
		}
	}
	if len(res.Ramp) > 0 {
		rates := map[float64]bool{}
		for _, rp := range res.Ramp {
			for _, pt := range rp.Points {
				rates[pt.Rate] = true
			}
		}
		cols := slices.Sorted(func(yield func(float64) bool) {
			for r := range rates {
				if !yield(r) {
					return
				}
			}
		})
		b.WriteString("\n## Ramp: the highest rate kept on schedule\n\n")
		b.WriteString("On schedule: journeys started at >= 95% of the target rate and < 1% failed. Each cell: journeys started per second, failed %, the generator's CPU seconds a second at load, the load average (1 min) at its end. The last column is the slope of the CPU from the lowest rate to the highest on schedule: what one journey more costs, start-up and idle costs left out.\n\n")
		b.WriteString("| tool |")
		for _, c := range cols {
			fmt.Fprintf(&b, " %g/s |", c)
		}
		b.WriteString(" highest on schedule | CPU ms per journey more |\n|---|")
		for range cols {
			b.WriteString("---|")
		}
		b.WriteString("---|---|\n")
		for _, rp := range res.Ramp {
			fmt.Fprintf(&b, "| %s |", rp.Tool)
			for _, c := range cols {
				i := slices.IndexFunc(rp.Points, func(p RampPoint) bool { return p.Rate == c })
				if i < 0 {
					b.WriteString(" - |")
					continue
				}
				p := rp.Points[i]
				if p.Error != "" {
					b.WriteString(" no: its outputs are missing (see results.json) |")
					continue
				}
				mark := "no"
				if p.OnSchedule {
					mark = "yes"
				}
				fmt.Fprintf(&b, " %s: %.1f/s, %.1f%%, CPU %.2f, load %.1f |", mark, p.StartRate, p.ErrorPct, p.LoadCPU, p.Load1)
			}
			highest := "none"
			if rp.Highest > 0 {
				highest = fmt.Sprintf("%g/s", rp.Highest)
			}
			slope := "-"
			if rp.MarginalMS != nil {
				slope = fmt.Sprintf("%.2f", *rp.MarginalMS)
			}
			fmt.Fprintf(&b, " %s | %s |\n", highest, slope)
		}
	}
	b.WriteString("\nNo server-side latency: the embedded candidate keeps no timing of its own, so each tool's token latency is its own view.\n")
	return b.String()
}
