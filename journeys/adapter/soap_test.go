package adapter

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRefusalOfSOAPFaults: SOAP sends every fault with HTTP 500; one that
// blames the sender (a wrong password, a missing reason) is a refusal, one that
// blames the server an error, as is a 500 that is no SOAP fault at all.
func TestRefusalOfSOAPFaults(t *testing.T) {
	const soap11 = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>%s</faultcode><faultstring>no</faultstring></s:Fault></s:Body></s:Envelope>`
	const soap12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>%s</env:Value></env:Code><env:Reason><env:Text xml:lang="en">no</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`
	for _, tt := range []struct {
		name, ct, body string
		status         int
		want           string // the refusal's reason; "" means not a refusal
	}{
		{"1.1 client", "text/xml", strings.Replace(soap11, "%s", "s:Client", 1), 500, "s:Client"},
		{"1.1 client subcode", "text/xml; charset=utf-8", strings.Replace(soap11, "%s", "s:Client.Authentication", 1), 500, "s:Client.Authentication"},
		{"1.1 unprefixed", "text/xml", strings.Replace(soap11, "%s", "Client", 1), 500, "Client"},
		{"1.1 server", "text/xml", strings.Replace(soap11, "%s", "s:Server", 1), 500, ""},
		{"1.1 clientele is not client", "text/xml", strings.Replace(soap11, "%s", "s:Clientele", 1), 500, ""},
		{"1.2 sender", "application/soap+xml", strings.Replace(soap12, "%s", "env:Sender", 1), 500, "env:Sender"},
		{"1.2 receiver", "application/soap+xml", strings.Replace(soap12, "%s", "env:Receiver", 1), 500, ""},
		{"no envelope", "text/xml", `<Fault><faultcode>Client</faultcode></Fault>`, 500, ""},
		{"json 500", "application/json", `{"error":"boom"}`, 500, ""},
		{"not xml", "text/xml", `<<<`, 500, ""},
		{"client fault on 502", "text/xml", strings.Replace(soap11, "%s", "s:Client", 1), 502, ""},
		{"403", "text/xml", `<x/>`, 403, "403"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Content-Type": {tt.ct}}, Body: io.NopCloser(strings.NewReader(tt.body))}
			re := RefusalOf(resp)
			switch {
			case tt.want == "" && re != nil:
				t.Errorf("refusal %+v; want none", re)
			case tt.want == "403" && (re == nil || re.Status != 403):
				t.Errorf("refusal %+v; want one with status 403", re)
			case tt.want != "" && tt.want != "403" && (re == nil || re.Reason != tt.want || re.Status != tt.status):
				t.Errorf("refusal %+v; want reason %q", re, tt.want)
			}
		})
	}
}
