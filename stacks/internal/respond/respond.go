// Package respond writes the JSON answers and random identifiers both reference stacks
// share, so error bodies have one shape and never echo what the client sent.
package respond

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
)

// JSON writes v as a JSON body with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Error writes {"error": code} with status, plus error_description when desc is set.
// Neither may contain anything the client sent.
func Error(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	JSON(w, status, body)
}

// ID returns a fresh random identifier of 130 bits (26 base32 characters), for
// session ids, codes, refresh tokens and grant ids.
func ID() string { return rand.Text() }
