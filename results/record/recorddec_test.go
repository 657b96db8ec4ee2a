package record_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

// randomRecord returns a record whose every field may be set, to anything
// JSON can carry back: any valid UTF-8 (quotes, backslashes, control and HTML
// characters, non-ASCII), any integer, times in UTC to the nanosecond.
func randomRecord(rng *rand.Rand) *record.Record {
	// Half the records need no escape, so that the fast path sees them.
	alphabet := []rune("ab-_:{}/ 0éλ😀")
	if rng.IntN(2) == 0 {
		alphabet = append(alphabet, []rune("\"\\<>&\n\t\x00\x1f\u2028")...)
	}
	str := func() string {
		if rng.IntN(4) == 0 {
			return ""
		}
		rs := make([]rune, rng.IntN(12))
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(rs)
	}
	strs := func() []string {
		if rng.IntN(3) == 0 {
			return nil
		}
		out := make([]string, 1+rng.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	at := func() time.Time {
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC()
	}
	r := &record.Record{Side: []record.Side{record.Legacy, record.Candidate}[rng.IntN(2)], Persona: str(), Kind: str(), Cohort: str(), Journey: str(),
		Iteration: rng.Uint64(), Step: str(), Target: str(), Intended: at(), Start: at(), Latency: time.Duration(rng.Int64() - rng.Int64()),
		Outcome: record.Outcome(str()), Error: str(), Evidence: strs(), Endpoints: strs(), Unhealthy: rng.IntN(3) == 0}
	if rng.IntN(4) > 0 {
		r.Facts = record.Facts{Decision: str(), Expected: str(), Roles: strs(), Scopes: strs(), TTL: rng.Int64() - rng.Int64(),
			MissingClaims: strs(), Widened: strs(), RefreshIssued: rng.IntN(2) == 0, Status: int(rng.Int64() - rng.Int64()), Check: str()}
		if rng.IntN(2) == 0 {
			r.Facts.Rotated = record.Bool(rng.IntN(2) == 0)
		}
	}
	return r
}

// TestRecordsRoundTripRandom writes random records and reads them back equal;
// every line the Writer writes without an escape takes the fast path.
func TestRecordsRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	recs := make([]*record.Record, 3000)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	data := fixture.WriteRecords(t, recs) // redacts recs in place: compare with what was written
	fast := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		var r record.Record
		if !bytes.Contains(sc.Bytes(), []byte(`\`)) {
			if !record.FastDecodeRecord(sc.Bytes(), &r, nil) {
				t.Errorf("line %d takes the slow path: %s", n, sc.Bytes())
			}
			fast++
		}
	}
	if fast == 0 {
		t.Error("no line without an escape: the fast path went untested")
	}
	i := 0
	err := record.ReadRecords(bytes.NewReader(data), "records.jsonl", func(r *record.Record) error {
		if !reflect.DeepEqual(*r, *recs[i]) {
			t.Fatalf("record %d = %+v; want %+v", i, *r, *recs[i])
		}
		i++
		return nil
	})
	if err != nil || i != len(recs) {
		t.Fatalf("read back %d records, %v; want %d", i, err, len(recs))
	}
}

// TestDecodeRecordFollowsEncodingJSON checks lines off the plain form: each
// decodes, or fails, as json.Unmarshal has it.
func TestDecodeRecordFollowsEncodingJSON(t *testing.T) {
	for _, line := range decodeSeeds {
		var got, want record.Record
		gotErr, wantErr := record.DecodeRecord([]byte(line), &got, record.StringTable{}), json.Unmarshal([]byte(line), &want)
		if !sameDecoding(got, want, gotErr, wantErr) {
			t.Errorf("decodeRecord(%s) = %+v, %v; want %+v, %v", line, got, gotErr, want, wantErr)
		}
	}
}

// sameDecoding reports whether two decodings gave the same record and error.
func sameDecoding(got, want record.Record, gotErr, wantErr error) bool {
	if gotErr != nil || wantErr != nil {
		return gotErr != nil && wantErr != nil && gotErr.Error() == wantErr.Error() && reflect.DeepEqual(got, want)
	}
	return reflect.DeepEqual(got, want)
}

// decodeSeeds are lines at the edges of the plain form.
var decodeSeeds = []string{
	`{"side":"legacy","persona":"p-1","kind":"patient","journey":"session","iter":3,"step":"login","intended":"2026-01-15T09:00:00Z","start":"2026-01-15T09:00:00.000000123Z","latency_ns":1500000,"outcome":"ok","facts":{"decision":"allow","roles":["patient"],"ttl_s":-1,"rotated":false,"refresh_issued":true,"status":200}}`,
	` { "side" : "candidate" , "evidence" : [ ] , "facts" : { } } `,
	`{"side":"candidate","step":"login","endpoints":["GET /authorize","POST /login","POST /token"],"outcome":"ok"}`,
	` { "side" : "legacy" , "endpoints" : [ ] } `,
	`{"side":"legacy","endpoints":null}`,
	`{"side":"legacy","endpoints":["GET /a",null]}`,
	`{"side":"legacy","endpoints":["GET /a"],"endpoints":["GET /b"]}`,
	`{"side":"legacy","Endpoints":["GET /a"]}`,
	`{"side":"legacy","endpoints":"GET /a"}`,
	`{"side":"legacy","endpoints":["GET /a",]}`,
	`{"side":"legacy","endpoints":["GET /a\u003fq"]}`,
	`{"side":"legacy","endpoints":["GET /…/{id}"]}`,
	`{"side":"legacy","unknown":{"a":[1,2.5e3,null,true]},"step":"x"}`,
	`{"Side":"legacy","STEP":"x","ſide":"candidate"}`,
	`{"side":"legacy","side":"candidate"}`,
	`{"side":"legacy","facts":{"roles":["a","b"]},"facts":{"roles":[null]}}`,
	`{"side":"legacy","step":null,"facts":{"rotated":null,"roles":null}}`,
	`{"side":"le\u0067acy","error":"a\"b\\c\n"}`,
	"{\"side\":\"legacy\",\"error\":\"\xff\xfe\"}",
	"{\"side\":\"legacy\",\"error\":\"tab\there\"}",
	`{"side":"legacy","iter":-0}`,
	`{"side":"legacy","latency_ns":-0,"facts":{"status":0}}`,
	`{"side":"legacy","iter":01}`,
	`{"side":"legacy","iter":1.0}`,
	`{"side":"legacy","iter":1e3}`,
	`{"side":"legacy","iter":18446744073709551616}`,
	`{"side":"legacy","latency_ns":9223372036854775808}`,
	`{"side":"legacy","iter":"3"}`,
	`{"side":"legacy","intended":"2026-01-15 09:00:00Z"}`,
	`{"side":"legacy","intended":"2026-01-15T09:00:00+01:00"}`,
	`{"side":"legacy","intended":1}`,
	`{"side":"legacy","facts":{"rotated":"yes"}}`,
	`{"side":"legacy","facts":[]}`,
	`{"side":"legacy",}`,
	`{"side":"legacy"} x`,
	`{"side":"legacy"`,
	`{"side":"legacy","evidence":["a",]}`,
	`{"side":"legacy","facts":{"rotated":tru}}`,
	`null`,
	`[]`,
	``,
}

// FuzzDecodeRecord holds the decoder to encoding/json: same record, same
// error, and the fast path only takes what encoding/json decodes to the same.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	for line := range bytes.Lines(fixture.WriteRecords(f, (fixture.Run{Journeys: 3, Duration: time.Second, Seed: 5}).Records())) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var want record.Record
		wantErr := json.Unmarshal(line, &want)
		var fast record.Record
		if record.FastDecodeRecord(line, &fast, record.StringTable{}) && (wantErr != nil || !reflect.DeepEqual(fast, want)) {
			t.Fatalf("fast path decodes %q to %+v; encoding/json to %+v, %v", line, fast, want, wantErr)
		}
		var got record.Record
		gotErr := record.DecodeRecord(line, &got, nil)
		if !sameDecoding(got, want, gotErr, wantErr) {
			t.Fatalf("decodeRecord(%q) = %+v, %v; want %+v, %v", line, got, gotErr, want, wantErr)
		}
	})
}

// BenchmarkDecodeRecord decodes the lines of a fixture run with encoding/json
// and with decodeRecord, one core.
func BenchmarkDecodeRecord(b *testing.B) {
	data := fixture.WriteRecords(b, (fixture.Run{Journeys: 1000, Duration: time.Minute, Seed: 3}).Records())
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	strs := record.StringTable{}
	for _, c := range []struct {
		name   string
		decode func([]byte, *record.Record) error
	}{
		{"encoding-json", func(l []byte, r *record.Record) error { return json.Unmarshal(l, r) }},
		{"decodeRecord", func(l []byte, r *record.Record) error { return record.DecodeRecord(l, r, nil) }},
		{"decodeRecord-shared", func(l []byte, r *record.Record) error { return record.DecodeRecord(l, r, strs) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data) / len(lines)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var r record.Record
				if err := c.decode(lines[i%len(lines)], &r); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
