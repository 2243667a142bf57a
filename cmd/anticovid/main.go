// Command anticovid runs a province's COVID-19 directive as software: venue QR
// codes, check-ins, health declarations, contact tracing, Bluetooth tracing,
// dashboards, reports. `anticovid help` lists its subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"anticovid/internal/config"
)

// command is one subcommand. Each lives in its own file and registers itself.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	commands[name] = command{summary, run}
}

// errUsage marks an error already explained by the flag package.
var errUsage = errors.New("usage")

func main() {
	// Every request allocates a little; with the default GOGC the collector
	// took a tenth of the CPU of a check-in storm (bench ingest: +8% check-ins
	// a second at 400). The soft limit keeps the heap well inside the server's
	// 1 GB budget. GOGC and GOMEMLIMIT still override both.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "anticovid:", err)
		}
		if st := (exitStatus{}); errors.As(err, &st) {
			os.Exit(st.code)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	name := "serve"
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-') {
		name, args = args[0], args[1:]
	}
	// Two-word commands: "user add", "token create", "bench ingest", ...
	if len(args) > 0 {
		if _, ok := commands[name+" "+args[0]]; ok {
			name, args = name+" "+args[0], args[1:]
		}
	}
	if name == "help" || name == "-h" {
		usage(stdout)
		return nil
	}
	c, ok := commands[name]
	if !ok {
		usage(os.Stderr)
		return fmt.Errorf("unknown command %q", name)
	}
	return c.run(ctx, args, stdout)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: anticovid [command] [flags]   (default command: serve)")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, commands[n].summary)
	}
}

// configFlags registers the shared settings on a new flag set.
func configFlags(name string) (*flag.FlagSet, *config.Config) {
	fs := flag.NewFlagSet("anticovid "+name, flag.ContinueOnError)
	cfg := &config.Config{}
	cfg.Register(fs)
	return fs, cfg
}

// parseAndOpen parses a command's flags and opens the deployment, logging
// nowhere: commands report on standard output.
func parseAndOpen(ctx context.Context, fs *flag.FlagSet, cfg *config.Config, args []string) (*app, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return open(ctx, cfg, io.Discard)
}

// parseFlags parses args on fs, turning flag errors into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
