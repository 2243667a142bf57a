package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// Two servers started at the same moment on one empty PostgreSQL database:
// the advisory lock lets one migrate while the other waits, so every
// migration is applied exactly once (the logs of both together name each
// version once) and both then serve, ready.
func TestTwoServersMigrateOnce(t *testing.T) {
	pg := storetest.PostgresURL(t)
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv("ANTICOVID_DATA_KEY", hex.EncodeToString(key))
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	type server struct {
		cmd     *exec.Cmd
		addr    string
		mu      sync.Mutex
		applied []int
		log     strings.Builder
	}
	servers := []*server{{addr: freePort(t)}, {addr: freePort(t)}}
	for _, s := range servers {
		s.cmd = exec.Command(bin, "serve", "--db", pg, "--data", t.TempDir(), "--addr", s.addr, "--log-level", "info")
		stderr, _ := s.cmd.StderrPipe()
		go func() {
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				s.mu.Lock()
				s.log.Write(sc.Bytes())
				s.log.WriteByte('\n')
				s.mu.Unlock()
				var line struct {
					Msg      string
					Versions []int
				}
				if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "schema migrated" {
					s.mu.Lock()
					s.applied = append(s.applied, line.Versions...)
					s.mu.Unlock()
				}
			}
		}()
	}
	var start sync.WaitGroup
	for _, s := range servers {
		start.Go(func() {
			if err := s.cmd.Start(); err != nil {
				t.Error(err)
			}
		})
	}
	start.Wait()
	t.Cleanup(func() {
		for _, s := range servers {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	for _, s := range servers {
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get("http://" + s.addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				s.mu.Lock()
				t.Fatalf("server on %s never became ready: %v\n%s", s.addr, err, s.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	db, err := store.Open(context.Background(), pg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, distinct int
	db.R.QueryRow("SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&rows, &distinct)
	seen := map[int]int{}
	var who []string
	for _, s := range servers {
		s.mu.Lock()
		for _, v := range s.applied {
			seen[v]++
		}
		if len(s.applied) > 0 {
			who = append(who, s.addr)
		}
		s.mu.Unlock()
	}
	if len(seen) != rows || rows != distinct || rows == 0 {
		t.Fatalf("%d migrations recorded (%d distinct), %d versions logged as applied", rows, distinct, len(seen))
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("migration %d applied %d times", v, n)
		}
	}
	t.Logf("%d migrations applied by %s", rows, strings.Join(who, " and "))
}
