package telemetry

// The metric names, named once: deploy/monitoring's dashboards, alerts and
// SLOs refer to them (as workload.googleapis.com/NAME in Cloud Monitoring,
// dots as underscores with unit and _total suffixes in Prometheus), and
// the deploy tests check every name used there against Names, so renaming
// one here fails them until deploy/monitoring follows.
const (
	// Requests counts answers by role, route and code; the availability
	// SLOs divide its 5xx by its total.
	Requests = "vaxbook.http.requests"
	// RequestDuration is the time to answer (seconds) by role, route and
	// code; the latency SLOs cut it.
	RequestDuration = "vaxbook.http.duration"
	// Publishes counts publishes by topic and result (ok, error).
	Publishes = "vaxbook.pubsub.publishes"
	// PublishDuration is the time to Pub/Sub's ack (seconds) by topic.
	PublishDuration = "vaxbook.pubsub.publish_duration"
	// Bookings counts decisions by state and outcome (confirmed, full,
	// duplicate, rejected), once each, when the worker makes it.
	Bookings = "vaxbook.booking.outcomes"
	// DecisionTime is from the API's acceptance (the submit time in the
	// message) to the worker's decision (seconds), by state.
	DecisionTime = "vaxbook.booking.decision_time"
	// TxDuration is a push's Postgres transaction (seconds) by route.
	TxDuration = "vaxbook.worker.tx_duration"
	// PushRetries counts pushes the worker answered non-2xx (each is a
	// redelivery Pub/Sub will make), by route and code.
	PushRetries = "vaxbook.worker.retries"
	// CacheFillPass is one cache-fill pass (seconds), by result.
	CacheFillPass = "vaxbook.cachefill.pass_duration"
	// ListingAge is, per state, the seconds since the cache-fill loop of
	// this instance last wrote the state's listing.
	ListingAge = "vaxbook.cachefill.listing_age"
	// StoreErrors counts failed calls to Redis and Postgres by store.
	StoreErrors = "vaxbook.store.errors"
	// MessagesSent counts e-mail and SMS sends by channel and outcome
	// (sent, already, rejected, retry, busy, off).
	MessagesSent = "vaxbook.messages.sent"
	// Registrations counts registrations recorded, by state and status
	// (queued, received, duplicate).
	Registrations = "vaxbook.queue.registrations"
	// Invitations counts invitations made by the invitation loop, by state.
	Invitations = "vaxbook.queue.invitations"
	// Expiries counts invitations that ran out unused, by state.
	Expiries = "vaxbook.queue.expiries"
)

// Names lists every metric vaxbook exports.
func Names() []string {
	return []string{Requests, RequestDuration, Publishes, PublishDuration, Bookings, DecisionTime,
		TxDuration, PushRetries, CacheFillPass, ListingAge, StoreErrors, MessagesSent, Registrations,
		Invitations, Expiries}
}
