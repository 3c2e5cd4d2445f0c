package listing

import "errors"

// ErrNotFilled means a document is not in the cache: the cache-fill loop has
// not written it yet.
var ErrNotFilled = errors.New("listing not filled yet")

// Redis keys. A rendered document is one hash (fields below) so a reader gets
// body, gzip copy and ETag in a single command.
const (
	KeyStates    = "listppv:states"
	KeyHeartbeat = "cachefill:heartbeat"

	FieldBody = "body"
	FieldGzip = "gzip"
	FieldETag = "etag"
)

// KeyState is the hash holding one state's rendered /listppv document.
func KeyState(code string) string { return "listppv:state:" + code }

// KeyStatus is the string holding one reference's status record.
func KeyStatus(reference string) string { return "status:" + reference }
