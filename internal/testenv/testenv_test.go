package testenv_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// runPair runs body as two parallel subtests and returns what each reported,
// so a test can compare what two concurrently running tests were given.
func runPair(t *testing.T, body func(t *testing.T) string) (string, string) {
	t.Helper()
	var mu sync.Mutex
	got := map[string]string{}
	// Both halves hold what they got until the other has it too: otherwise,
	// on a busy machine, one can finish and release before the other
	// acquires, and getting the same one back would be correct.
	var both sync.WaitGroup
	both.Add(2)
	// The halves run concurrently from goroutines, not with t.Parallel: a
	// half waiting for its twin must not hold one of go test's -parallel
	// slots (GOMAXPROCS, 2 here), or two pair tests each holding a slot
	// while their twins queue for one deadlock until the timeout.
	t.Run("pair", func(t *testing.T) {
		var halves sync.WaitGroup
		for _, name := range []string{"a", "b"} {
			halves.Go(func() {
				t.Run(name, func(t *testing.T) {
					arrived := false
					defer func() {
						if !arrived { // body failed: do not leave the other half waiting
							both.Done()
						}
					}()
					v := body(t)
					arrived = true
					both.Done()
					both.Wait()
					mu.Lock()
					got[name] = v
					mu.Unlock()
				})
			})
		}
		halves.Wait()
	})
	if t.Failed() {
		t.FailNow()
	}
	return got["a"], got["b"]
}

func TestDatabaseURL_ParallelTestsGetDifferentDatabases(t *testing.T) {
	t.Parallel()
	a, b := runPair(t, func(t *testing.T) string {
		ctx := t.Context()
		pool := testenv.NewPool(t)
		// Both tests create the same table: that only works if each has a
		// database of its own.
		if _, err := pool.Exec(ctx, `CREATE TABLE only_mine (v TEXT)`); err != nil {
			t.Fatalf("create table: %v", err)
		}
		// Hold the database while the other test runs.
		time.Sleep(200 * time.Millisecond)
		var name string
		if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatalf("current_database: %v", err)
		}
		return name
	})
	if a == "" || a == b {
		t.Errorf("databases: got %q and %q, want two different names", a, b)
	}
}

func TestDatabaseURL_CloneHasMigratedSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := testenv.NewPool(t)
	for _, table := range []string{"states", "centers", "slots", "bookings"} {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('public.' || $1) IS NOT NULL`, table).Scan(&exists); err != nil {
			t.Fatalf("look up table %s: %v", table, err)
		}
		if !exists {
			t.Errorf("table %s: missing from the cloned database", table)
		}
	}
	var dirty bool
	if err := pool.QueryRow(ctx, `SELECT dirty FROM schema_migrations`).Scan(&dirty); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if dirty {
		t.Errorf("schema_migrations.dirty = true, want a cleanly migrated template")
	}
}

func TestDatabaseURL_DatabaseIsDroppedAfterTest(t *testing.T) {
	t.Parallel()
	var dbURL string
	t.Run("user", func(t *testing.T) {
		dbURL = testenv.DatabaseURL(t)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err == nil {
		conn.Close(ctx)
		t.Fatalf("connect to %s after its test ended: succeeded, want the database gone", dbURL)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Errorf("connect after the test ended: got %v, want invalid_catalog_name (3D000)", err)
	}
}

func TestRedisURL_ParallelTestsGetDifferentEmptyDatabases(t *testing.T) {
	t.Parallel()
	a, b := runPair(t, func(t *testing.T) string {
		ctx := t.Context()
		rdb := testenv.NewRedis(t)
		if db := rdb.Options().DB; db == 0 {
			t.Errorf("leased db 0, which holds the leases")
		}
		if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
			t.Errorf("DBSize at start: got %d, %v; want an empty database", n, err)
		}
		me := t.Name()
		if err := rdb.Set(ctx, "owner", me, 0).Err(); err != nil {
			t.Fatalf("set: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		if got, err := rdb.Get(ctx, "owner").Result(); err != nil || got != me {
			t.Errorf("owner after the other test wrote: got %q, %v; want %q", got, err, me)
		}
		return rdb.Options().Addr + "/" + strconv.Itoa(rdb.Options().DB)
	})
	if a == "" || a == b {
		t.Errorf("redis databases: got %q and %q, want two different ones", a, b)
	}
}

func TestNewPubSub_PublishedMessageIsReceived(t *testing.T) {
	t.Parallel()
	const project = "testenv-project"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, client := testenv.NewPubSub(t, project)

	topic, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/t"})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	sub, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/" + project + "/subscriptions/s", Topic: topic.GetName(),
	})
	if err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	pub := client.Publisher(topic.GetName())
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("hello")}).Get(ctx); err != nil {
		t.Fatalf("publish: %v", err)
	}

	var got string
	rctx, stop := context.WithCancel(ctx)
	err = client.Subscriber(sub.GetName()).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		got = string(m.Data)
		m.Ack()
		stop()
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if got != "hello" {
		t.Errorf("received %q, want %q", got, "hello")
	}
}
