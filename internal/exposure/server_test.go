package exposure

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

var serverNow = time.Date(2021, 8, 10, 15, 37, 0, 0, time.UTC)

func newServer(t *testing.T, db *sqldb.DB) (*Service, context.Context, int64) {
	t.Helper()
	v, _ := vault.New(bytes.Repeat([]byte{9}, 32))
	codes := NewCodes(otp.New(db, v, nil), people.NewService(db, v))
	codes.Now = func() time.Time { return serverNow }
	s := NewService(db, v, codes)
	s.Now = codes.Now
	person, err := people.NewService(db, v).FindOrCreate(context.Background(),
		people.Person{Name: "Trần Thị Ca", Phone: "0911222333", BirthYear: 1985, Commune: "27991"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 3, Username: "tracer", Role: auth.HealthTracer, Unit: "803"})
	return s, ctx, person
}

func dailyKeys(n int, now time.Time) []Key {
	today := int32(ENIntervalNumber(now)) / 144 * 144
	keys := make([]Key, n)
	for i := range keys {
		d := make([]byte, 16)
		rand.Read(d)
		keys[i] = Key{Data: d, TransmissionRisk: 4, RollingStart: today - int32(144*(i+1)), RollingPeriod: 144}
	}
	return keys
}

// TestENUploadRules walks the code → certificate → upload path and every bad
// input of the issue: each is refused with a message and stores nothing.
func TestENUploadRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx, person := newServer(t, db)
		code, exp, err := s.Codes.Issue(ctx, auth.From(ctx), PurposeEN, person, serverNow.Add(-48*time.Hour))
		if err != nil || len(code) != otp.HandedDigits || !exp.Equal(serverNow.Add(time.Hour)) {
			t.Fatalf("issue: %q %v %v", code, exp, err)
		}
		// Outside the tracer's district: refused.
		other := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 4, Role: auth.HealthTracer, Unit: "794"})
		if _, _, err := s.Codes.Issue(other, auth.From(other), PurposeEN, person, time.Time{}); err == nil {
			t.Error("a tracer of another district issued a code")
		}
		cert, _, err := s.Verify(context.Background(), code, "ip")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Verify(context.Background(), code, "ip"); !strings.Contains(fmt.Sprint(err), "already used") {
			t.Errorf("used code: %v", err)
		}
		stored := func() int {
			var n int
			db.R.QueryRow("SELECT count(*) FROM en_keys").Scan(&n)
			return n
		}
		good := dailyKeys(14, serverNow)
		dup := dailyKeys(3, serverNow)
		dup[2].Data = dup[0].Data
		period := dailyKeys(2, serverNow)
		period[1].RollingPeriod = 145
		future := dailyKeys(2, serverNow)
		future[0].RollingStart = int32(ENIntervalNumber(serverNow.Add(48 * time.Hour)))
		for name, c := range map[string]struct {
			keys  []Key
			field string
		}{
			"15 days":        {dailyKeys(15, serverNow), "keys[14].rolling_start_interval_number"},
			"duplicate":      {dup, "keys[2].key_data"},
			"rolling period": {period, "keys[1].rolling_period"},
			"future":         {future, "keys[0].rolling_start_interval_number"},
			"short key":      {[]Key{{Data: []byte{1, 2}, RollingStart: good[0].RollingStart, RollingPeriod: 144}}, "keys[0].key_data"},
			"too many":       {dailyKeys(MaxUploadKeys+1, serverNow), "keys"},
		} {
			_, err := s.Publish(context.Background(), cert, "ip", c.keys)
			if msg, ok := fieldsOf(err)[c.field]; !ok || msg == "" {
				t.Errorf("%s: %v, want a message for %s", name, err, c.field)
			}
		}
		if n := stored(); n != 0 {
			t.Fatalf("refused uploads stored %d keys", n)
		}
		// Today's key is still in use: held back until it ends.
		current := Key{Data: bytes.Repeat([]byte{5}, 16), TransmissionRisk: 2,
			RollingStart: int32(ENIntervalNumber(serverNow)) / 144 * 144, RollingPeriod: 144}
		res, err := s.Publish(context.Background(), cert, "ip", append(good, current))
		if err != nil || res.Accepted != 14 || res.HeldBack != 1 {
			t.Fatalf("good upload: %+v %v", res, err)
		}
		if _, err := s.Publish(context.Background(), cert, "ip", dailyKeys(1, serverNow)); !strings.Contains(fmt.Sprint(err), "already used") {
			t.Errorf("reused certificate: %v", err)
		}
		// The same keys again, under a new code: duplicates across uploads.
		code2, _, _ := s.Codes.Issue(ctx, auth.From(ctx), PurposeEN, person, time.Time{})
		cert2, _, _ := s.Verify(context.Background(), code2, "ip")
		if _, err := s.Publish(context.Background(), cert2, "ip", good[:2]); !strings.Contains(fmt.Sprint(err), "already uploaded") {
			t.Errorf("cross-upload duplicate: %v", err)
		}
		// The same keys two days later: on PostgreSQL en_keys is partitioned
		// by day, and only en_keys_keys spans the days.
		code4, _, _ := s.Codes.Issue(ctx, auth.From(ctx), PurposeEN, person, time.Time{})
		cert4, _, _ := s.Verify(context.Background(), code4, "ip")
		s.Now = func() time.Time { return serverNow.Add(49 * time.Hour) }
		if _, err := s.Publish(context.Background(), cert4, "ip", good[2:4]); !strings.Contains(fmt.Sprint(err), "already uploaded") {
			t.Errorf("duplicate two days later: %v", err)
		}
		s.Now = s.Codes.Now
		if n := stored(); n != 15 {
			t.Errorf("stored %d keys, want 15", n)
		}
		// An expired code.
		code3, _, _ := s.Codes.Issue(ctx, auth.From(ctx), PurposeEN, person, time.Time{})
		s.Codes.Now = func() time.Time { return serverNow.Add(61 * time.Minute) }
		if _, _, err := s.Verify(context.Background(), code3, "ip"); !strings.Contains(fmt.Sprint(err), "expired") {
			t.Errorf("expired code: %v", err)
		}
		s.Codes.Now = func() time.Time { return serverNow }

		// Export: the window after the upload holds the 14 ended keys.
		s.Now = func() time.Time { return serverNow.Add(2 * time.Hour) }
		s.MaxPerFile = 5
		files, err := s.ExportDue(context.Background())
		if err != nil || len(files) != 3 {
			t.Fatalf("export: %v %v", files, err)
		}
		keys, _ := s.SigningKeys(context.Background())
		if len(keys) != 1 || !keys[0].Active || keys[0].KeyID != DefaultKeyID || keys[0].Version != "v1" {
			t.Fatalf("signing keys %+v", keys)
		}
		block, _ := pem.Decode([]byte(keys[0].PublicPEM))
		pubAny, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pub := pubAny.(*ecdsa.PublicKey)
		total := 0
		for _, f := range files {
			data, _, err := s.File(context.Background(), f.Name)
			if err != nil {
				t.Fatal(err)
			}
			verifyStdlib(t, data, pub)
			ex, err := ReadExport(data, pub)
			if err != nil {
				t.Fatal(err)
			}
			total += len(ex.Keys)
			if ex.BatchSize != 3 || ex.Region != DefaultRegion {
				t.Errorf("file %s: batch %d/%d region %s", f.Name, ex.BatchNum, ex.BatchSize, ex.Region)
			}
		}
		if total != 14 {
			t.Errorf("exported %d keys, want 14", total)
		}
		index, _, _ := s.Index(context.Background())
		if got := strings.Count(string(index), ".zip\n"); got != 3 {
			t.Errorf("index lists %d files:\n%s", got, index)
		}
		// Nothing new: no new files; a rotation signs later files with v2.
		if again, err := s.ExportDue(context.Background()); err != nil || len(again) != 0 {
			t.Errorf("second run: %v %v", again, err)
		}
		if sk, err := s.RotateSigningKey(context.Background()); err != nil || sk.Version != "v2" {
			t.Errorf("rotate: %+v %v", sk, err)
		}
		// The held-back key is exported once its day has ended.
		s.Now = func() time.Time { return serverNow.Add(24 * time.Hour) }
		later, err := s.ExportDue(context.Background())
		if err != nil || len(later) != 1 || later[0].Keys != 1 {
			t.Fatalf("held-back export: %+v %v", later, err)
		}
	})
}

