package devstack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/devenv"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestStart_OnEmbeddedRedis runs the stack's flows on the miniredis that
// `vaxbook dev` falls back to on a bare machine: every script (EVALSHA),
// pipeline, MGET, PEXPIRE and FLUSHDB they reach must work there as on a
// Redis server.
func TestStart_OnEmbeddedRedis(t *testing.T) {
	t.Parallel()
	for name, flow := range map[string]func(*testing.T){
		"PageAPIWorkerOutbox":  TestStart_ServesPageAPIWorkerAndOutboxOnOnePort,
		"ContactProof":         TestStart_ContactProofCodeArrivesInTheOutboxAndBooks,
		"QueueInviteBookWipe":  TestStart_DemoQueueStateRegisterInviteBookAndSurviveARedisWipe,
		"ManageChangeCancel":   TestStart_BookOpenTheManageLinkChangeCancelAndBookAgain,
		"StatusesAfterWipe":    TestStart_StatusesComeBackAfterARedisWipe,
		"RegistrationsRelayed": TestStart_RegistrationIsRelayedToTheWorkerAndQueued,
	} {
		t.Run(name, flow)
	}
}

// redisURL gives a test its Redis: a leased database of the test server, or
// under TestStart_OnEmbeddedRedis a miniredis of its own.
func redisURL(t *testing.T) string {
	t.Helper()
	if !strings.HasPrefix(t.Name(), "TestStart_OnEmbeddedRedis/") {
		return testenv.RedisURL(t)
	}
	u, _, cleanup, err := devenv.EmbeddedRedis(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the stack's own cleanup, so it runs after it.
	t.Cleanup(cleanup)
	return u
}
