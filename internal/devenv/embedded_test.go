package devenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// bare is a machine with nothing: no Docker, no server on the standard
// ports, no binaries found, so only the embedded fallbacks are left.
var bare = options{noDocker: true, noLocal: true, findBinaries: func() (string, error) { return "", errors.New("none here") }}

func TestRedis_BareMachineFallsBackToEmbeddedMiniredis(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u, how, cleanup, err := redisWith(ctx, bare)
	if err != nil {
		t.Fatalf("redisWith on a bare machine: %v", err)
	}
	defer cleanup()
	if !strings.Contains(how, "embedded miniredis") {
		t.Errorf("how = %q, want it to say embedded miniredis", how)
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()

	// A key with a TTL must go by the wall clock, as status marks and rate
	// limits rely on; miniredis keeps it forever by default.
	if err := c.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatalf("SET PX: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := c.Exists(ctx, "k").Result()
		if err != nil {
			t.Fatalf("EXISTS: %v", err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key set with a 50ms TTL is still there after 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	addr := hostOf(t, u)
	cleanup()
	if listening(addr) {
		t.Errorf("after cleanup: something still listens on %s", addr)
	}
	cleanup()
}

// asUserEnv marks the copy of this test binary TestPostgres_BareMachine…
// runs as user postgres when it is itself root.
const asUserEnv = "VAXBOOK_DEVENV_TEST_AS_USER"

func TestPostgres_BareMachineFallsBackToEmbeddedPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bin, err := findPostgresBinaries()
	if err != nil {
		t.Fatalf("this test points embedded-postgres at the local binaries, since its download is unreachable here: %v", err)
	}
	o := bare
	o.embeddedBinaries = bin

	if os.Geteuid() == 0 {
		_, _, cleanup, err := postgresWith(ctx, o)
		cleanup()
		if err == nil || !strings.Contains(err.Error(), "running as root") || !strings.Contains(err.Error(), "ordinary user") {
			t.Errorf("as root: got %v, want a refusal saying to run as an ordinary user", err)
		}
		runAsPostgres(t)
		return
	}

	dbURL, how, cleanup, err := postgresWith(ctx, o)
	if err != nil {
		t.Fatalf("postgresWith on a bare machine: %v", err)
	}
	t.Logf("%s", how)
	if !strings.Contains(how, "embedded-postgres") || !strings.Contains(how, bin) {
		t.Errorf("how = %q, want it to say embedded-postgres from %s", how, bin)
	}
	usePostgresThenClean(t, dbURL, how, cleanup)
}

// runAsPostgres runs the calling test again as user postgres, in a copy of
// this test binary where that user can reach it, and fails with its output
// unless it passed.
func runAsPostgres(t *testing.T) {
	t.Helper()
	if os.Getenv(asUserEnv) != "" {
		t.Fatal("still root in the copy meant to run as user postgres")
	}
	as, err := serverAccount()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir(), whose parent only root may enter.
	dir, err := os.MkdirTemp("", "vaxbook-devenv-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, as.uid, as.gid); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "devenv.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asUserEnv+"=1", "HOME="+dir, "TMPDIR="+dir)
	cmd.SysProcAttr = sysProcAttr(as)
	out, err := cmd.CombinedOutput()
	t.Logf("as user %s:\n%s", as.name, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("as user %s: %v", as.name, err)
	}
}