// verifyStdlib checks a file's signature with nothing but crypto/ecdsa and
// the public key: the two zip entries, the protobuf of export.sig walked by
// hand to its signature bytes.
func verifyStdlib(t *testing.T, data []byte, pub *ecdsa.PublicKey) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		entries[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	bin, sigFile := entries["export.bin"], entries["export.sig"]
	if !bytes.HasPrefix(bin, []byte("EK Export v1    ")) {
		t.Fatalf("export.bin header %q", bin[:16])
	}
	// TEKSignatureList{1: TEKSignature{..., 4: signature}}
	field := func(b []byte, want uint64) []byte {
		for len(b) > 0 {
			tag, n := binary.Uvarint(b)
			b = b[n:]
			switch tag & 7 {
			case 0:
				_, n := binary.Uvarint(b)
				b = b[n:]
			case 2:
				l, n := binary.Uvarint(b)
				v := b[n : n+int(l)]
				b = b[n+int(l):]
				if tag>>3 == want {
					return v
				}
			default:
				t.Fatalf("wire type %d", tag&7)
			}
		}
		return nil
	}
	sig := field(field(sigFile, 1), 4)
	digest := sha256.Sum256(bin)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("signature does not verify with crypto/ecdsa")
	}
}

func fieldsOf(err error) map[string]string { return errs.FieldsOf(err) }

