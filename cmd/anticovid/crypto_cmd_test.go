package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/bluezone"
	"anticovid/internal/exposure"
)

// Vectors computed outside Go (Python hashlib / cryptography) from the specs;
// the same ones the packages' own tests use.
const (
	cmdBase         = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	cmdD0Slot0      = "130cea6472130c185d8643df"
	cmdD0Slot1      = "893dae342437130ce5e23837"
	cmdD0Slot143    = "3853d23d5202d320db78307a"
	cmdD1Slot0      = "970e23c0e19de93f8cc4057b"
	cmdD1Slot71     = "cee3f8c37ddda63c84dd94c6"
	cmdTEK          = "75c734c6dd1a782de7a965da5eb93125"
	cmdENOutput     = "rpik: 185ad91db69ec7dd048960f1f3ba6175\naemk: d57c46af7a1d83965b9bed8bd152936a\nrpi: 8be6cd371c5c891604bfbe49df845096\naem: 72033874\n"
	cmdENInterval   = "2642976"
	cmdENMetadata   = "40080000"
	cmdENRPILast    = "f431b62ecf443102ce4ed0407de54bd4"
	cmdENIntervalP3 = "2643119" // 2642976 + 143
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	err := run(context.Background(), args, &buf)
	return buf.String(), err
}

func TestBluezoneIDsCommand(t *testing.T) {
	out, err := runCmd(t, "bluezone", "ids", "--daily-key", cmdBase)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 144 {
		t.Fatalf("%d lines, want 144", len(lines))
	}
	if lines[0] != cmdD0Slot0 || lines[1] != cmdD0Slot1 || lines[143] != cmdD0Slot143 {
		t.Errorf("slots 0, 1, 143 = %s %s %s", lines[0], lines[1], lines[143])
	}
	base := [32]byte(mustHexCmd(t, cmdBase))
	for k, id := range bluezone.DayIDs(base) {
		if lines[k] != hex.EncodeToString(id[:]) {
			t.Fatalf("line %d = %s, DayIDs %x", k, lines[k], id)
		}
	}

	out, err = runCmd(t, "bluezone", "ids", "--next-day", "--daily-key", strings.ToUpper(cmdBase))
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 144 || lines[0] != cmdD1Slot0 || lines[71] != cmdD1Slot71 {
		t.Errorf("--next-day: %d lines, slot 0 %s, slot 71 %s", len(lines), lines[0], lines[71])
	}
	if lines[0] != strings.ToLower(lines[0]) {
		t.Error("IDs are not lowercase hex")
	}
}

func TestCryptoCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no daily key", []string{"bluezone", "ids"}, "--daily-key is required"},
		{"short daily key", []string{"bluezone", "ids", "--daily-key", cmdBase[:62]}, "must be 64 hex characters (32 bytes), got 62"},
		{"long daily key", []string{"bluezone", "ids", "--daily-key", cmdBase + "00"}, "got 66"},
		{"non-hex daily key", []string{"bluezone", "ids", "--daily-key", "zz" + cmdBase[2:]}, "not hex: invalid character 'z'"},
		{"stray argument", []string{"bluezone", "ids", "--daily-key", cmdBase, "extra"}, "unexpected argument"},
		{"short tek", []string{"en", "derive", "--tek", "abcd", "--interval", "1", "--metadata", cmdENMetadata}, "--tek must be 32 hex characters"},
		{"bad metadata", []string{"en", "derive", "--tek", cmdTEK, "--interval", "1", "--metadata", "4008000g"}, "--metadata is not hex"},
		{"no interval", []string{"en", "derive", "--tek", cmdTEK, "--metadata", cmdENMetadata}, "--interval is required"},
		{"interval too big", []string{"en", "derive", "--tek", cmdTEK, "--interval", "4294967296", "--metadata", cmdENMetadata}, "32 bits"},
		{"verify without file", []string{"en", "verify-export", "--public-key", "x.pem"}, "want one export file, got 0"},
		{"verify without key", []string{"en", "verify-export", "a.zip"}, "--public-key is required"},
		{"keygen without out", []string{"en", "keygen"}, "--out is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCmd(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestENDeriveCommand(t *testing.T) {
	out, err := runCmd(t, "en", "derive", "--tek", cmdTEK, "--interval", cmdENInterval, "--metadata", cmdENMetadata)
	if err != nil {
		t.Fatal(err)
	}
	if out != cmdENOutput {
		t.Errorf("output\n%s\nwant\n%s", out, cmdENOutput)
	}
	out, err = runCmd(t, "en", "derive", "--tek", cmdTEK, "--interval", cmdENIntervalP3, "--metadata", cmdENMetadata)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\nrpi: "+cmdENRPILast+"\n") {
		t.Errorf("interval +143: %s", out)
	}
	// Against the package for another TEK.
	tek := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	out, err = runCmd(t, "en", "derive", "--tek", hex.EncodeToString(tek[:]), "--interval", "7", "--metadata", "00ff0102")
	if err != nil {
		t.Fatal(err)
	}
	rpik, aemk := exposure.RPIK(tek), exposure.AEMK(tek)
	rpi := exposure.RPI(rpik, 7)
	aem := exposure.AEM(aemk, rpi, [4]byte{0, 0xff, 1, 2})
	if want := fmt.Sprintf("rpik: %x\naemk: %x\nrpi: %x\naem: %x\n", rpik, aemk, rpi, aem); out != want {
		t.Errorf("output\n%s\nwant\n%s", out, want)
	}
}

