package record

import "strings"

// Endpoint returns the entry of Record.Endpoints for a request: "METHOD /path",
// the query dropped and each id-like path segment folded to {id}, so that the
// same request for two personas reads the same ("GET /api/patients/{id}/record").
// A segment is id-like when it holds 3 or more digits ("patient-00012",
// "MRN-12345678") or is 24 characters or longer (a UUID, an opaque token, a
// session id); "oauth2", "v1" and "jwks.json" stay. path is the path as sent
// (url.URL.EscapedPath), with or without its query. An empty method is GET, an
// empty path "/"; a folded path longer than maxEndpointPath is cut after a
// segment and ends in "/…".
func Endpoint(method, path string) string {
	if method == "" {
		method = "GET"
	}
	path, _, _ = strings.Cut(path, "?")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !foldable(path) && len(path) <= maxEndpointPath {
		return method + " " + path
	}
	var b strings.Builder
	b.Grow(len(method) + 1 + min(len(path), maxEndpointPath+len("/…")))
	b.WriteString(method)
	b.WriteByte(' ')
	base := b.Len()
	for rest := path[1:]; ; {
		seg, more, found := strings.Cut(rest, "/")
		if idLike(seg) {
			seg = "{id}"
		}
		if b.Len()-base+1+len(seg) > maxEndpointPath {
			b.WriteString("/…")
			break
		}
		b.WriteByte('/')
		b.WriteString(seg)
		if !found {
			break
		}
		rest = more
	}
	return b.String()
}

// maxEndpointPath bounds the folded path of an endpoint, in bytes: a record
// names a request, it does not carry whatever a stack put in a URL.
const maxEndpointPath = 160

// Thresholds of an id-like path segment (see Endpoint).
const (
	idDigits = 3
	idLen    = 24
)

// idLike reports whether a path segment is an id, to be folded. A UUID, 36
// characters, is always long enough.
func idLike(seg string) bool {
	if len(seg) >= idLen {
		return true
	}
	digits := 0
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; '0' <= c && c <= '9' {
			if digits++; digits >= idDigits {
				return true
			}
		}
	}
	return false
}

// foldable reports whether any segment of path is id-like.
func foldable(path string) bool {
	for seg := range strings.SplitSeq(path[1:], "/") {
		if idLike(seg) {
			return true
		}
	}
	return false
}
