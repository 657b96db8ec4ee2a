package splitmix

import "testing"

// TestMix64 checks the finaliser against SplitMix64's reference outputs: the
// generator seeded with 0 yields Mix64(0), Mix64(γ), Mix64(2γ)... where γ is the
// golden-ratio increment the finaliser adds itself.
func TestMix64(t *testing.T) {
	for _, tt := range []struct{ in, want uint64 }{
		{0, 0xe220a8397b1dcdaf},
		{0x9e3779b97f4a7c15, 0x6e789e6aa1b965f4},
		{0x3c6ef372fe94f82a, 0x06c45d188009454f},
	} {
		if got := Mix64(tt.in); got != tt.want {
			t.Errorf("Mix64(%#x) = %#x; want %#x", tt.in, got, tt.want)
		}
	}
}
