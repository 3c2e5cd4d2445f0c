// Command vaxbook is the one binary behind every vaxbook role: the API, the
// push worker, the cache-fill loop, migrations, seeding, and `dev`, which runs
// them all in one process on a laptop.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
)

// version is stamped by the build (-X main.version=...).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vaxbook:", err)
		os.Exit(1)
	}
}

// command is one subcommand of the binary.
type command struct {
	name  string
	args  string // its synopsis after the name, if it takes arguments
	about string // one line of help, if the synopsis does not say enough
	run   func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error
	// deploy is set for a role Cloud Run runs; the deploy tests compare it
	// with its file.
	deploy *deployment
}

// deployment is how Cloud Run runs a role.
type deployment struct {
	file   string       // its service or job, from the repository's root
	args   []string     // the container's args
	config reflect.Type // the configuration struct the role loads
}

// commands drives dispatch, the usage text and the deploy tests.
var commands = []command{
	{name: "api", about: "the public HTTP API (Redis, Pub/Sub)", run: runAPI,
		deploy: &deployment{"deploy/api.yaml", []string{"api"}, reflect.TypeFor[apiConfig]()}},
	{name: "worker", about: "the Pub/Sub push endpoint that books (Postgres, Redis)", run: runWorker,
		deploy: &deployment{"deploy/worker.yaml", []string{"worker"}, reflect.TypeFor[workerConfig]()}},
	{name: "cachefill", about: "the loop that renders availability into Redis", run: runCacheFill,
		deploy: &deployment{"deploy/cachefill.yaml", []string{"cachefill"}, reflect.TypeFor[cacheFillConfig]()}},
	{name: "invite", about: "the loop that invites registrants of queue states", run: runInvite,
		deploy: &deployment{"deploy/invite.yaml", []string{"invite"}, reflect.TypeFor[inviteConfig]()}},
	{name: "hooks", about: "the public delivery hooks of Twilio and SendGrid (Postgres)", run: runHooks,
		deploy: &deployment{"deploy/hooks.yaml", []string{"hooks"}, reflect.TypeFor[hooksConfig]()}},
	{name: "admin", about: "the centres' staff pages behind Google sign-in (Postgres)", run: runAdmin,
		deploy: &deployment{"deploy/admin.yaml", []string{"admin"}, reflect.TypeFor[adminConfig]()}},
	{name: "staff", args: "set EMAIL --admin-of STATES | --staff-of CENTRES | --remove", about: "the admin role's allow-list (audited as operator)", run: runStaff},
	{name: "migrate", args: "up|down N|version", run: runMigrate,
		deploy: &deployment{"deploy/migrate-job.yaml", []string{"migrate", "up"}, reflect.TypeFor[migrateConfig]()}},
	{name: "seed", args: "--csv FILE | --demo", run: runSeed},
	{name: "state", args: "set STATE|--all [--mode open|queue [--opens-at TIME]] [--closed|--open]", about: "a state's booking mode (--opens-at \"\" clears the time) or maintenance switch", run: runState},
	{name: "reconcile", args: "[--fix]", about: "hold every slot's booked counter against its bookings; --fix sets them", run: runReconcile,
		deploy: &deployment{"deploy/reconcile-job.yaml", []string{"reconcile"}, reflect.TypeFor[reconcileConfig]()}},
	{name: "deadletter", args: "replay --subscription SUB [--limit N] [--dry-run]", about: "republish dead-lettered messages to their topic", run: runDeadletter},
	{name: "retention", about: "remove personal data past RETENTION_AFTER, once (a scheduled job)", run: runRetention,
		deploy: &deployment{"deploy/retention-job.yaml", []string{"retention"}, reflect.TypeFor[retentionConfig]()}},
	{name: "closings", about: "cancel what stayed on closed sessions whose time to move is up, once (a scheduled job)", run: runClosings,
		deploy: &deployment{"deploy/closings-job.yaml", []string{"closings"}, reflect.TypeFor[closingsConfig]()}},
	{name: "erase", args: "--id-number X | --reference REF", about: "remove one person's details everywhere", run: runErase},
	{name: "pii", args: "backfill", about: "hash ID numbers stored before migration 7 (ID_PEPPER)", run: runPII},
	{name: "dev", about: "everything in one process, for a laptop", run: runDev},
	{name: "pubsub", about: "a standalone local Pub/Sub on $PORT pushing to $PUSH_ENDPOINT (the roles as processes)", run: runPubSub},
	{name: "chaos", args: "[--short] [--people N] ...", about: "a surge against the roles as processes, with faults injected", run: runChaos},
	{name: "loadtest", args: "listppv|submit|surge [--dev] [--baseline] [--rate N] ...", run: runLoadtest},
	{name: "capacity", args: "--result FILE --peak-rps N --peak-bookings N", run: runCapacity},
	{name: "version", about: "print the build version", run: runVersion},
}

// usage is the help text, one line per command.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: vaxbook <command>\n\ncommands:")
	for _, c := range commands {
		line := strings.TrimSpace(c.name + " " + c.args)
		if c.about != "" {
			line = fmt.Sprintf("%-22s %s", line, c.about)
		}
		b.WriteString("\n  " + line)
	}
	return b.String()
}

// run is main without the process: tests call it with their own arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 {
		return fmt.Errorf("no command given\n%s", usage())
	}
	name, rest := args[1], args[2:]
	switch name {
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage())
		return nil
	case "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, rest, getenv, stdout)
		}
	}
	return fmt.Errorf("unknown command %q\n%s", name, usage())
}

func runVersion(_ context.Context, _ []string, _ func(string) string, stdout io.Writer) error {
	fmt.Fprintln(stdout, "vaxbook", version)
	return nil
}
