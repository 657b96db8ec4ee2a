package adapter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
)

// ErrUnsupported marks a capability the stack does not offer (no revocation
// endpoint, no break-glass grant). Steps that need it are recorded as unsupported,
// never as failures.
var ErrUnsupported = errors.New("not supported by this stack")

// ErrUnverified marks a step the stack answered in a way the harness cannot
// complete or read as done (a logout page that needs script, a confirmation it
// cannot find): the step is recorded unverified, and nothing that depends on it
// is judged.
var ErrUnverified = errors.New("unverified")

// RefusedError is a stack's explicit "no": a login with bad credentials, a refresh
// token it will not honour, a grant it declines. It is a decision, not an outage.
type RefusedError struct {
	Status int
	// Reason is the stack's error code (e.g. "invalid_grant"), never a credential.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("refused (HTTP %d)", e.Status)
	}
	return fmt.Sprintf("refused (HTTP %d): %s", e.Status, e.Reason)
}

// UnavailableError is an availability failure: a 5xx, a timeout, a refused
// connection. Under load these go to ERROR_RATE_REGRESSION, never to an
// authorization or session class.
type UnavailableError struct {
	Op     string
	Status int
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: unavailable (HTTP %d)", e.Op, e.Status)
	}
	return fmt.Sprintf("%s: unavailable: %v", e.Op, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// ProtocolError is an answer the harness cannot use: garbage JSON, a page without
// the expected form, a token that does not parse or verify, a redirect loop.
type ProtocolError struct {
	Op  string
	Msg string
}

func (e *ProtocolError) Error() string { return e.Op + ": " + e.Msg }

func ProtocolErr(op, format string, a ...any) error {
	return &ProtocolError{Op: op, Msg: fmt.Sprintf(format, a...)}
}

// TransportErr turns a client error into an UnavailableError, dropping the URL
// (which may carry a code or state) from the message.
func TransportErr(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var te *timeoutError
	switch {
	case errors.As(err, &te):
		err = te
	case errors.Is(err, context.DeadlineExceeded):
		err = errors.New("timeout")
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = errors.New("timeout")
		}
	}
	return &UnavailableError{Op: op, Err: err}
}

// RefusalStatus reports the answers that are a decision, not an error, on a request
// for access or a login: bad request (no reason), unauthenticated, forbidden,
// conflict, unprocessable, locked.
func RefusalStatus(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
		http.StatusUnprocessableEntity, http.StatusLocked:
		return true
	}
	return false
}

// ErrorCode matches what a stack may send as an error code ("invalid_grant"):
// short, no spaces, nothing that could be a credential.
var ErrorCode = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// Refusal builds the RefusedError of an answer, with the stack's error code when
// its JSON body has a short one ("reason_required").
func Refusal(resp *http.Response) *RefusedError {
	var doc any
	if DecodeJSON(resp, "", &doc) == nil {
		for _, p := range []string{"error", "error.code", "code"} {
			if s, err := StringAt(doc, p); err == nil && ErrorCode.MatchString(s) {
				return &RefusedError{Status: resp.StatusCode, Reason: s}
			}
		}
	}
	return &RefusedError{Status: resp.StatusCode}
}
