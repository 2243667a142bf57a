package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, for the tests that stop,
// kill, restart or promote a server (the shared ANTICOVID_TEST_PG server
// must not be touched). It runs as the postgres user when the test runs as
// root (PostgreSQL refuses to run as root), on a free loopback port, with
// its socket and data in a temporary directory removed at the end.
type Cluster struct {
	Port int
	dir  string // holds data/, log and the socket
	bin  string
}

// pgBin is the newest installed PostgreSQL's bin directory, or "".
func pgBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a < b
	})
	if len(dirs) == 0 {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
		return ""
	}
	return dirs[len(dirs)-1]
}

// NewCluster makes (initdb) and starts a cluster of the test's own; it is
// stopped and removed when the test ends. Without PostgreSQL's server
// binaries it skips (fails under CI).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := newCluster(t)
	c.run(t, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8")
	c.Start(t)
	return c
}

func newCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		Skip(t, "PostgreSQL server binaries (initdb, pg_ctl) are not installed")
	}
	dir, err := os.MkdirTemp("", "anticovid-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir, bin: bin, Port: freePort(t)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Skip(t, "running as root without a postgres user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	return c
}

// Standby makes a streaming standby of c with pg_basebackup -R (it follows
// c's WAL from then on) and starts it on a port of its own.
func (c *Cluster) Standby(t testing.TB) *Cluster {
	t.Helper()
	s := newCluster(t)
	s.bin = c.bin
	c.run(t, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "-D", s.data(), "-R", "-X", "stream", "-c", "fast")
	s.Start(t)
	return s
}

// URL is a connection URL to database db ("postgres" when empty).
func (c *Cluster) URL(db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Start starts the server and waits until it accepts connections. fsync is
// off: the tests stop and kill the server, not the machine.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100 -c wal_keep_size=256MB", c.Port, c.dir)
	if out, err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server: mode "fast" ends sessions and shuts down cleanly,
// "immediate" kills it as a crash would.
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if out, err := c.pgctl("stop", "-w", "-m", mode); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Promote turns a standby into a primary and waits until it takes writes.
func (c *Cluster) Promote(t testing.TB) {
	t.Helper()
	if out, err := c.pgctl("promote", "-w", "-t", "60"); err != nil {
		t.Fatalf("pg_ctl promote: %v\n%s", err, out)
	}
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) pgctl(args ...string) (string, error) {
	return c.command("pg_ctl", append([]string{"-D", c.data()}, args...)...)
}

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// command runs one of PostgreSQL's programs, as the postgres user when root.
func (c *Cluster) command(name string, args ...string) (string, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		q := make([]string, 0, len(args)+1)
		for _, a := range append([]string{path}, args...) {
			q = append(q, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		cmd = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", "cd / && exec "+strings.Join(q, " "))
	} else {
		cmd = exec.Command(path, args...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freePort is a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
