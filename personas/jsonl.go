package personas

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// ReadJSONL reads an accounts file in JSON Lines: one JSON object per line, blank
// lines ignored. Problems are reported as by ReadCSV.
func ReadJSONL(r io.Reader, name string, resolve SecretResolver) (Population, error) {
	im := newImporter(name, resolve)
	if err := im.readJSONL(r); err != nil {
		return Population{}, err
	}
	return im.finish()
}

// readJSONL reads the lines of a JSONL accounts file into im; the error is one
// of reading r, the problems of the lines are im's.
func (im *importer) readJSONL(r io.Reader) error {
	im.attrPrefix = fieldAttributes + "."
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(text, &obj); err != nil || obj == nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				im.fail(line, "", fmt.Sprintf("invalid JSON at byte %d", se.Offset))
			} else {
				im.fail(line, "", "want a JSON object")
			}
			continue
		}
		var rec record
		var bad []fieldMsg
		for _, c := range columns {
			raw, ok := obj[c.name]
			if !ok {
				continue
			}
			delete(obj, c.name)
			if msg := decodeJSON(c.ptr(&rec), raw); msg != "" {
				bad = append(bad, fieldMsg{c.name, msg})
			}
		}
		if raw, ok := obj[fieldAttributes]; ok {
			delete(obj, fieldAttributes)
			var msgs []fieldMsg
			rec.p.Attributes, msgs = decodeAttributes(raw)
			bad = append(bad, msgs...)
		}
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			bad = append(bad, fieldMsg{"", fmt.Sprintf("unknown key %q; want %s, %s", key, columnList(), fieldAttributes)})
		}
		im.add(line, rec, bad)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			im.fail(line+1, "", fmt.Sprintf("line longer than %d bytes", maxLine))
			return nil
		}
		return fmt.Errorf("read %s: %w", im.file, err)
	}
	return nil
}

// decodeJSON stores a JSON value into a record field and returns what is wrong, or
// "". The message names the expected type and never echoes the value.
func decodeJSON(dst any, raw json.RawMessage) string {
	if err := json.Unmarshal(raw, dst); err != nil {
		switch dst.(type) {
		case *[]string:
			return "want an array of strings"
		case *bool:
			return "want true or false"
		}
		return "want a string"
	}
	return ""
}

// decodeAttributes decodes the attributes object of a JSONL account and returns
// what is wrong with it, each problem naming attributes.NAME. A null or empty
// string value is no attribute, as an empty CSV cell is.
func decodeAttributes(raw json.RawMessage) (map[string]string, []fieldMsg) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, []fieldMsg{{fieldAttributes, "want an object of strings"}}
	}
	var attrs map[string]string
	var bad []fieldMsg
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		var v string
		if err := json.Unmarshal(obj[name], &v); err != nil {
			bad = append(bad, fieldMsg{attrField(name), "want a string"})
			continue
		}
		if v == "" {
			continue
		}
		if attrs == nil {
			attrs = make(map[string]string)
		}
		attrs[name] = v
	}
	return attrs, bad
}

// WriteJSONL writes pop as a JSONL accounts file, one object per persona with its
// non-empty columns in the order of the CSV header, then its attributes, if it has
// any, as an object in name order. Secrets are treated as by WriteCSV: the password
// key holds the SecretRef, or is absent.
func WriteJSONL(w io.Writer, pop Population) error {
	if err := checkExport(pop); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, p := range pop.Personas {
		rec := recordOf(p)
		bw.WriteByte('{')
		sep := ""
		for _, c := range columns {
			v := c.ptr(&rec)
			switch v := v.(type) {
			case *string:
				if *v == "" {
					continue
				}
			case *[]string:
				if len(*v) == 0 {
					continue
				}
			case *bool:
				if !*v {
					continue
				}
			}
			val, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("write jsonl: %s: %w", c.name, err)
			}
			fmt.Fprintf(bw, "%s%q:%s", sep, c.name, val)
			sep = ","
		}
		if len(p.Attributes) > 0 {
			val, err := json.Marshal(p.Attributes) // keys in order
			if err != nil {
				return fmt.Errorf("write jsonl: %s: %w", fieldAttributes, err)
			}
			fmt.Fprintf(bw, "%s%q:%s", sep, fieldAttributes, val)
		}
		bw.WriteString("}\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write jsonl: %w", err)
	}
	return nil
}
