package testenv

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// NewPubSub starts an in-process Pub/Sub server for this test and connects
// the real client library to it, so code under test goes through the same
// client calls as in production. Both are closed when the test ends. The
// server is pstest: it never delivers push subscriptions, so a test of push
// handling pulls and posts itself.
func NewPubSub(t testing.TB, project string) (*pstest.Server, *pubsub.Client) {
	t.Helper()
	srv := pstest.NewServer()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		_ = srv.Close()
		t.Fatalf("testenv: dial in-process Pub/Sub at %s: %v", srv.Addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := pubsub.NewClient(ctx, project, option.WithGRPCConn(conn))
	if err != nil {
		_ = conn.Close()
		_ = srv.Close()
		t.Fatalf("testenv: Pub/Sub client for project %q: %v", project, err)
	}
	t.Cleanup(func() {
		// The client closes conn as well; closing it again only reports
		// that it is already closed.
		_ = client.Close()
		_ = conn.Close()
		_ = srv.Close()
	})
	return srv, client
}
