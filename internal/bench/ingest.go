package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/checkin"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/token"
	"anticovid/internal/venue"
)

// IngestOptions are the settings of bench ingest.
type IngestOptions struct {
	Duration   time.Duration // how long each load runs
	Clients    int           // concurrent connections
	Venues     int           // venues to scan
	People     int           // registered people scanning, stored before the run
	NewShare   float64       // share of scans from phones not registered yet
	CPUProfile string        // CPU profile of the measured run ("": none)
	Trace      string        // execution trace of the measured run ("": none)
	Servers    int           // servers on the one database (Deployment.Others holds the others)
}

// Deployment is the opened deployment bench ingest drives: its database and
// services, and the server the command wires over the check-in writer.
type Deployment struct {
	DB       *sqldb.DB
	People   *people.Service
	Venues   *venue.Service
	Keys     *token.Keyring
	Province string
	// StartCheckins starts the check-in writer; it is called after the venues
	// are created, as a server starting over a registered province does.
	StartCheckins func(context.Context) (*checkin.Service, error)
	// Handler is the deployment's web server over that writer.
	Handler func(*checkin.Service) http.Handler
	// Storeless makes the check-in service that stores nothing
	// (checkin.NewStoreless): Handler over it is the no-database server.
	Storeless func() *checkin.Service
	// Others are more servers on the same database (bench ingest
	// --servers), each with its own pool, check-in writer and web server.
	Others []Server
}

// Server is one more server of a deployment: its check-in writer and its
// web server over it.
type Server struct {
	StartCheckins func(context.Context) (*checkin.Service, error)
	Handler       func(*checkin.Service) http.Handler
}

// loadResult is one load run's figures.
type loadResult struct {
	PerSecond float64
	P50, P99  float64 // milliseconds
	OK, Fail  int64
	CPU       float64 // process CPU µs per successful request, load generator included
}

// drive posts bodies from next() to urls with clients concurrent
// connections for d, connection c to urls[c % len(urls)] (a balancer
// spreading phones over servers).
func drive(ctx context.Context, urls []string, clients int, d time.Duration, next func(rng *rand.Rand) []byte) loadResult {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var ok, fail atomic.Int64
	lat := make([][]float64, clients)
	deadline := time.Now().Add(d)
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				resp, err := client.Post(urls[c%len(urls)], "application/json", bytes.NewReader(next(rng)))
				if err != nil {
					fail.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					ok.Add(1)
					lat[c] = append(lat[c], float64(time.Since(start).Microseconds())/1000)
				} else {
					fail.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	cpu := cpuTime() - cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return all[int(p*float64(len(all)-1))]
	}
	return loadResult{PerSecond: float64(ok.Load()) / d.Seconds(), P50: q(0.50), P99: q(0.99), OK: ok.Load(), Fail: fail.Load(),
		CPU: float64(cpu.Microseconds()) / float64(max(ok.Load(), 1))}
}

