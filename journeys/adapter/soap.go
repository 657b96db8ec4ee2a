package adapter

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/antchfx/xmlquery"
)

// RefusalOf returns the refusal an answer is, or nil: a refusal status (see
// RefusalStatus), or a SOAP fault that blames the sender, which SOAP sends
// with HTTP 500 (SOAP 1.1 section 4.4.1 and 6.2: faultcode Client or
// Client.*; SOAP 1.2 part 1 section 5.4.6: Code/Value Sender). A fault that
// blames the server stays an error (Send reports it as unavailable).
func RefusalOf(resp *http.Response) *RefusedError {
	if RefusalStatus(resp.StatusCode) {
		return Refusal(resp)
	}
	if code, ok := peekSenderFault(resp); ok {
		return &RefusedError{Status: resp.StatusCode, Reason: code}
	}
	return nil
}

// peekSenderFault reports whether an answer with status 500 is a SOAP fault
// that blames the sender, and its code, leaving the body to be read again.
func peekSenderFault(resp *http.Response) (string, bool) {
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "xml") {
		return "", false
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	return senderFault(b)
}

// senderFault reads a SOAP envelope's fault: its code, and whether it blames
// the sender.
func senderFault(b []byte) (string, bool) {
	doc, err := xmlquery.Parse(bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	fault := xmlquery.FindOne(doc, "//*[local-name()='Envelope']/*[local-name()='Body']/*[local-name()='Fault']")
	if fault == nil {
		return "", false
	}
	// SOAP 1.1: <faultcode>soap:Client.Authentication</faultcode>.
	if n := xmlquery.FindOne(fault, "./faultcode|./*[local-name()='faultcode']"); n != nil {
		code := strings.TrimSpace(n.InnerText())
		_, local, _ := strings.Cut(code, ":")
		if local == "" {
			local = code
		}
		return faultCode(code), local == "Client" || strings.HasPrefix(local, "Client.")
	}
	// SOAP 1.2: <env:Code><env:Value>env:Sender</env:Value>...</env:Code>.
	if n := xmlquery.FindOne(fault, "./*[local-name()='Code']/*[local-name()='Value']"); n != nil {
		code := strings.TrimSpace(n.InnerText())
		_, local, ok := strings.Cut(code, ":")
		if !ok {
			local = code
		}
		return faultCode(code), local == "Sender"
	}
	return "", false
}

// faultCode keeps a fault code only when it is short and plain, as any error
// code a record carries.
func faultCode(code string) string {
	if ErrorCode.MatchString(code) {
		return code
	}
	return "soap_fault"
}
