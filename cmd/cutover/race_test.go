//go:build race

package main

// raceEnabled: the test binary was built with -race, so a binary the tests build
// is too, and reuses the compiled packages.
const raceEnabled = true
