package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// HistogramsSchema names the version of histograms.json.
const HistogramsSchema = "cutover.histograms/v1"

// histFile is histograms.json: the latency histogram of every step and side in
// the HDR V2 compressed encoding (base64, readable by the Java, C and Go
// HdrHistogram libraries), so runs from several machines merge without their
// records. The per-second histograms behind the timeline are not kept: encoding
// thousands of them costs more than the rest of a report (a zlib stream each),
// and the timeline is in summary.json.
type histFile struct {
	Schema string `json:"schema"`
	// Origin is the instant the run's timeline starts at.
	Origin time.Time `json:"origin"`
	// Unit of every recorded value.
	Unit  string     `json:"unit"`
	Steps []histStep `json:"steps"`
}

type histStep struct {
	Journey   string   `json:"journey"`
	Step      string   `json:"step"`
	Legacy    histSide `json:"legacy"`
	Candidate histSide `json:"candidate"`
}

type histSide struct {
	Count  int64  `json:"count"`
	Errors int64  `json:"errors"`
	HDR    string `json:"hdr"`
}

// WriteHistograms writes every histogram of st to w as JSON.
func (st *Stats) WriteHistograms(w io.Writer) error {
	f := histFile{Schema: HistogramsSchema, Origin: st.origin.UTC(), Unit: "ns", Steps: []histStep{}}
	for _, k := range st.Keys() {
		p := st.steps[k]
		hs := histStep{Journey: k.Journey, Step: k.Step}
		for i, dst := range []*histSide{&hs.Legacy, &hs.Candidate} {
			s := &p.sides[i]
			enc, err := s.Hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
			if err != nil {
				return fmt.Errorf("encode histogram %s: %w", k, err)
			}
			*dst = histSide{Count: s.Count, Errors: s.Errors, HDR: string(enc)}
		}
		f.Steps = append(f.Steps, hs)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("write histograms: %w", err)
	}
	return nil
}

// ReadHistograms decodes histograms.json into statistics that Merge can combine.
// name is used in errors. The statistics carry no timeline, so their findings
// cannot tell which samples fell into saturated windows.
func ReadHistograms(r io.Reader, name string) (*Stats, error) {
	var f histFile
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if f.Schema != HistogramsSchema {
		return nil, fmt.Errorf("%s: schema %q; want %q", name, f.Schema, HistogramsSchema)
	}
	if f.Unit != "ns" {
		return nil, fmt.Errorf("%s: unit %q; want ns", name, f.Unit)
	}
	st := NewStats(f.Origin)
	for _, hs := range f.Steps {
		k := StepKey{hs.Journey, hs.Step}
		p := st.step(k)
		for i, src := range []histSide{hs.Legacy, hs.Candidate} {
			h, err := hdrhistogram.Decode([]byte(src.HDR))
			if err != nil {
				return nil, fmt.Errorf("%s: step %s: %w", name, k, err)
			}
			s := &p.sides[i]
			s.Count, s.Errors = src.Count, src.Errors
			s.Healthy = nil // histograms.json keeps every sample together
			if dropped := s.Hist.Merge(h); dropped > 0 {
				return nil, fmt.Errorf("%s: step %s: %d values out of range", name, k, dropped)
			}
		}
	}
	return st, nil
}