// Ingest registers venues and people in d, then drives POST /api/v1/checkins
// over loopback, and the same load against the same server storing nothing
// (the no-database server: what storing costs) and against a handler that
// only decodes and answers (the bare baseline: what the whole server costs).
// It fails when a check-in failed.
func Ingest(ctx context.Context, d Deployment, o IngestOptions, stdout io.Writer) error {
	admin := &auth.Principal{Role: auth.ProvinceAdmin, Unit: d.Province}
	communes := bluezone.ProvinceCommunes(d.Province)
	tokens := make([]string, o.Venues)
	for i := range tokens {
		v, err := d.Venues.Create(ctx, admin, venue.Venue{Name: fmt.Sprintf("Điểm kiểm tra %d", i), Category: "market", CommuneCode: communes[i%len(communes)]})
		if err != nil {
			return err
		}
		tokens[i] = d.Keys.Sign(v.ID, v.QRGen)
	}
	servers := append([]Server{{StartCheckins: d.StartCheckins, Handler: d.Handler}}, d.Others...)
	var writers []*checkin.Service
	var urls, baseURLs, storelessURLs []string
	for _, sv := range servers {
		c, err := sv.StartCheckins(ctx)
		if err != nil {
			return err
		}
		writers = append(writers, c)
		u, stop, err := serve(sv.Handler(c))
		if err != nil {
			return err
		}
		defer stop()
		urls = append(urls, u+"/api/v1/checkins")
		// The no-database server: the same server checking every scan as
		// the real one does, storing nothing, on as many listeners.
		storeless := d.Storeless()
		defer storeless.Close()
		u, stop, err = serve(d.Handler(storeless))
		if err != nil {
			return err
		}
		defer stop()
		storelessURLs = append(storelessURLs, u+"/api/v1/checkins")
		// The bare baseline: the same JSON decoded and answered, nothing
		// checked, on as many listeners.
		u, stop, err = serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req checkin.Request
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(checkin.Result{Created: true, ID: req.ID, Direction: req.Direction, At: time.Now()})
		}))
		if err != nil {
			return err
		}
		defer stop()
		baseURLs = append(baseURLs, u+"/")
	}
	checkins := writers[0]
	ids, err := registerPeople(ctx, d, o.People, communes)
	if err != nil {
		return err
	}
	personTokens := make([]string, len(ids))
	for i, id := range ids {
		personTokens[i] = checkins.PersonToken(id)
	}
	batches := func() (b, s, c int64) {
		for _, w := range writers {
			wb, ws, wc := w.Batches()
			b, s, c = b+wb, s+ws, c+wc
		}
		return
	}

	var seq atomic.Uint64
	body := func(rng *rand.Rand) []byte {
		n := seq.Add(1)
		scan := map[string]any{"id": fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.Uint32(), n), "token": tokens[rng.IntN(len(tokens))], "direction": "in"}
		if rng.Float64() < o.NewShare { // a phone never seen before sends its person's details
			person := personFor(o.People+int(n), communes)
			scan["person"] = map[string]any{"name": person.Name, "phone": person.Phone, "birth_year": person.BirthYear, "commune_code": person.Commune}
		} else {
			scan["person_token"] = personTokens[rng.IntN(o.People)]
		}
		b, _ := json.Marshal(scan)
		return b
	}
	fmt.Fprintf(stdout, "database %s, %d server(s), %d venues, %d registered people, %.0f%% of scans from new phones, %d clients, %v per run\n",
		d.DB.Engine, len(servers), o.Venues, o.People, o.NewShare*100, o.Clients, o.Duration)
	drive(ctx, urls, o.Clients, time.Second, body) // warm caches and connections
	stopProfiles, err := startProfiles(o.CPUProfile, o.Trace)
	if err != nil {
		return err
	}
	b0, s0, c0 := batches()
	got := drive(ctx, urls, o.Clients, o.Duration, body)
	stopProfiles()
	b1, s1, c1 := batches()
	fmt.Fprintf(stdout, "check-ins:  %8.0f/s  p50 %.2f ms  p99 %.2f ms  CPU %.0f µs each  (%d ok, %d failed; %.1f a batch, %d commits)\n",
		got.PerSecond, got.P50, got.P99, got.CPU, got.OK, got.Fail, float64(s1-s0)/float64(max(b1-b0, 1)), c1-c0)
	nd := drive(ctx, storelessURLs, o.Clients, o.Duration, body)
	fmt.Fprintf(stdout, "no-database server: %8.0f/s  p50 %.2f ms  p99 %.2f ms  CPU %.0f µs each\n", nd.PerSecond, nd.P50, nd.P99, nd.CPU)
	bl := drive(ctx, baseURLs, o.Clients, o.Duration, body)
	fmt.Fprintf(stdout, "bare decoder: %8.0f/s  p50 %.2f ms  p99 %.2f ms  CPU %.0f µs each\n", bl.PerSecond, bl.P50, bl.P99, bl.CPU)
	stored, _ := checkin.Count(ctx, d.DB)
	fmt.Fprintf(stdout, "visits stored: %d (acknowledged in the measured run: %d)\n", stored, got.OK)
	out, _ := json.Marshal(map[string]float64{"checkins_per_s": round1(got.PerSecond), "p50_ms": round1(got.P50), "p99_ms": round1(got.P99),
		"baseline_per_s": round1(bl.PerSecond), "ratio": math.Round(got.PerSecond/bl.PerSecond*1000) / 1000,
		"server_no_db_per_s": round1(nd.PerSecond), "ratio_server_no_db": math.Round(got.PerSecond/nd.PerSecond*1000) / 1000,
		"cpu_us": math.Round(got.CPU), "server_no_db_cpu_us": math.Round(nd.CPU), "servers": float64(len(servers))})
	fmt.Fprintln(stdout, string(out))
	if got.Fail > 0 {
		return fmt.Errorf("%d check-ins failed", got.Fail)
	}
	return nil
}

// serve runs h on a loopback listener and returns its base URL.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// registerPeople stores n people as earlier check-ins would have, phones
// 09xxxxxxxx numbered from 0, before the measured run, and returns their ids.
func registerPeople(ctx context.Context, d Deployment, n int, communes []string) ([]int64, error) {
	w, err := people.NewWriter(ctx, d.DB)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for lo := 0; lo < n; lo += 5000 {
		err := d.DB.Tx(ctx, func(tx *sql.Tx) error {
			for p := lo; p < min(lo+5000, n); p++ {
				sp := d.People.Seal(personFor(p, communes))
				if ids[p], err = w.FindOrCreate(ctx, tx, sp); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// personFor is the bench's person number p.
func personFor(p int, communes []string) people.Person {
	return people.Person{Name: "Người thử nghiệm", Phone: fmt.Sprintf("09%08d", p), BirthYear: 1950 + p%60, Commune: communes[p%len(communes)]}
}
