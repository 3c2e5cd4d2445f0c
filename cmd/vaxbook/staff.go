package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

const staffUsage = "usage: vaxbook staff set EMAIL --admin-of STATE[,STATE] | --staff-of CENTRE[,CENTRE] | --remove"

// runStaff edits the allow-list of `vaxbook admin`: an operator's command,
// audited with actor "operator".
func runStaff(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "set" {
		return errors.New(staffUsage)
	}
	email := args[1]
	fs := flag.NewFlagSet("staff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	adminOf := fs.String("admin-of", "", "")
	staffOf := fs.String("staff-of", "", "")
	remove := fs.Bool("remove", false, "")
	if err := fs.Parse(args[2:]); err != nil {
		return fmt.Errorf("%w\n%s", err, staffUsage)
	}
	s := postgres.Staff{Email: email}
	switch {
	case *adminOf != "" && *staffOf == "" && !*remove:
		s.Role, s.States = postgres.RoleStateAdmin, strings.Split(*adminOf, ",")
	case *staffOf != "" && *adminOf == "" && !*remove:
		s.Role, s.Centers = postgres.RoleCentreStaff, strings.Split(*staffOf, ",")
	case *remove && *adminOf == "" && *staffOf == "":
	default:
		return errors.New(staffUsage)
	}
	var cfg migrateConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	return withPool(ctx, cfg.DatabaseURL, 2, func(pool *pgxpool.Pool) error {
		if err := postgres.SetStaff(ctx, pool, "operator", s); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff %s: %s\n", strings.ToLower(email), strings.TrimSpace(s.Role+" "+strings.Join(append(s.States, s.Centers...), ",")))
		return nil
	})
}