// Two servers exporting the same windows at the same moment publish one set
// of files, which both serve; files a server kept on disk before files moved
// into the database are imported and served again.
func TestExportOnceAcrossServers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s1, _, _ := newServer(t, db)
		s2 := NewService(db, s1.Vault, s1.Codes)
		s2.Now = s1.Now
		ctx := context.Background()
		avail := serverNow.Add(-90 * time.Minute).Unix()
		for i, k := range dailyKeys(12, serverNow) {
			if _, err := db.W.Exec(`INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region,
				certificate_id, created_at, available_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)`,
				k.Data, k.RollingStart, k.RollingPeriod, k.TransmissionRisk, DefaultRegion, avail, avail+int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s1.Signer(ctx); err != nil { // one signing key, as a running deployment has
			t.Fatal(err)
		}
		s1.MaxPerFile, s2.MaxPerFile = 5, 5
		var wg sync.WaitGroup
		for _, s := range []*Service{s1, s2} {
			wg.Go(func() { s.ExportDue(ctx) })
		}
		wg.Wait()
		var files, keys int
		db.R.QueryRow("SELECT count(*), coalesce(sum(keys), 0) FROM en_exports").Scan(&files, &keys)
		if files != 3 || keys != 12 {
			t.Fatalf("%d files with %d keys published, want one set: 3 files, 12 keys", files, keys)
		}
		i1, _, _ := s1.Index(ctx)
		i2, _, _ := s2.Index(ctx)
		if i1 != i2 || strings.Count(i1, ".zip\n") != 3 {
			t.Fatalf("indexes differ or are incomplete:\n%s\n%s", i1, i2)
		}
		for name := range strings.SplitSeq(strings.TrimSpace(i1), "\n") {
			a, _, err1 := s1.File(ctx, name)
			b, _, err2 := s2.File(ctx, name)
			if err1 != nil || err2 != nil || len(a) == 0 || !bytes.Equal(a, b) {
				t.Fatalf("%s served differently: %v %v", name, err1, err2)
			}
		}
		if _, _, err := s1.File(ctx, "VN/../../data.key"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("a name not in the index: %v", err)
		}

		// A file published before files moved into the database.
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "VN"), 0o755)
		os.WriteFile(filepath.Join(dir, "VN", "1-2-00001.zip"), []byte("old zip"), 0o644)
		if _, err := db.W.Exec(`INSERT INTO en_exports (region, start_at, end_at, batch_num, batch_size, filename, keys, signing_key_id,
			signing_version, created_at) VALUES ('VN', 1, 2, 1, 1, 'VN/1-2-00001.zip', 1, '452', 'v1', $1)`, serverNow.Unix()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s2.File(ctx, "VN/1-2-00001.zip"); err == nil {
			t.Fatal("a file not imported yet was served")
		}
		if n, err := s1.ImportFiles(ctx, dir); err != nil || n != 1 {
			t.Fatalf("import: %d %v", n, err)
		}
		if data, _, err := s2.File(ctx, "VN/1-2-00001.zip"); err != nil || string(data) != "old zip" {
			t.Fatalf("imported file on the other server: %q %v", data, err)
		}
		if n, _ := s1.ImportFiles(ctx, dir); n != 0 {
			t.Errorf("imported again: %d", n)
		}
	})
}
