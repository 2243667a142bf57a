package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"anticovid/internal/bluezone"
	"anticovid/internal/exposure"
)

// The en commands let an engineer reproduce an Exposure Notification
// derivation or check a published export file from a shell, the two things
// asked when a phone reports no matches.
func init() {
	register("en derive",
		"derive RPIK, AEMK, RPI and AEM from a TEK",
		runENDerive)
	register("en verify-export",
		"verify an export zip's signature and list its keys",
		runENVerifyExport)
	register("en keygen",
		"make a P-256 signing key pair, e.g. to try en verify-export",
		runENKeygen)
	register("en sample-export",
		"write a signed export of random keys, for trials",
		runENSampleExport)
	register("en export",
		"publish the EN export files now due",
		runENExport)
	register("en signing-key",
		"list or rotate the export signing keys",
		runENSigningKey)
}

// File names en keygen writes into --out.
const (
	enPrivateKeyFile = "export-signing-key.pem"
	enPublicKeyFile  = "export-signing-key.pub.pem"
)

func runENDerive(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("en derive", flag.ContinueOnError)
	tekHex := fs.String("tek", "", "32 hex characters")
	interval := fs.Uint64("interval", 0, "ENIntervalNumber (floor(unix/600))")
	mdHex := fs.String("metadata", "", "8 hex characters (version, tx power, 2 reserved)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	tek, err := cryptoHexFlag("tek", *tekHex, exposure.TEKLen)
	if err != nil {
		return fmt.Errorf("en derive: %w", err)
	}
	md, err := cryptoHexFlag("metadata", *mdHex, 4)
	if err != nil {
		return fmt.Errorf("en derive: %w", err)
	}
	if !set["interval"] {
		return errors.New("en derive: --interval is required (ENIntervalNumber, floor(unix seconds / 600))")
	}
	if *interval > math.MaxUint32 {
		return fmt.Errorf("en derive: --interval %d does not fit in 32 bits", *interval)
	}
	rpik := exposure.RPIK([16]byte(tek))
	aemk := exposure.AEMK([16]byte(tek))
	rpi := exposure.RPI(rpik, uint32(*interval))
	aem := exposure.AEM(aemk, rpi, [4]byte(md))
	_, err = fmt.Fprintf(stdout, "rpik: %x\naemk: %x\nrpi: %x\naem: %x\n", rpik, aemk, rpi, aem)
	return err
}

func runENVerifyExport(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("en verify-export", flag.ContinueOnError)
	pubPath := fs.String("public-key", "", "public key PEM file (PKIX \"PUBLIC KEY\")")
	files, err := enParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("en verify-export: want one export file, got %d (usage: en verify-export <file.zip> --public-key <pem>)", len(files))
	}
	if *pubPath == "" {
		return errors.New("en verify-export: --public-key is required")
	}
	pub, err := enReadPublicKey(*pubPath)
	if err != nil {
		return fmt.Errorf("en verify-export: %w", err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return fmt.Errorf("en verify-export: %w", err)
	}
	ex, err := exposure.ReadExport(data, pub)
	if err != nil {
		return fmt.Errorf("en verify-export %s: bad signature or file: %w", files[0], err)
	}
	w := bufio.NewWriter(stdout)
	fmt.Fprintf(w, "signature: ok\n")
	fmt.Fprintf(w, "region: %s\n", ex.Region)
	fmt.Fprintf(w, "start: %s (%d)\n", ex.Start.In(bluezone.Zone).Format(time.RFC3339), ex.Start.Unix())
	fmt.Fprintf(w, "end: %s (%d)\n", ex.End.In(bluezone.Zone).Format(time.RFC3339), ex.End.Unix())
	fmt.Fprintf(w, "batch: %d/%d\n", ex.BatchNum, ex.BatchSize)
	for _, si := range ex.SignatureInfos {
		fmt.Fprintf(w, "signature_info: key_id=%s version=%s algorithm=%s bundle=%s\n",
			si.VerificationKeyID, si.VerificationKeyVersion, si.SignatureAlgorithm, si.AppBundleID)
	}
	fmt.Fprintf(w, "keys: %d\n", len(ex.Keys))
	for _, k := range ex.Keys {
		fmt.Fprintf(w, "key %x rolling_start=%d rolling_period=%d risk=%d\n",
			k.Data, k.RollingStart, k.RollingPeriod, k.TransmissionRisk)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("en verify-export: %w", err)
	}
	return nil
}

func runENKeygen(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("en keygen", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the key pair into")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("en keygen: --out is required")
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("en keygen: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("en keygen: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return fmt.Errorf("en keygen: %w", err)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("en keygen: %w", err)
	}
	privPath := filepath.Join(*out, enPrivateKeyFile)
	pubPath := filepath.Join(*out, enPublicKeyFile)
	// Never overwrite: replacing a signing key in use would break every phone
	// configured with the old public key.
	if err := enWriteNew(privPath, 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return fmt.Errorf("en keygen: %w", err)
	}
	if err := enWriteNew(pubPath, 0o644, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err != nil {
		os.Remove(privPath)
		return fmt.Errorf("en keygen: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "private key: %s\npublic key: %s\n", privPath, pubPath)
	return err
}

func runENSampleExport(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("en sample-export", flag.ContinueOnError)
	privPath := fs.String("private-key", "", "signing key PEM (from en keygen)")
	out := fs.String("out", "", "zip file to write")
	n := fs.Int("keys", 10, "number of random keys")
	region := fs.String("region", "VN", "region")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *privPath == "" || *out == "" {
		return errors.New("en sample-export: --private-key and --out are required")
	}
	if *n < 0 || *n > 1_000_000 {
		return fmt.Errorf("en sample-export: --keys %d outside 0..1000000", *n)
	}
	priv, err := enReadPrivateKey(*privPath)
	if err != nil {
		return fmt.Errorf("en sample-export: %w", err)
	}
	now := time.Now().UTC()
	today := int32(exposure.ENIntervalNumber(now))
	today -= today % exposure.MaxRollingPeriod
	keys := make([]exposure.Key, *n)
	for i := range keys {
		data := make([]byte, exposure.TEKLen)
		rand.Read(data)
		keys[i] = exposure.Key{Data: data, TransmissionRisk: int32(i % 9),
			RollingStart: today - exposure.MaxRollingPeriod*int32(1+i%14), RollingPeriod: exposure.MaxRollingPeriod}
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("en sample-export: %w", err)
	}
	signer := exposure.SigningKey{ID: "452", Version: "v1", Priv: priv}
	if err := exposure.WriteExport(f, now.Add(-time.Hour), now, *region, 1, 1, keys, signer, ""); err != nil {
		f.Close()
		os.Remove(*out)
		return fmt.Errorf("en sample-export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("en sample-export: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "wrote %s with %d keys\n", *out, *n)
	return err
}

// enParseArgs is parseFlags for commands with positional arguments, which
// people put before as often as after the flags.
func enParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(os.Stderr)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// enWriteNew creates path with perm, failing if it already exists.
func enWriteNew(path string, perm os.FileMode, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func enReadPEM(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	return block, nil
}

func enReadPublicKey(path string) (*ecdsa.PublicKey, error) {
	block, err := enReadPEM(path)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PUBLIC KEY":
	case "PRIVATE KEY", "EC PRIVATE KEY":
		return nil, fmt.Errorf("%s is a private key; pass the public key (%s from en keygen)", path, enPublicKeyFile)
	default:
		return nil, fmt.Errorf("%s holds a %q PEM block, want \"PUBLIC KEY\"", path, block.Type)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is not an ECDSA P-256 public key", path)
	}
	return pub, nil
}

func enReadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	block, err := enReadPEM(path)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s holds a %q PEM block, want a private key", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := key.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is not an ECDSA P-256 private key", path)
	}
	return priv, nil
}

func runENExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("en export")
	a, err := parseAndOpen(ctx, fs, cfg, args)
	if err != nil {
		return err
	}
	defer a.close()
	files, err := a.en.ExportDue(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "%s: %d keys (batch %d/%d)\n", f.Name, f.Keys, f.BatchNum, f.BatchSize)
	}
	fmt.Fprintf(stdout, "%d files published (served at /en/export/%s/index.txt)\n", len(files), a.en.Region)
	return nil
}

func runENSigningKey(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg := configFlags("en signing-key")
	positional, err := enParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 || (positional[0] != "list" && positional[0] != "rotate") {
		return errors.New("en signing-key: want list or rotate")
	}
	a, err := open(ctx, cfg, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	if positional[0] == "rotate" {
		sk, err := a.en.RotateSigningKey(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s %s: configure its public key in the apps before files signed with it reach them\n", sk.ID, sk.Version)
	}
	keys, err := a.en.SigningKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		state := "retired"
		if k.Active {
			state = "active"
		}
		fmt.Fprintf(stdout, "%s %s (%s, %s)\n%s", k.KeyID, k.Version, state, k.CreatedAt.Format(time.RFC3339), k.PublicPEM)
	}
	return nil
}
