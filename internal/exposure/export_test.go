package exposure

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"anticovid/internal/errs"
)

var benchBatch = flag.Int("export-batch", 10000, "keys per export file in the 100,000-key benchmark")

func testSigner(t testing.TB) SigningKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return SigningKey{ID: "452", Version: "v1", Priv: priv}
}

// randomKeys makes n distinct keys with varied fields.
func randomKeys(t testing.TB, n int) []Key {
	t.Helper()
	data := make([]byte, n*TEKLen)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{
			Data:             data[i*TEKLen : (i+1)*TEKLen : (i+1)*TEKLen],
			TransmissionRisk: int32(i % 9),
			RollingStart:     int32(2700000 + 144*(i%14)),
			RollingPeriod:    int32(1 + i%144),
		}
	}
	return keys
}

func keyString(k Key) string {
	return fmt.Sprintf("%x/%d/%d/%d", k.Data, k.TransmissionRisk, k.RollingStart, k.RollingPeriod)
}

func sortedKeyStrings(keys []Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = keyString(k)
	}
	slices.Sort(out)
	return out
}

func writeExport(t testing.TB, keys []Key, s SigningKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	if err := WriteExport(&buf, start, start.Add(time.Hour), "VN-HN", 1, 1, keys, s, "vn.gov.bluezone"); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unzip returns the entries of a zip by name, in order.
func unzip(t testing.TB, b []byte) (names []string, data map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	data = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
		data[f.Name] = d
	}
	return names, data
}

