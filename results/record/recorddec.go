package record

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeRecord decodes one JSON line into r, which must be zero, exactly as
// json.Unmarshal does, several times faster on the lines a Writer writes: the
// reflection decoder was most of the cost of `cutover report` on a large run.
//
// Subtleness ahead! The fast path takes only the plain form: exact keys, each
// at most once; strings without escapes, control characters or invalid UTF-8;
// integers without fraction or exponent; no null. On anything else, valid or
// not (an unknown field, an escape, a duplicate key, a syntax error, a value of
// the wrong type), it gives up and json.Unmarshal decodes the line from
// scratch, so the rules (unknown fields skipped, keys matched case-insensitively,
// the last duplicate wins, null leaves a field as it is) and every error message
// stay encoding/json's. FuzzDecodeRecord holds the fast path to that.
//
// strs, if not nil, shares the strings that repeat from record to record
// (sides, kinds, steps, personas), which saves most of the allocations.
func decodeRecord(data []byte, r *Record, strs stringTable) error {
	if fastDecodeRecord(data, r, strs) {
		return nil
	}
	*r = Record{}
	return json.Unmarshal(data, r)
}

// fastDecodeRecord decodes the plain form of a record into r and reports
// whether it could; when it could not, r holds garbage.
func fastDecodeRecord(data []byte, r *Record, strs stringTable) bool {
	d := plainDecoder{data: data, strs: strs}
	d.ws()
	if !d.object(r.field) {
		return false
	}
	d.ws()
	return d.i == len(d.data)
}

// plainDecoder reads the plain form of JSON (see decodeRecord). Its methods
// report false when the input is not in that form.
type plainDecoder struct {
	data []byte
	i    int
	strs stringTable
	// seen and factsSeen hold a bit for each field of the record and of its
	// facts already read: a duplicate key is for the slow path.
	seen, factsSeen uint32
}

