package record

// Internals the external tests (package record_test, which the shared fixture
// makes external) reach.
var (
	DecodeRecord     = decodeRecord
	FastDecodeRecord = fastDecodeRecord
)

type StringTable = stringTable

const RedactedPrefix = redactedPrefix
