// Package exitcode is the one list of cutover's exit codes: errors are tagged with a
// code where they arise, and main turns the tag into the process status.
//
// It imports nothing of this module.
package exitcode

// Code is a process exit status.
type Code int

// The exit codes, as the README lists them.
const (
	// Pass: no finding fails the thresholds.
	Pass Code = 0
	// Regression: a parity regression (authorization, session, break-glass,
	// service account, audit) fails the thresholds.
	Regression Code = 1
	// Usage: bad arguments or a bad config file.
	Usage Code = 2
	// Aborted: stopped by a signal or a safety rule; a partial report was written.
	Aborted Code = 3
	// Precondition: a stack unreachable, the personas differ between stacks, or
	// a step failed on (nearly) every attempt on one side, so what stood behind
	// it could not be measured.
	Precondition Code = 4
	// Performance: only performance regressions (latency, error rate) fail.
	Performance Code = 5
	// Inconclusive: nothing trustworthy fails, but the run did not see enough to
	// pass: a class its journeys should judge was judged too thinly, or a
	// latency verdict would rest on an unhealthy generator.
	Inconclusive Code = 6
)

type coded struct {
	err  error
	code Code
}

func (e *coded) Error() string { return e.err.Error() }
func (e *coded) Unwrap() error { return e.err }

// With tags err with code. A nil err stays nil.
func With(err error, code Code) error {
	if err == nil {
		return nil
	}
	return &coded{err: err, code: code}
}

// Of returns the code err is tagged with: Pass for nil, and Aborted for an untagged
// error, since the run did not complete as configured. When tags are nested, the
// innermost wins: the code belongs to the first cause, not to a caller that
// wrapped it on the way out. In a joined error the first branch with a tag wins.
func Of(err error) Code {
	if err == nil {
		return Pass
	}
	if c, ok := innermost(err); ok {
		return c
	}
	return Aborted
}

// innermost walks err's tree depth first, branches in order, and returns the
// code of the deepest tag on the first path that has one.
func innermost(err error) (Code, bool) {
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if e == nil {
				continue
			}
			if c, ok := innermost(e); ok {
				return c, true
			}
		}
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			if c, ok := innermost(e); ok {
				return c, true
			}
		}
	}
	if c, ok := err.(*coded); ok {
		return c.code, true
	}
	return 0, false
}