func (d *plainDecoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes c, after any whitespace, and reports whether it was there.
func (d *plainDecoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads an object, calling field with each key and d.i at its value;
// field consumes the value.
func (d *plainDecoder) object(field func(d *plainDecoder, key []byte) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		d.ws()
		key, ok := d.str()
		if !ok || !d.next(':') {
			return false
		}
		d.ws()
		if !field(d, key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// str reads a plain string at d.i and returns its contents, aliasing d.data.
func (d *plainDecoder) str() ([]byte, bool) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	ascii := true
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			s := d.data[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			d.i = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

func (d *plainDecoder) string(dst *string) bool {
	s, ok := d.str()
	if ok {
		*dst = d.strs.get(s)
	}
	return ok
}

// stringTable holds strings decoded before, to share rather than allocate.
// It is not safe for concurrent use.
type stringTable map[string]string

// Limits of a stringTable: the strings worth sharing are short, and a run has
// a bounded number of them that repeat.
const (
	stringTableLen = 64
	stringTableMax = 1 << 14
)

// get returns b as a string, shared when t has it, added when t has room.
func (t stringTable) get(b []byte) string {
	if s, ok := t[string(b)]; ok {
		return s
	}
	s := string(b)
	if t != nil && len(s) <= stringTableLen && len(t) < stringTableMax {
		t[s] = s
	}
	return s
}

// strings reads an array of plain strings; [] is an empty slice, not nil, as
// in encoding/json.
func (d *plainDecoder) strings(dst *[]string) bool {
	if !d.next('[') {
		return false
	}
	out := []string{}
	if d.next(']') {
		*dst = out
		return true
	}
	for {
		d.ws()
		s, ok := d.str()
		if !ok {
			return false
		}
		out = append(out, d.strs.get(s))
		if d.next(']') {
			*dst = out
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// integer reads -?(0|[1-9][0-9]*), the integers JSON and strconv agree on.
func (d *plainDecoder) integer() ([]byte, bool) {
	start := d.i
	if d.i < len(d.data) && d.data[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 1 && d.data[digits] == '0' {
		return nil, false
	}
	if d.i < len(d.data) {
		if c := d.data[d.i]; c == '.' || c == 'e' || c == 'E' {
			return nil, false
		}
	}
	return d.data[start:d.i], true
}

func (d *plainDecoder) int64(dst *int64) bool {
	n, ok := d.signed(64)
	*dst = n
	return ok
}

// signed reads an integer that fits in bits.
func (d *plainDecoder) signed(bits int) (int64, bool) {
	lit, ok := d.integer()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(lit), 10, bits)
	return n, err == nil
}

func (d *plainDecoder) uint64(dst *uint64) bool {
	lit, ok := d.integer()
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(string(lit), 10, 64)
	*dst = n
	return err == nil
}

func (d *plainDecoder) bool(dst *bool) bool {
	rest := d.data[d.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.i += 4
		*dst = true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.i += 5
		*dst = false
	default:
		return false
	}
	return true
}

// once reports whether bit is not yet in *seen, and adds it.
func once(seen *uint32, bit uint) bool {
	if *seen&(1<<bit) != 0 {
		return false
	}
	*seen |= 1 << bit
	return true
}

// field decodes the record field key.
func (r *Record) field(d *plainDecoder, key []byte) bool {
	switch string(key) {
	case "side":
		return once(&d.seen, 0) && d.string((*string)(&r.Side))
	case "persona":
		return once(&d.seen, 1) && d.string(&r.Persona)
	case "kind":
		return once(&d.seen, 2) && d.string(&r.Kind)
	case "cohort":
		return once(&d.seen, 3) && d.string(&r.Cohort)
	case "journey":
		return once(&d.seen, 4) && d.string(&r.Journey)
	case "iter":
		return once(&d.seen, 5) && d.uint64(&r.Iteration)
	case "step":
		return once(&d.seen, 6) && d.string(&r.Step)
	case "target":
		return once(&d.seen, 7) && d.string(&r.Target)
	case "intended":
		return once(&d.seen, 8) && d.time(&r.Intended)
	case "start":
		return once(&d.seen, 9) && d.time(&r.Start)
	case "latency_ns":
		return once(&d.seen, 10) && d.int64((*int64)(&r.Latency))
	case "outcome":
		return once(&d.seen, 11) && d.string((*string)(&r.Outcome))
	case "error":
		return once(&d.seen, 12) && d.string(&r.Error)
	case "evidence":
		return once(&d.seen, 13) && d.strings(&r.Evidence)
	case "facts":
		return once(&d.seen, 14) && d.object(r.Facts.field)
	case "endpoints":
		return once(&d.seen, 15) && d.strings(&r.Endpoints)
	case "unhealthy":
		return once(&d.seen, 16) && d.bool(&r.Unhealthy)
	case "hosts":
		return once(&d.seen, 17) && d.strings(&r.Hosts)
	}
	return false
}

// field decodes the facts field key.
func (f *Facts) field(d *plainDecoder, key []byte) bool {
	switch string(key) {
	case "decision":
		return once(&d.factsSeen, 0) && d.string(&f.Decision)
	case "expected":
		return once(&d.factsSeen, 1) && d.string(&f.Expected)
	case "roles":
		return once(&d.factsSeen, 2) && d.strings(&f.Roles)
	case "scopes":
		return once(&d.factsSeen, 3) && d.strings(&f.Scopes)
	case "ttl_s":
		return once(&d.factsSeen, 4) && d.int64(&f.TTL)
	case "missing_claims":
		return once(&d.factsSeen, 5) && d.strings(&f.MissingClaims)
	case "rotated":
		var v bool
		if once(&d.factsSeen, 6) && d.bool(&v) {
			f.Rotated = &v
			return true
		}
		return false
	case "widened":
		return once(&d.factsSeen, 7) && d.strings(&f.Widened)
	case "refresh_issued":
		return once(&d.factsSeen, 8) && d.bool(&f.RefreshIssued)
	case "status":
		if !once(&d.factsSeen, 9) {
			return false
		}
		n, ok := d.signed(strconv.IntSize)
		f.Status = int(n)
		return ok
	case "check":
		return once(&d.factsSeen, 10) && d.string(&f.Check)
	case "state":
		return once(&d.factsSeen, 11) && d.string(&f.State)
	case "state_note":
		return once(&d.factsSeen, 12) && d.string(&f.StateNote)
	case "state_from":
		return once(&d.factsSeen, 13) && d.string(&f.StateFrom)
	}
	return false
}

// time reads a plain string and gives it, quotes and all, to
// time.Time.UnmarshalJSON, as encoding/json does.
func (d *plainDecoder) time(dst *time.Time) bool {
	start := d.i
	if _, ok := d.str(); !ok {
		return false
	}
	return dst.UnmarshalJSON(d.data[start:d.i]) == nil
}