// rezip builds a zip from (name, data) pairs, to forge or damage files.
func rezip(t testing.TB, entries ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		w, err := zw.Create(entries[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(entries[i+1].([]byte))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExportRoundTrip(t *testing.T) {
	s := testSigner(t)
	keys := randomKeys(t, 500)
	before := sortedKeyStrings(keys)
	orig := slices.Clone(keys)
	z := writeExport(t, keys, s)

	if !slices.EqualFunc(keys, orig, func(a, b Key) bool { return keyString(a) == keyString(b) }) {
		t.Error("WriteExport reordered the caller's slice")
	}

	pub := s.Priv.Public().(*ecdsa.PublicKey) // only the public half from here on
	ex, err := ReadExport(z, pub)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	if !ex.Start.Equal(start) || !ex.End.Equal(start.Add(time.Hour)) || ex.Region != "VN-HN" || ex.BatchNum != 1 || ex.BatchSize != 1 {
		t.Errorf("header = %v %v %q %d/%d", ex.Start, ex.End, ex.Region, ex.BatchNum, ex.BatchSize)
	}
	wantInfo := SignatureInfo{AppBundleID: "vn.gov.bluezone", VerificationKeyVersion: "v1", VerificationKeyID: "452",
		SignatureAlgorithm: "1.2.840.10045.4.3.2"}
	if len(ex.SignatureInfos) != 1 || ex.SignatureInfos[0] != wantInfo {
		t.Errorf("signature infos = %+v, want [%+v]", ex.SignatureInfos, wantInfo)
	}
	if got := sortedKeyStrings(ex.Keys); !slices.Equal(got, before) {
		t.Errorf("read back %d keys that differ from the %d written", len(got), len(before))
	}
	// Shuffled: 500 keys coming back in upload order has probability 1/500!.
	same := true
	for i := range keys {
		if !bytes.Equal(keys[i].Data, ex.Keys[i].Data) {
			same = false
			break
		}
	}
	if same {
		t.Error("keys were written in upload order, not shuffled")
	}

	names, _ := unzip(t, z)
	if !slices.Equal(names, []string{"export.bin", "export.sig"}) {
		t.Errorf("zip entries = %v", names)
	}
}

func TestExportEmpty(t *testing.T) {
	s := testSigner(t)
	ex, err := ReadExport(writeExport(t, nil, s), &s.Priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Keys) != 0 || ex.Region != "VN-HN" {
		t.Errorf("empty export read back as %+v", ex)
	}
}

// TestExportBytes checks export.bin and export.sig byte for byte against the
// wire format written out by hand from the spec's field numbers, and the
// signature with the standard library alone.
func TestExportBytes(t *testing.T) {
	s := testSigner(t)
	tek := bytes.Repeat([]byte{0xab}, 16)
	key := Key{Data: tek, TransmissionRisk: 4, RollingStart: 2700000, RollingPeriod: 144}
	z := writeExport(t, []Key{key}, s)
	_, entries := unzip(t, z)
	bin, sig := entries["export.bin"], entries["export.sig"]

	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	info := []byte{}
	info = append(info, 0x0a, 15)
	info = append(info, "vn.gov.bluezone"...)
	info = append(info, 0x1a, 2, 'v', '1') // 3 verification_key_version
	info = append(info, 0x22, 3, '4', '5', '2')
	info = append(info, 0x2a, 19)
	info = append(info, "1.2.840.10045.4.3.2"...)
	// 2700000 = 0x2932e0 → varint e0 e5 a4 01
	keyMsg := append([]byte{0x0a, 16}, tek...)
	keyMsg = append(keyMsg, 0x10, 4, 0x18, 0xe0, 0xe5, 0xa4, 0x01, 0x20, 0x90, 0x01)

	want := []byte("EK Export v1    ")
	want = append(want, 0x09)
	want = append(want, le64(1628985600)...) // 2021-08-15T00:00:00Z
	want = append(want, 0x11)
	want = append(want, le64(1628989200)...)
	want = append(want, 0x1a, 5, 'V', 'N', '-', 'H', 'N')
	want = append(want, 0x20, 1, 0x28, 1)
	want = append(want, 0x32, byte(len(info)))
	want = append(want, info...)
	want = append(want, 0x3a, byte(len(keyMsg)))
	want = append(want, keyMsg...)
	if !bytes.Equal(bin, want) {
		t.Fatalf("export.bin\n got %x\nwant %x", bin, want)
	}

	// export.sig: 0a L { 0a L info, 10 01, 18 01, 22 L signature }.
	prefix := []byte{0x0a}
	inner := append([]byte{0x0a, byte(len(info))}, info...)
	inner = append(inner, 0x10, 1, 0x18, 1, 0x22)
	if len(sig) < 2 || sig[0] != 0x0a || int(sig[1]) != len(sig)-2 {
		t.Fatalf("export.sig is not one length-delimited field 1: %x", sig)
	}
	body := sig[2:]
	if !bytes.HasPrefix(body, inner) {
		t.Fatalf("export.sig\n got %x\nwant prefix %x%x", sig, prefix, inner)
	}
	rest := body[len(inner):]
	if int(rest[0]) != len(rest)-1 {
		t.Fatalf("signature length byte %d, have %d bytes", rest[0], len(rest)-1)
	}
	digest := sha256.Sum256(bin)
	if !ecdsa.VerifyASN1(&s.Priv.PublicKey, digest[:], rest[1:]) {
		t.Error("export.sig signature does not verify over the whole of export.bin")
	}
}

func TestReadExportRejects(t *testing.T) {
	s := testSigner(t)
	z := writeExport(t, randomKeys(t, 20), s)
	_, entries := unzip(t, z)
	bin, sig := entries["export.bin"], entries["export.sig"]
	pub := &s.Priv.PublicKey

	flipped := func(i int) []byte {
		b := slices.Clone(bin)
		b[i] ^= 0x01
		return b
	}
	other := testSigner(t)

	// A validly signed file whose signature claims another batch.
	info := SignatureInfo{VerificationKeyID: "452", VerificationKeyVersion: "v1", SignatureAlgorithm: SignatureAlgorithm}
	fbin := marshalExport(time.Unix(0, 0), time.Unix(60, 0), "VN", 1, 2, info, nil)
	d := sha256.Sum256(fbin)
	fsig, err := ecdsa.SignASN1(rand.Reader, s.Priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	otherBatch := rezip(t, "export.bin", fbin, "export.sig", marshalSignatureList(info, 2, 2, fsig))
	// The right signature labelled with another algorithm.
	info.SignatureAlgorithm = "1.2.840.10045.4.3.3"
	wrongAlg := rezip(t, "export.bin", fbin, "export.sig", marshalSignatureList(info, 1, 2, fsig))

	tests := []struct {
		name string
		zip  []byte
		pub  *ecdsa.PublicKey
		want string
	}{
		{"flipped header byte", rezip(t, "export.bin", flipped(3), "export.sig", sig), pub, "header"},
		{"flipped start timestamp byte", rezip(t, "export.bin", flipped(17), "export.sig", sig), pub, "verifies"},
		{"flipped last key byte", rezip(t, "export.bin", flipped(len(bin)-1), "export.sig", sig), pub, "verifies"},
		{"flipped middle byte", rezip(t, "export.bin", flipped(len(bin)/2), "export.sig", sig), pub, "verifies"},
		{"flipped signature byte", rezip(t, "export.bin", bin, "export.sig", func() []byte {
			b := slices.Clone(sig)
			b[len(b)-5] ^= 0x80
			return b
		}()), pub, ""},
		{"wrong public key", z, &other.Priv.PublicKey, "verifies"},
		{"no export.sig", rezip(t, "export.bin", bin), pub, "export.sig"},
		{"no export.bin", rezip(t, "export.sig", sig), pub, "export.bin"},
		{"export.bin twice", rezip(t, "export.bin", bin, "export.bin", bin, "export.sig", sig), pub, "twice"},
		{"empty signature list", rezip(t, "export.bin", bin, "export.sig", []byte{}), pub, "no signatures"},
		{"garbage signature list", rezip(t, "export.bin", bin, "export.sig", []byte{0x0a, 0xff}), pub, "length"},
		{"not a zip", []byte("PK\x03\x04 not really"), pub, "zip"},
		{"truncated zip", z[:len(z)/2], pub, "zip"},
		{"signature for another batch", otherBatch, pub, "batch"},
		{"signature with another algorithm", wrongAlg, pub, "verifies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadExport(tt.zip, tt.pub)
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := ReadExport(z, pub); err != nil {
		t.Fatalf("the undamaged file fails: %v", err)
	}
}

// TestReadExportForwardCompatible: fields a newer server adds (report_type,
// days_since_onset_of_symptoms on keys; anything on the export) are skipped.
func TestReadExportForwardCompatible(t *testing.T) {
	s := testSigner(t)
	var kw pbWriter
	kw.bytes(fKeyData, bytes.Repeat([]byte{7}, 16))
	kw.int32(fKeyRollingStart, 2700000)
	kw.int32(5, 1)                                                             // report_type
	kw.int32(6, -3)                                                            // days_since_onset_of_symptoms, sint32 in real life
	kw.b = binary.LittleEndian.AppendUint32(append(kw.b, 7<<3|wireFixed32), 9) // unknown fixed32
	w := pbWriter{b: []byte(ExportHeader)}
	w.fixed64(fExportStart, 100)
	w.fixed64(fExportEnd, 200)
	w.bytes(fExportKeys, kw.b)
	w.int32(fExportBatchNum, 1)
	w.int32(fExportBatchSize, 1)
	w.fixed64(99, 1)
	d := sha256.Sum256(w.b)
	sg, err := ecdsa.SignASN1(rand.Reader, s.Priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	info := SignatureInfo{SignatureAlgorithm: SignatureAlgorithm}
	ex, err := ReadExport(rezip(t, "export.bin", w.b, "export.sig", marshalSignatureList(info, 1, 1, sg)), &s.Priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Keys) != 1 || ex.Keys[0].RollingPeriod != 144 || ex.Keys[0].RollingStart != 2700000 {
		t.Errorf("keys = %+v, want one key with the default rolling period 144", ex.Keys)
	}
}

func TestPbInt32Negative(t *testing.T) {
	var w pbWriter
	w.int32(2, -1)
	if len(w.b) != 11 { // tag + 10-byte sign-extended varint, as protobuf does
		t.Errorf("int32(-1) encoded in %d bytes: %x", len(w.b), w.b)
	}
	r := pbReader(w)
	f, err := r.next()
	if err != nil || int32(f.v) != -1 || f.num != 2 {
		t.Errorf("decoded %+v, %v", f, err)
	}
}

func TestWriteExportRejects(t *testing.T) {
	s := testSigner(t)
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := randomKeys(t, 1)
	tests := []struct {
		name       string
		start, end time.Time
		num, size  int
		keys       []Key
		signer     SigningKey
	}{
		{"batch 0", start, start, 0, 1, good, s},
		{"batch beyond size", start, start, 3, 2, good, s},
		{"end before start", start, start.Add(-time.Second), 1, 1, good, s},
		{"no private key", start, start, 1, 1, good, SigningKey{ID: "x"}},
		{"P-384 key", start, start, 1, 1, good, SigningKey{Priv: p384}},
		{"short key", start, start, 1, 1, []Key{{Data: []byte{1}, RollingPeriod: 144}}, s},
		{"rolling period 0", start, start, 1, 1, []Key{{Data: make([]byte, 16)}}, s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteExport(io.Discard, tt.start, tt.end, "VN", tt.num, tt.size, tt.keys, tt.signer, "")
			if !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	keys := randomKeys(t, 25)
	tests := []struct {
		max   int
		sizes []int
	}{
		{10, []int{10, 10, 5}},
		{25, []int{25}},
		{100, []int{25}},
		{5, []int{5, 5, 5, 5, 5}},
	}
	for _, tt := range tests {
		var sizes []int
		for _, b := range Batches(keys, tt.max) {
			sizes = append(sizes, len(b))
		}
		if !slices.Equal(sizes, tt.sizes) {
			t.Errorf("Batches(25, %d) sizes = %v, want %v", tt.max, sizes, tt.sizes)
		}
	}
	if b := Batches(nil, 10); len(b) != 1 || len(b[0]) != 0 {
		t.Errorf("Batches(nil) = %v, want one empty file", b)
	}
	// Appending to one batch must not overwrite the next.
	b := Batches(keys, 10)
	_ = append(b[0], Key{})
	if !bytes.Equal(b[1][0].Data, keys[10].Data) {
		t.Error("appending to batch 0 clobbered batch 1")
	}
}

func TestValidateUpload(t *testing.T) {
	now := time.Date(2021, 8, 15, 10, 3, 0, 0, time.UTC)
	cur := int32(ENIntervalNumber(now))
	today := cur - cur%144 // UTC midnight, where phones start their daily keys
	k := func(b byte, start, period int32) Key {
		return Key{Data: bytes.Repeat([]byte{b}, 16), TransmissionRisk: 1, RollingStart: start, RollingPeriod: period}
	}

	t.Run("valid history", func(t *testing.T) {
		var keys []Key
		for d := int32(14); d >= 1; d-- {
			keys = append(keys, k(byte(d), today-144*d, 144))
		}
		keys = append(keys,
			k(100, cur-1, 1),   // ended at the start of the current interval
			k(101, today, 144), // today's key: still in use
			k(102, cur, 1),     // started this interval
		)
		acc, held, err := ValidateUpload(keys, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(acc) != 15 || len(held) != 2 {
			t.Fatalf("accepted %d, held back %d; want 15, 2", len(acc), len(held))
		}
		if held[0].Data[0] != 101 || held[1].Data[0] != 102 {
			t.Errorf("held back %v", held)
		}
	})

	tests := []struct {
		name  string
		keys  []Key
		field string
		msg   string
	}{
		{"no keys", nil, "keys", "at least one key"},
		{"too many keys", func() []Key {
			ks := make([]Key, MaxUploadKeys+1)
			for i := range ks {
				ks[i] = k(byte(i), today-144, 144)
			}
			return ks
		}(), "keys", "at most 30 keys"},
		{"short key", []Key{{Data: make([]byte, 15), RollingStart: today - 144, RollingPeriod: 144}},
			"keys[0].key_data", "exactly 16 bytes, got 15"},
		{"long key", []Key{k(1, today-144, 144), {Data: make([]byte, 17), RollingStart: today - 144, RollingPeriod: 144}},
			"keys[1].key_data", "exactly 16 bytes, got 17"},
		{"duplicate TEK", []Key{k(1, today-288, 144), k(2, today-144, 144), k(1, today, 144)},
			"keys[2].key_data", "duplicate of keys[0]"},
		{"rolling period 0", []Key{k(1, today-144, 0)}, "keys[0].rolling_period", "must be in 1..144, got 0"},
		{"rolling period 145", []Key{k(1, today-288, 145)}, "keys[0].rolling_period", "must be in 1..144, got 145"},
		{"negative risk", []Key{{Data: make([]byte, 16), TransmissionRisk: -1, RollingStart: today - 144, RollingPeriod: 144}},
			"keys[0].transmission_risk_level", "must be in 0..8, got -1"},
		{"future key", []Key{k(1, cur+1, 144)}, "keys[0].rolling_start_interval_number", "starts in the future"},
		{"tomorrow's key", []Key{k(1, today+144, 144)}, "keys[0].rolling_start_interval_number", "starts in the future"},
		{"expired 15 days ago", []Key{k(1, today-15*144, 144)}, "keys[0].rolling_start_interval_number", "more than 14 days ago"},
		{"ended exactly 14 days ago", []Key{k(1, cur-14*144-1, 1)}, "keys[0].rolling_start_interval_number", "more than 14 days ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, held, err := ValidateUpload(tt.keys, now)
			var inv *errs.Invalid
			if !errors.As(err, &inv) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("err = %v, want *errs.Invalid", err)
			}
			if acc != nil || held != nil {
				t.Errorf("a rejected upload returned keys: %v %v", acc, held)
			}
			msg, ok := inv.Fields[tt.field]
			if !ok {
				t.Fatalf("no message for %s in %v", tt.field, inv.Fields)
			}
			if !strings.Contains(msg, tt.msg) || !strings.Contains(msg, " / ") {
				t.Errorf("%s: %q, want Vietnamese / English mentioning %q", tt.field, msg, tt.msg)
			}
			if len(inv.Fields) != 1 {
				t.Errorf("extra problems reported: %v", inv.Fields)
			}
		})
	}

	t.Run("still within 14 days", func(t *testing.T) {
		// Ended one interval after the 14-day mark: accepted.
		if _, _, err := ValidateUpload([]Key{k(1, cur-14*144, 1)}, now); err != nil {
			t.Error(err)
		}
	})
}

// TestExport100k writes 100,000 keys as a full batch of files and reads them
// all back, checking that every key is published exactly once.
func TestExport100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 keys: skipped with -short")
	}
	s := testSigner(t)
	keys := randomKeys(t, 100000)
	began := time.Now()
	files := writeBatches(t, keys, s, 10000)
	t.Logf("wrote 100,000 keys into %d signed files in %s", len(files), time.Since(began))
	seen := make(map[string]bool, len(keys))
	for i, f := range files {
		ex, err := ReadExport(f, &s.Priv.PublicKey)
		if err != nil {
			t.Fatalf("file %d: %v", i+1, err)
		}
		if ex.BatchNum != i+1 || ex.BatchSize != len(files) || len(ex.Keys) > 10000 {
			t.Fatalf("file %d: batch %d/%d with %d keys", i+1, ex.BatchNum, ex.BatchSize, len(ex.Keys))
		}
		for _, k := range ex.Keys {
			ks := string(k.Data)
			if seen[ks] {
				t.Fatalf("key %x published twice", k.Data)
			}
			seen[ks] = true
		}
	}
	if len(seen) != len(keys) {
		t.Errorf("%d distinct keys published, want %d", len(seen), len(keys))
	}
}

func writeBatches(t testing.TB, keys []Key, s SigningKey, perFile int) [][]byte {
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	batches := Batches(keys, perFile)
	files := make([][]byte, len(batches))
	for i, b := range batches {
		var buf bytes.Buffer
		buf.Grow(len(b)*32 + 1024)
		if err := WriteExport(&buf, start, start.Add(time.Hour), "VN-HN", i+1, len(batches), b, s, "vn.gov.bluezone"); err != nil {
			t.Fatal(err)
		}
		files[i] = buf.Bytes()
	}
	return files
}

// BenchmarkExport100k measures the time to write 100,000 keys into signed
// export files of at most -export-batch keys each (goal: under 2 s).
func BenchmarkExport100k(b *testing.B) {
	s := testSigner(b)
	keys := randomKeys(b, 100000)
	var total int
	for b.Loop() {
		files := writeBatches(b, keys, s, *benchBatch)
		total = 0
		for _, f := range files {
			total += len(f)
		}
	}
	b.ReportMetric(float64(total), "bytes/batch")
	b.ReportMetric(float64(len(keys))/(b.Elapsed().Seconds()/float64(b.N)), "keys/s")
}
