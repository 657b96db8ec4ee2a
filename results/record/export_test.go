package record

// Internals the external tests (package record_test, which the shared fixture
// makes external) reach.
var (
	DecodeRecord     = decodeRecord
	FastDecodeRecord = fastDecodeRecord
)

type StringTable = stringTable

const RedactedPrefix = redactedPrefix

// CredentialShapes and FirstNamedShape are the redactor's shapes and the first
// that needs a separator, for TestNamedShapesNeedASeparator.
var CredentialShapes = credentialShapes

const FirstNamedShape = firstNamedShape
