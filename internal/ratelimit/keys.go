package ratelimit

// The Redis layout of the abuse counters, in one place. They live apart
// from internal/redis's listings and statuses (their own prefixes, nothing
// else reads them) and every variable part is an HMAC, never a raw address.
// redis_rate puts "rate:" in front of keyRate's result.

// keyRate is one client's GCRA state for one limit.
func keyRate(name, mac string) string { return "ip:" + name + ":" + mac }

// keyCap counts one contact's uses in one scope.
func keyCap(scope, kind, mac string) string { return "cap:" + scope + ":" + kind + ":" + mac }
