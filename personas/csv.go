package personas

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ReadCSV reads an accounts file in CSV with a header line. Every problem of every
// row is reported at once, each as a *RowError naming name, the line and the field,
// joined with errors.Join; then the population is empty. Password references are
// resolved through resolve, which may be nil when the file holds none.
func ReadCSV(r io.Reader, name string, resolve SecretResolver) (Population, error) {
	im := newImporter(name, resolve)
	if err := im.readCSV(r); err != nil {
		return Population{}, err
	}
	return im.finish()
}

// readCSV reads the rows of a CSV accounts file into im; the error is one of
// reading r, the problems of the rows are im's.
func (im *importer) readCSV(r io.Reader) error {
	name := im.file
	im.attrPrefix = attrColumnPrefix
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		im.fail(1, "", "empty file; want a header line with "+strings.Join(requiredColumns, ", "))
		return nil
	}
	if err != nil {
		if !im.parseError(err) {
			return fmt.Errorf("read %s: %w", name, err)
		}
		return nil
	}
	idx, attrs, ok := im.header(header)
	if !ok {
		return nil
	}
	for {
		cells, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !im.parseError(err) {
				return fmt.Errorf("read %s: %w", name, err)
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(cells) != len(header) {
			im.fail(line, "", fmt.Sprintf("%d fields; want %d as in the header", len(cells), len(header)))
			continue
		}
		var rec record
		var bad []fieldMsg
		for i, cell := range cells {
			cell = strings.TrimSpace(cell)
			if idx[i] < 0 {
				if cell != "" { // an empty cell: no such attribute
					if rec.p.Attributes == nil {
						rec.p.Attributes = make(map[string]string)
					}
					rec.p.Attributes[attrs[i]] = cell
				}
				continue
			}
			if msg := decodeCell(columns[idx[i]].ptr(&rec), cell); msg != "" {
				bad = append(bad, fieldMsg{columns[idx[i]].name, msg})
			}
		}
		im.add(line, rec, bad)
	}
	return nil
}

// header maps each CSV header cell to its column, or to -1 and the attribute name
// of an attr.NAME column, reporting unknown, duplicate and missing required columns
// and invalid attribute names.
func (im *importer) header(cells []string) (idx []int, attrs []string, ok bool) {
	if len(cells) > 0 {
		cells[0] = strings.TrimPrefix(cells[0], "\ufeff") // a spreadsheet's byte order mark
	}
	idx, attrs = make([]int, len(cells)), make([]string, len(cells))
	seen := make(map[int]bool)
	seenAttr := make(map[string]bool)
	ok = true
	for i, cell := range cells {
		cell = strings.TrimSpace(cell)
		if attr, isAttr := strings.CutPrefix(cell, attrColumnPrefix); isAttr {
			switch msg := checkAttrName(attr); {
			case msg != "":
				im.fail(1, "", fmt.Sprintf("column %q: %s", cell, msg))
				ok = false
			case seenAttr[attr]:
				im.fail(1, "", fmt.Sprintf("column %q appears twice", cell))
				ok = false
			}
			seenAttr[attr] = true
			idx[i], attrs[i] = -1, attr
			continue
		}
		c := columnIndex(cell)
		switch {
		case c < 0:
			im.fail(1, "", fmt.Sprintf("unknown column %q; want %s, or %sNAME for an attribute", cell, columnList(), attrColumnPrefix))
			ok = false
		case seen[c]:
			im.fail(1, "", fmt.Sprintf("column %q appears twice", columns[c].name))
			ok = false
		}
		seen[c] = true
		idx[i] = c
	}
	for _, name := range requiredColumns {
		if !seen[columnIndex(name)] {
			im.fail(1, "", fmt.Sprintf("missing column %q", name))
			ok = false
		}
	}
	return idx, attrs, ok
}

// decodeCell stores a CSV cell into a record field and returns what is wrong, or "".
func decodeCell(dst any, cell string) string {
	switch d := dst.(type) {
	case *string:
		*d = cell
	case *[]string:
		for it := range strings.SplitSeq(cell, ";") {
			if it = strings.TrimSpace(it); it != "" {
				*d = append(*d, it)
			}
		}
	case *bool:
		if cell == "" {
			return ""
		}
		v, err := strconv.ParseBool(cell)
		if err != nil {
			return fmt.Sprintf("%q is not true or false", cell)
		}
		*d = v
	}
	return ""
}

func columnList() string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// WriteCSV writes pop as a CSV accounts file with a header line. It never writes a
// secret: the password column holds the persona's SecretRef, or is empty when it has
// none (generated personas, inline imported passwords); give a population meant to
// be imported again its references first with WithSecretRefs. A SecretRef that is
// not a valid reference, or an attribute whose name or value is the persona's
// secret, is an error, not written. The attributes follow the columns: one attr.NAME column per
// attribute name of the population, in name order, empty for the personas without it.
func WriteCSV(w io.Writer, pop Population) error {
	if err := checkExport(pop); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	attrs := attrNames(pop)
	columns := writtenColumns(pop)
	row := make([]string, len(columns)+len(attrs))
	for i, c := range columns {
		row[i] = c.name
	}
	for i, name := range attrs {
		row[len(columns)+i] = attrColumnPrefix + name
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, p := range pop.Personas {
		rec := recordOf(p)
		for i, c := range columns {
			switch v := c.ptr(&rec).(type) {
			case *string:
				row[i] = *v
			case *[]string:
				row[i] = strings.Join(*v, ";")
			case *bool:
				row[i] = ""
				if *v {
					row[i] = "true"
				}
			}
		}
		for i, name := range attrs {
			row[len(columns)+i] = p.Attributes[name]
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// writtenColumns are the columns a CSV export of pop has: every one but
// candidate_password, which only where a persona has a candidate secret.
func writtenColumns(pop Population) []column {
	for _, p := range pop.Personas {
		if p.CandidateSecretRef != "" {
			return columns
		}
	}
	return slices.DeleteFunc(slices.Clone(columns), func(c column) bool { return c.name == fieldCandidatePassword })
}
