package record

import (
	"fmt"
	"time"
)

// Accounting is the load generator's honesty: what it meant to do and what it did.
type Accounting struct {
	Scheduled int64 `json:"scheduled"`
	Started   int64 `json:"started"`
	// Late counts journeys started more than the lateness threshold after their
	// intended start; their latency runs from the intended start.
	Late int64 `json:"late"`
	// Dropped counts journeys never started: too many in flight, or no idle persona.
	Dropped int64 `json:"dropped"`
	// Saturated lists the windows where the generator could not keep the schedule:
	// latency verdicts from them are not trustworthy.
	Saturated []Window `json:"saturated,omitempty"`
}

// Window is a span of a run, as offsets from its start.
type Window struct {
	From time.Duration `json:"from_ns"`
	To   time.Duration `json:"to_ns"`
}

// String returns "3s-5s".
func (w Window) String() string {
	return fmt.Sprintf("%s-%s", w.From.Round(time.Millisecond), w.To.Round(time.Millisecond))
}
