package results

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// writeJSONFile writes v to path as JSON and a newline, indented by indent
// ("" for one line); what names it in errors.
func writeJSONFile(path, what string, v any, indent string) error {
	var b []byte
	var err error
	if indent == "" {
		b, err = json.Marshal(v)
	} else {
		b, err = json.MarshalIndent(v, "", indent)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

// readFile opens path and decodes it with read, which names path in errors.
func readFile[T any](path string, read func(io.Reader, string) (*T, error)) (*T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path)
}
