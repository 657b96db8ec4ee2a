// Command cutover rehearses an identity cutover: it drives persona journeys through
// a legacy and a candidate stack side by side, under load, and reports every
// difference. See README.md.
//
// main only parses arguments, wires the packages together and turns an error
// into an exit code; every command is tested in-process through run(ctx, state).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, hurry, stop := interrupts()
	code := run(ctx, &state{args: os.Args[1:], stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ, hurry: hurry})
	stop()
	os.Exit(int(code))
}

// interrupts turns SIGINT and SIGTERM into the run's stops: the first cancels
// ctx (setup stops before any traffic; a run stops scheduling and gives the
// journeys in flight load.drain to finish), the second closes hurry (the drain
// ends at once); either way every record measured is written. A third ends the
// process at once, with exit 3.
func interrupts() (ctx context.Context, hurry <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	h := make(chan struct{})
	sig := make(chan os.Signal, 3)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case s := <-sig:
				switch n {
				case 1:
					fmt.Fprintf(os.Stderr, "\ncutover: %s: stopping; interrupt again to end the drain now\n", s)
					cancel(fmt.Errorf("%s signal received", s))
				case 2:
					fmt.Fprintf(os.Stderr, "\ncutover: %s: ending the drain; writing what was measured\n", s)
					close(h)
				default:
					os.Exit(3)
				}
			}
		}
	}()
	return ctx, h, func() {
		signal.Stop(sig)
		close(done)
		cancel(nil)
	}
}
