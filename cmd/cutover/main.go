// Command cutover rehearses an identity cutover: it drives persona journeys through
// a legacy and a candidate stack side by side, under load, and reports every
// difference. See README.md.
//
// main only parses arguments, wires the packages together and turns an error into
// an exit code; every command is tested in-process through run(ctx, state).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &state{args: os.Args[1:], stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ})
	stop()
	os.Exit(int(code))
}
