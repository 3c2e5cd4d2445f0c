package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/chaos"
)

// runChaos runs the roles as separate processes of this binary over
// servers of their own, and breaks them on purpose during a surge.
func runChaos(ctx context.Context, args []string, _ func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Bool("short", false, "the CI-sized run: 3 s of arrivals at 20/s per fault, PostgreSQL stopped 3 s, publishes refused 3 s")
	// --short changes the defaults, so the other flags still override it.
	def := chaos.Full()
	if slices.Contains(args, "--short") || slices.Contains(args, "-short") {
		def = chaos.Short()
	}
	o := def
	fs.Float64Var(&o.Rate, "rate", def.Rate, "people arriving per second during each fault's surge")
	fs.DurationVar(&o.Arrivals, "arrivals", def.Arrivals, "how long people arrive, per fault (the fault comes a third of the way in)")
	fs.DurationVar(&o.PGStop, "pg-stop", def.PGStop, "how long PostgreSQL stays stopped")
	fs.DurationVar(&o.PublishFailure, "publish-failure", def.PublishFailure, "how long the local Pub/Sub refuses publishes (the API gives up on one after 10 s)")
	fs.DurationVar(&o.Recover, "recover", def.Recover, "how long people follow their status after the last arrival")
	faults := fs.String("faults", "", "comma-separated faults to inject, of "+strings.Join(chaos.FaultNames(), ", ")+" (default all)")
	exe := fs.String("exe", "", "the vaxbook binary that runs each role (default this one)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed of the surges")
	quiet := fs.Bool("quiet", false, "no per-second progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *exe == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("chaos: find this binary: %w", err)
		}
		*exe = self
	}
	o.Exe, o.Seed, o.Out = *exe, *seed, stdout
	if *faults != "" {
		o.Faults = strings.Split(*faults, ",")
	}
	if !*quiet {
		o.Progress = os.Stderr
	}
	_, err := chaos.Run(ctx, o)
	return err
}
