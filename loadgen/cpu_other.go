//go:build !unix

package loadgen

import "time"

// processCPU is unknown here: the CPU signal stays silent.
func processCPU() time.Duration { return 0 }