func TestENKeygenAndVerifyExport(t *testing.T) {
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	out, err := runCmd(t, "en", "keygen", "--out", keyDir)
	if err != nil {
		t.Fatal(err)
	}
	privPath, pubPath := filepath.Join(keyDir, enPrivateKeyFile), filepath.Join(keyDir, enPublicKeyFile)
	if !strings.Contains(out, privPath) || !strings.Contains(out, pubPath) {
		t.Errorf("keygen output %q does not name the files", out)
	}
	st, err := os.Stat(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := runCmd(t, "en", "keygen", "--out", keyDir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second keygen into the same directory: %v, want a refusal", err)
	}

	// Sign an export with the package and the generated private key.
	privPEM, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(privPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer := exposure.SigningKey{ID: "452", Version: "v1"}
	signer.Priv, _ = key.(*ecdsa.PrivateKey)
	keys := []exposure.Key{
		{Data: bytes.Repeat([]byte{0xaa}, 16), TransmissionRisk: 3, RollingStart: 2700000, RollingPeriod: 144},
		{Data: bytes.Repeat([]byte{0xbb}, 16), TransmissionRisk: 5, RollingStart: 2700144, RollingPeriod: 72},
	}
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	var zipBuf bytes.Buffer
	if err := exposure.WriteExport(&zipBuf, start, start.Add(time.Hour), "VN-HN", 2, 3, keys, signer, "vn.gov.bluezone"); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "export.zip")
	if err := os.WriteFile(zipPath, zipBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	wantLines := []string{
		"signature: ok",
		"region: VN-HN",
		"start: 2021-08-15T07:00:00+07:00 (1628985600)",
		"end: 2021-08-15T08:00:00+07:00 (1628989200)",
		"batch: 2/3",
		"signature_info: key_id=452 version=v1 algorithm=1.2.840.10045.4.3.2 bundle=vn.gov.bluezone",
		"keys: 2",
		"key aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa rolling_start=2700000 rolling_period=144 risk=3",
		"key bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb rolling_start=2700144 rolling_period=72 risk=5",
	}
	for _, args := range [][]string{
		{"en", "verify-export", zipPath, "--public-key", pubPath},
		{"en", "verify-export", "--public-key", pubPath, zipPath},
		{"en", "verify-export", "--public-key=" + pubPath, zipPath},
	} {
		out, err := runCmd(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, l := range wantLines {
			if !strings.Contains(out, l+"\n") {
				t.Errorf("%v: output lacks %q:\n%s", args[2:], l, out)
			}
		}
	}

	// A flipped byte anywhere in the zip's export.bin, a wrong key, and the
	// private key passed by mistake all fail with a clear message.
	badPath := filepath.Join(dir, "tampered.zip")
	if err := os.WriteFile(badPath, flipExportBin(t, zipBuf.Bytes(), 40), 0o644); err != nil {
		t.Fatal(err)
	}
	otherDir := filepath.Join(dir, "other")
	if _, err := runCmd(t, "en", "keygen", "--out", otherDir); err != nil {
		t.Fatal(err)
	}
	fails := []struct {
		name string
		args []string
		want string
	}{
		{"tampered", []string{"en", "verify-export", badPath, "--public-key", pubPath}, "bad signature or file: exposure read export: no signature"},
		{"wrong key", []string{"en", "verify-export", zipPath, "--public-key", filepath.Join(otherDir, enPublicKeyFile)}, "no signature"},
		{"private key given", []string{"en", "verify-export", zipPath, "--public-key", privPath}, "is a private key"},
		{"missing file", []string{"en", "verify-export", filepath.Join(dir, "nope.zip"), "--public-key", pubPath}, "no such file"},
		{"two files", []string{"en", "verify-export", zipPath, zipPath, "--public-key", pubPath}, "got 2"},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			out, err := runCmd(t, f.args...)
			if err == nil || !strings.Contains(err.Error(), f.want) {
				t.Errorf("err = %v, want it to contain %q", err, f.want)
			}
			if strings.Contains(out, "signature: ok") {
				t.Errorf("printed %q for a failing file", out)
			}
		})
	}

	// en sample-export → en verify-export, entirely from the command line.
	samplePath := filepath.Join(dir, "sample.zip")
	if _, err := runCmd(t, "en", "sample-export", "--private-key", privPath, "--out", samplePath, "--keys", "25"); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, "en", "verify-export", samplePath, "--public-key", pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "keys: 25\n") || strings.Count(out, "\nkey ") != 25 {
		t.Errorf("sample export reads back as:\n%s", out)
	}
}

// flipExportBin rewrites an export zip with one bit of export.bin flipped
// (a well-formed zip, so only the signature can catch it).
func flipExportBin(t *testing.T, z []byte, at int) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "export.bin" {
			data[at] ^= 0x01
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func mustHexCmd(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --en-app-bundle-id reaches the signature info of every export the server
// publishes (phones and Google's export-analyzer read it there).
func TestENAppBundleID(t *testing.T) {
	ctx := context.Background()
	fs, cfg := configFlags("serve")
	a, err := parseAndOpen(ctx, fs, cfg, []string{"--data", t.TempDir(), "--en-app-bundle-id", "vn.gov.longan.anticovid"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	key := exposure.Key{Data: bytes.Repeat([]byte{0xcc}, 16), TransmissionRisk: 1, RollingStart: int32(start.Unix() / 600), RollingPeriod: 144}
	if err := exposure.InsertKeys(ctx, a.db, a.en.Region, []exposure.Key{key}, []time.Time{start.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	files, err := a.en.ExportWindow(ctx, start, start.Add(time.Hour))
	if err != nil || len(files) != 1 {
		t.Fatalf("%+v %v", files, err)
	}
	signer, err := a.en.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	zipBytes, _, err := a.en.File(ctx, files[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exposure.ReadExport(zipBytes, &signer.Priv.PublicKey)
	if err != nil || len(ex.SignatureInfos) != 1 || ex.SignatureInfos[0].AppBundleID != "vn.gov.longan.anticovid" {
		t.Fatalf("export %+v %v, want the configured bundle id", ex.SignatureInfos, err)
	}
}
