package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"anticovid/internal/auth"
)

func init() {
	register("user add", "add an account: --username U --role R --unit CODE [--department D]; password on standard input", userAdd)
	register("token create", "print a new API bearer token for --username U", tokenCreate)
}

// stdin is where passwords are read from (a variable so tests can feed it).
var stdin io.Reader = os.Stdin

func userAdd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("user add")
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "one of: province_admin, department_officer, district_officer, commune_officer, health_tracer, venue_manager")
	unit := fs.String("unit", "", "GSO code of the user's jurisdiction (VN for the whole country)")
	dept := fs.String("department", "", "department code, for department_officer: "+strings.Join(deptCodes(), ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read password from standard input: %w", err)
	}
	a, err := open(ctx, cfg, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.auth.CreateUser(ctx, auth.NewUser{Username: *username, Password: strings.TrimRight(line, "\r\n"),
		Role: auth.Role(*role), Unit: *unit, Department: *dept})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (id %d, %s, unit %s)\n", u.Username, u.UserID, u.Role, u.Unit)
	return nil
}

func deptCodes() []string {
	var out []string
	for c := range auth.Departments {
		out = append(out, c)
	}
	return out
}

func tokenCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("token create")
	username := fs.String("username", "", "the account the token acts as")
	ttl := fs.Duration("ttl", 365*24*time.Hour, "how long the token is valid")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
	tok, err := a.auth.CreateToken(ctx, *username, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
