package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

func readRuns(dir string) ([]Run, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		r, err := readRun(filepath.Join(dir, e.Name()))
		if r.Tool == "" {
			return nil, fmt.Errorf("tally: %s: %w", e.Name(), err)
		}
		if err != nil {
			r.Error = err.Error()
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func readRun(dir string) (Run, error) {
	r := Run{Dir: dir}
	if err := readJSON(filepath.Join(dir, "run.json"), &r.Meta); err != nil {
		return r, err
	}
	if _, err := os.Stat(filepath.Join(dir, "process.json")); err == nil {
		r.Process = new(Process)
		if err := readJSON(filepath.Join(dir, "process.json"), r.Process); err != nil {
			return r, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "wire.json")); err == nil {
		r.Wire = new(Wire)
		if err := readJSON(filepath.Join(dir, "wire.json"), r.Wire); err != nil {
			return r, err
		}
	}
	var err error
	switch r.Tool {
	case "cutover":
		err = readCutover(dir, &r)
	case "locust", "locust-full":
		err = readLocust(dir, &r)
	case "artillery", "artillery-full":
		err = readArtillery(dir, &r)
	case "vegeta":
		err = readVegeta(dir, &r)
	default:
		err = fmt.Errorf("unknown tool %q", r.Tool)
	}
	if err != nil {
		return r, err
	}
	if r.DurationS > 0 && r.StartRate == 0 {
		r.StartRate = float64(r.Started) / r.DurationS
	}
	if r.Started > 0 {
		r.ErrorPct = 100 * float64(r.Failed) / float64(r.Started)
	}
	return r, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readCutover reads cutover's results folder: the generator's starts from
// summary.json, the journeys and their requests from records.jsonl.
func readCutover(dir string, r *Run) error {
	var sum struct {
		Generator struct{ Started, Late, Dropped int } `json:"generator"`
	}
	if err := readJSON(filepath.Join(dir, "results", "summary.json"), &sum); err != nil {
		return err
	}
	r.Started, r.Late, r.Dropped = sum.Generator.Started, sum.Generator.Late, sum.Generator.Dropped
	f, err := os.Open(filepath.Join(dir, "results", "records.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	type journey struct{ failed, loggedOut bool }
	journeys := map[string]*journey{}
	var refresh []float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var rec struct {
			Persona   string
			Iter      uint64
			Journey   string
			Step      string
			Intended  time.Time
			Outcome   string
			LatencyNS int64 `json:"latency_ns"`
			Endpoints []string
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("records.jsonl: %w", err)
		}
		if rec.Journey == "raw" {
			continue
		}
		r.Requests += len(rec.Endpoints)
		key := fmt.Sprintf("%s/%d/%s", rec.Persona, rec.Iter, rec.Intended.Format(time.RFC3339Nano))
		j := journeys[key]
		if j == nil {
			j = &journey{}
			journeys[key] = j
		}
		switch {
		case rec.Outcome == "error" || rec.Outcome == "invalid":
			j.failed = true
		case rec.Step == "logout" && rec.Outcome == "ok":
			j.loggedOut = true
		case rec.Step == "refresh" && rec.Outcome == "ok":
			refresh = append(refresh, float64(rec.LatencyNS)/1e6)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, j := range journeys {
		switch {
		case j.failed:
			r.Failed++
		case j.loggedOut:
			r.Completed++
		}
	}
	r.Refresh = quantiles(refresh)
	return nil
}

// readLocust reads locust.json (written by locustfile.py at exit) and
// Locust's own locust_stats.csv.
func readLocust(dir string, r *Run) error {
	var out struct {
		Started, Completed, Failed int
		TokenMS                    map[string][]float64 `json:"token_ms"`
	}
	if err := readJSON(filepath.Join(dir, "locust.json"), &out); err != nil {
		return err
	}
	r.Started, r.Completed, r.Failed = out.Started, out.Completed, out.Failed
	r.Code = quantiles(out.TokenMS["POST /token (code)"])
	r.Refresh = quantiles(out.TokenMS["POST /token (refresh)"])
	f, err := os.Open(filepath.Join(dir, "locust_stats.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("locust_stats.csv: %w", err)
	}
	if len(rows) == 0 {
		return errors.New("locust_stats.csv: empty")
	}
	name, count := slices.Index(rows[0], "Name"), slices.Index(rows[0], "Request Count")
	if name < 0 || count < 0 {
		return fmt.Errorf("locust_stats.csv: no Name or Request Count column in %v", rows[0])
	}
	for _, row := range rows[1:] {
		if row[name] == "Aggregated" {
			r.Requests, _ = strconv.Atoi(row[count])
		}
	}
	return nil
}

// readArtillery reads the JSON report of `artillery run --output`.
func readArtillery(dir string, r *Run) error {
	var rep struct {
		Aggregate struct {
			Counters  map[string]int `json:"counters"`
			Summaries map[string]struct {
				Count int     `json:"count"`
				P50   float64 `json:"p50"`
				P95   float64 `json:"p95"`
				P99   float64 `json:"p99"`
			} `json:"summaries"`
		} `json:"aggregate"`
	}
	if err := readJSON(filepath.Join(dir, "report.json"), &rep); err != nil {
		return err
	}
	c := rep.Aggregate.Counters
	r.Started, r.Completed, r.Failed, r.Requests = c["vusers.created"], c["vusers.completed"], c["vusers.failed"], c["http.requests"]
	if n, ok := c["peers.started_in_time"]; ok && r.DurationS > 0 {
		r.StartRate = float64(n) / r.DurationS
	}
	for name, q := range map[string]**Quantiles{"POST /token (code)": &r.Code, "POST /token (refresh)": &r.Refresh} {
		if s, ok := rep.Aggregate.Summaries["plugins.metrics-by-endpoint.response_time."+name]; ok {
			*q = &Quantiles{N: s.Count, P50: s.P50, P95: s.P95, P99: s.P99}
		}
	}
	return nil
}

// readVegeta reads `vegeta report -type json`: JourneyRequests of its
// requests make one journey.
func readVegeta(dir string, r *Run) error {
	var rep struct {
		Requests int     `json:"requests"`
		Rate     float64 `json:"rate"` // of the attack: requests over first to last
		Success  float64 `json:"success"`
	}
	if err := readJSON(filepath.Join(dir, "report.json"), &rep); err != nil {
		return err
	}
	per := max(r.JourneyRequests, 1)
	r.StartRate = rep.Rate / float64(per)
	ok := int(math.Round(rep.Success * float64(rep.Requests)))
	r.Requests = rep.Requests
	r.Started, r.Completed, r.Failed = rep.Requests/per, ok/per, (rep.Requests-ok+per-1)/per
	return nil
}

// quantiles of ms by the nearest rank; nil for none.
func quantiles(ms []float64) *Quantiles {
	if len(ms) == 0 {
		return nil
	}
	s := slices.Sorted(slices.Values(ms))
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return &Quantiles{N: len(s), P50: at(0.50), P95: at(0.95), P99: at(0.99)}
}
