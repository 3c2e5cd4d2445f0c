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

const usage = `usage: vaxbook <command>

commands:
  api                    the public HTTP API (Redis, Pub/Sub)
  worker                 the Pub/Sub push endpoint that books (Postgres, Redis)
  cachefill              the loop that renders availability into Redis
  migrate up|down N|version
  seed --csv FILE | --demo
  dev                    everything in one process, for a laptop
  loadtest listppv|submit|surge [--dev] [--baseline] [--rate N] ...
  capacity --result FILE --peak-rps N --peak-bookings N
  version                print the build version`

// run is main without the process: tests call it with their own arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 {
		return fmt.Errorf("no command given\n%s", usage)
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "api":
		return runAPI(ctx, getenv, stdout)
	case "worker":
		return runWorker(ctx, getenv, stdout)
	case "cachefill":
		return runCacheFill(ctx, getenv, stdout)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout)
	case "dev":
		return runDev(ctx, getenv, stdout)
	case "loadtest":
		return runLoadtest(ctx, rest, getenv, stdout)
	case "capacity":
		return runCapacity(rest, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "vaxbook", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}
