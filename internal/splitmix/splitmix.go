// Package splitmix is the SplitMix64 finaliser, the cheap, well-spread 64-bit
// hash behind every seeded draw of the load generator and the signatures of the
// root-cause grouping. It imports nothing.
package splitmix

// Mix64 spreads x over 64 bits (SplitMix64's finaliser, Steele et al. 2014).
func Mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
