package redis

// The Redis layout, in one place: nothing outside this package names a key.
// A rendered document is one hash (the fields below) so a reader gets body,
// gzip copy and ETag in a single command.
const (
	keyStates    = "listppv:states"
	keyHeartbeat = "cachefill:heartbeat"

	// keyStatusMark is there while Redis holds every decided booking's
	// status record: only a finished rebuild writes it (FinishRestore), so
	// its absence means Redis lost the records, or never had them.
	keyStatusMark = "statuses:mark"
	// keyStatusRestore holds the token of the rebuild under way, if any
	// (ClaimRestore).
	keyStatusRestore = "statuses:restore"

	fieldBody = "body"
	fieldGzip = "gzip"
	fieldETag = "etag"
)

// keyState is the hash holding one state's rendered /listppv document.
func keyState(code string) string { return "listppv:state:" + code }

// keyStatus is the string holding one reference's status record.
func keyStatus(reference string) string { return "status:" + reference }

// keyRegistration is the string holding one registration's record
// (GET /registration/{reference}).
func keyRegistration(reference string) string { return "registration:" + reference }

// keyQueueMark is the string holding a queue state's invited-through mark:
// the highest place invited so far.
func keyQueueMark(state string) string { return "queue:mark:" + state }

// keyQueueRestore is the string a rebuild of a queue state's records holds
// while it runs (see BeginRestore).
func keyQueueRestore(state string) string { return "queue:restore:" + state }

// keyProofTries counts the tries of one contact-proof challenge; id is the
// keyed hash proof.Signer.AttemptsKey gives, never the challenge itself.
func keyProofTries(id string) string { return "proof:tries:" + id }
