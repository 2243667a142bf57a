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
	"fmt"
	"io"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Export file constants. Phones compare them byte for byte.
const (
	// ExportHeader opens export.bin: "EK Export v1" padded with spaces to 16 bytes.
	ExportHeader = "EK Export v1    "
	// SignatureAlgorithm is the OID of ECDSA with P-256 and SHA-256, the only
	// algorithm the phones' frameworks accept for export.sig.
	SignatureAlgorithm = "1.2.840.10045.4.3.2"

	exportBinName = "export.bin"
	exportSigName = "export.sig"

	// maxEntrySize bounds how much ReadExport inflates per zip entry, so a
	// crafted zip cannot exhaust memory. A full 10,000-key file is ~300 KB.
	maxEntrySize = 64 << 20
)

// Key is one Temporary Exposure Key as uploaded and as published. The fields
// are int32 because that is their protobuf type; ValidateUpload bounds them.
type Key struct {
	Data             []byte // 16 bytes
	TransmissionRisk int32  // 0..8, set by the health authority's app
	RollingStart     int32  // ENIntervalNumber of the key's first interval
	RollingPeriod    int32  // intervals of validity, 1..144
}

// SigningKey is the private key export files are signed with, and the ID and
// version that phones use to pick the matching public key from their
// configuration (the ID is usually the country's MCC, e.g. "452" for Vietnam).
type SigningKey struct {
	ID, Version string
	Priv        *ecdsa.PrivateKey
}

// SignatureInfo tells a phone which of its configured public keys verifies a
// file. It appears both in export.bin and in export.sig.
type SignatureInfo struct {
	AppBundleID            string
	AndroidPackage         string
	VerificationKeyVersion string
	VerificationKeyID      string
	SignatureAlgorithm     string
}

// Export is the content of a verified export file, as ReadExport returns it.
type Export struct {
	Start, End     time.Time // window of arrival at the server, UTC
	Region         string
	BatchNum       int // 1-based position of this file in its batch
	BatchSize      int // number of files in the batch
	SignatureInfos []SignatureInfo
	Keys           []Key
}

// Batches cuts keys into consecutive slices of at most maxPerFile keys, the
// files of one batch (file i gets batch_num i+1 and batch_size len(result)).
// Phones and CDNs handle many small files better than one huge one.
func Batches(keys []Key, maxPerFile int) [][]Key {
	if maxPerFile < 1 {
		maxPerFile = 1
	}
	if len(keys) == 0 {
		return [][]Key{nil}
	}
	out := make([][]Key, 0, (len(keys)+maxPerFile-1)/maxPerFile)
	for len(keys) > 0 {
		n := min(maxPerFile, len(keys))
		out = append(out, keys[:n:n])
		keys = keys[n:]
	}
	return out
}

// WriteExport writes one signed export file (a zip of export.bin and
// export.sig) holding keys, in a random order drawn from crypto/rand so that
// the order of uploads, and thus who uploaded together, does not leak. The
// caller's slice is left untouched. start and end are the window of arrival
// of the keys at the server.
func WriteExport(w io.Writer, start, end time.Time, region string, batchNum, batchSize int,
	keys []Key, signer SigningKey, appBundleID string) error {
	const op = "exposure write export"
	if batchNum < 1 || batchSize < batchNum {
		return fmt.Errorf("%s: batch %d of %d: %w", op, batchNum, batchSize, errs.ErrInvalid)
	}
	if end.Before(start) || start.Unix() < 0 {
		return fmt.Errorf("%s: window %s..%s: %w", op, start, end, errs.ErrInvalid)
	}
	if signer.Priv == nil || signer.Priv.Curve != elliptic.P256() {
		return fmt.Errorf("%s: signing key must be ECDSA P-256: %w", op, errs.ErrInvalid)
	}
	for i, k := range keys {
		if len(k.Data) != TEKLen || k.RollingPeriod < 1 || k.RollingPeriod > MaxRollingPeriod {
			return fmt.Errorf("%s: keys[%d]: %d-byte key with rolling period %d: %w",
				op, i, len(k.Data), k.RollingPeriod, errs.ErrInvalid)
		}
	}
	shuffled := append([]Key(nil), keys...)
	if err := shuffle(shuffled); err != nil {
		return fmt.Errorf("%s: shuffle: %w", op, err)
	}

	info := SignatureInfo{
		AppBundleID:            appBundleID,
		VerificationKeyVersion: signer.Version,
		VerificationKeyID:      signer.ID,
		SignatureAlgorithm:     SignatureAlgorithm,
	}
	bin := marshalExport(start, end, region, batchNum, batchSize, info, shuffled)
	digest := sha256.Sum256(bin)
	sig, err := ecdsa.SignASN1(rand.Reader, signer.Priv, digest[:])
	if err != nil {
		return fmt.Errorf("%s: sign: %w", op, err)
	}
	sigFile := marshalSignatureList(info, batchNum, batchSize, sig)

	zw := zip.NewWriter(w)
	for _, e := range []struct {
		name string
		data []byte
	}{{exportBinName, bin}, {exportSigName, sigFile}} {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: end.UTC()})
		if err != nil {
			return fmt.Errorf("%s: %s: %w", op, e.name, err)
		}
		if _, err := f.Write(e.data); err != nil {
			return fmt.Errorf("%s: %s: %w", op, e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// shuffle permutes keys uniformly (Fisher–Yates) with randomness from
// crypto/rand, read in bulk because one read per key would dominate the cost
// of a large file.
func shuffle(keys []Key) error {
	if len(keys) < 2 {
		return nil
	}
	buf := make([]byte, 8*min(len(keys), 4096))
	pos := len(buf)
	next := func() (uint64, error) {
		if pos+8 > len(buf) {
			if _, err := rand.Read(buf); err != nil {
				return 0, err
			}
			pos = 0
		}
		v := binary.LittleEndian.Uint64(buf[pos:])
		pos += 8
		return v, nil
	}
	for i := len(keys) - 1; i > 0; i-- {
		n := uint64(i + 1)
		// Reject the 2^64 mod n smallest values so that v % n is unbiased.
		threshold := -n % n
		v, err := next()
		for err == nil && v < threshold {
			v, err = next()
		}
		if err != nil {
			return err
		}
		j := v % n
		keys[i], keys[j] = keys[j], keys[i]
	}
	return nil
}

// ReadExport checks a downloaded export file the way a phone does: both
// entries present, the header right, and export.sig holding an ECDSA P-256
// signature over export.bin that pub verifies. Only then does it decode the
// keys. Any malformed, unsigned or tampered input is an errs.ErrInvalid.
func ReadExport(zipBytes []byte, pub *ecdsa.PublicKey) (Export, error) {
	const op = "exposure read export"
	if pub == nil {
		return Export{}, errors.New(op + ": no public key")
	}
	bin, sigFile, err := zipEntries(zipBytes)
	if err != nil {
		return Export{}, fmt.Errorf("%s: %w", op, err)
	}
	if len(bin) < len(ExportHeader) || string(bin[:len(ExportHeader)]) != ExportHeader {
		return Export{}, fmt.Errorf("%s: export.bin lacks the %q header: %w", op, ExportHeader, errs.ErrInvalid)
	}
	sigs, err := unmarshalSignatureList(sigFile)
	if err != nil {
		return Export{}, fmt.Errorf("%s: export.sig: %w", op, err)
	}
	digest := sha256.Sum256(bin)
	var good *tekSignature
	for i := range sigs {
		s := &sigs[i]
		if s.info.SignatureAlgorithm != SignatureAlgorithm {
			continue
		}
		if ecdsa.VerifyASN1(pub, digest[:], s.signature) {
			good = s
			break
		}
	}
	if good == nil {
		return Export{}, fmt.Errorf("%s: no signature in export.sig (%d present) verifies export.bin with this public key: %w",
			op, len(sigs), errs.ErrInvalid)
	}
	ex, err := unmarshalExport(bin[len(ExportHeader):])
	if err != nil {
		return Export{}, fmt.Errorf("%s: export.bin: %w", op, err)
	}
	if good.batchNum != ex.BatchNum || good.batchSize != ex.BatchSize {
		return Export{}, fmt.Errorf("%s: signature is for batch %d/%d but the file says %d/%d: %w",
			op, good.batchNum, good.batchSize, ex.BatchNum, ex.BatchSize, errs.ErrInvalid)
	}
	return ex, nil
}

// zipEntries returns the contents of export.bin and export.sig, rejecting
// archives that lack either or hold either twice (which one would a phone read?).
func zipEntries(zipBytes []byte) (bin, sig []byte, err error) {
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		return nil, nil, fmt.Errorf("not a zip file (%v): %w", err, errs.ErrInvalid)
	}
	found := map[string][]byte{}
	for _, f := range zr.File {
		if f.Name != exportBinName && f.Name != exportSigName {
			continue
		}
		if _, dup := found[f.Name]; dup {
			return nil, nil, fmt.Errorf("zip holds %s twice: %w", f.Name, errs.ErrInvalid)
		}
		if f.UncompressedSize64 > maxEntrySize {
			return nil, nil, fmt.Errorf("%s is %d bytes, more than %d: %w", f.Name, f.UncompressedSize64, maxEntrySize, errs.ErrInvalid)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v: %w", f.Name, err, errs.ErrInvalid)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxEntrySize+1))
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v: %w", f.Name, err, errs.ErrInvalid)
		}
		if len(data) > maxEntrySize {
			return nil, nil, fmt.Errorf("%s inflates beyond %d bytes: %w", f.Name, maxEntrySize, errs.ErrInvalid)
		}
		found[f.Name] = data
	}
	bin, okBin := found[exportBinName]
	sig, okSig := found[exportSigName]
	if !okBin || !okSig {
		return nil, nil, fmt.Errorf("zip must hold export.bin and export.sig: %w", errs.ErrInvalid)
	}
	return bin, sig, nil
}

// --- protobuf (proto2) wire format, by hand ---
//
// The messages are small and fixed, and a protobuf dependency (plus generated
// code) would be the heaviest thing in the module for ~150 lines of work.

// Wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// pbWriter appends protobuf fields to a byte slice.
type pbWriter struct{ b []byte }

func (w *pbWriter) tag(num, wire int) { w.b = binary.AppendUvarint(w.b, uint64(num)<<3|uint64(wire)) }

func (w *pbWriter) uvarint(num int, v uint64) {
	w.tag(num, wireVarint)
	w.b = binary.AppendUvarint(w.b, v)
}

// int32 encodes like protobuf's int32: negatives sign-extended to 10 bytes.
func (w *pbWriter) int32(num int, v int32) { w.uvarint(num, uint64(int64(v))) }

func (w *pbWriter) fixed64(num int, v uint64) {
	w.tag(num, wireFixed64)
	w.b = binary.LittleEndian.AppendUint64(w.b, v)
}

func (w *pbWriter) bytes(num int, p []byte) {
	w.tag(num, wireBytes)
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

// optString writes s unless it is empty: proto2 optional fields are absent
// rather than empty when there is nothing to say.
func (w *pbWriter) optString(num int, s string) {
	if s == "" {
		return
	}
	w.tag(num, wireBytes)
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// Field numbers, from the export format.
const (
	fExportStart          = 1 // fixed64
	fExportEnd            = 2 // fixed64
	fExportRegion         = 3 // string
	fExportBatchNum       = 4 // int32
	fExportBatchSize      = 5 // int32
	fExportSignatureInfos = 6 // repeated SignatureInfo
	fExportKeys           = 7 // repeated TemporaryExposureKey

	fKeyData          = 1 // bytes
	fKeyRisk          = 2 // int32
	fKeyRollingStart  = 3 // int32
	fKeyRollingPeriod = 4 // int32

	fInfoAppBundleID        = 1
	fInfoAndroidPackage     = 2
	fInfoKeyVersion         = 3
	fInfoKeyID              = 4
	fInfoSignatureAlgorithm = 5

	fListSignatures = 1 // repeated TEKSignature

	fSigInfo      = 1 // SignatureInfo
	fSigBatchNum  = 2 // int32
	fSigBatchSize = 3 // int32
	fSigSignature = 4 // bytes
)

func marshalInfo(info SignatureInfo) []byte {
	var w pbWriter
	w.optString(fInfoAppBundleID, info.AppBundleID)
	w.optString(fInfoAndroidPackage, info.AndroidPackage)
	w.optString(fInfoKeyVersion, info.VerificationKeyVersion)
	w.optString(fInfoKeyID, info.VerificationKeyID)
	w.optString(fInfoSignatureAlgorithm, info.SignatureAlgorithm)
	return w.b
}

// marshalExport returns the whole export.bin: header, then the
// TemporaryExposureKeyExport message.
func marshalExport(start, end time.Time, region string, batchNum, batchSize int, info SignatureInfo, keys []Key) []byte {
	w := pbWriter{b: make([]byte, 0, len(ExportHeader)+64+len(keys)*32)}
	w.b = append(w.b, ExportHeader...)
	w.fixed64(fExportStart, uint64(start.Unix()))
	w.fixed64(fExportEnd, uint64(end.Unix()))
	w.optString(fExportRegion, region)
	w.int32(fExportBatchNum, int32(batchNum))
	w.int32(fExportBatchSize, int32(batchSize))
	w.bytes(fExportSignatureInfos, marshalInfo(info))
	var kw pbWriter
	for _, k := range keys {
		kw.b = kw.b[:0]
		kw.bytes(fKeyData, k.Data)
		kw.int32(fKeyRisk, k.TransmissionRisk)
		kw.int32(fKeyRollingStart, k.RollingStart)
		kw.int32(fKeyRollingPeriod, k.RollingPeriod)
		w.bytes(fExportKeys, kw.b)
	}
	return w.b
}

func marshalSignatureList(info SignatureInfo, batchNum, batchSize int, sig []byte) []byte {
	var s pbWriter
	s.bytes(fSigInfo, marshalInfo(info))
	s.int32(fSigBatchNum, int32(batchNum))
	s.int32(fSigBatchSize, int32(batchSize))
	s.bytes(fSigSignature, sig)
	var l pbWriter
	l.bytes(fListSignatures, s.b)
	return l.b
}

// pbField is one decoded field: v holds varint and fixed values, data the
// contents of length-delimited ones (aliasing the input).
type pbField struct {
	num, wire int
	v         uint64
	data      []byte
}

// pbReader walks the fields of one message. Unknown fields are skipped, as
// protobuf requires, so files from newer servers (report_type, …) still read.
type pbReader struct{ b []byte }

func (r *pbReader) next() (pbField, error) {
	tag, n := binary.Uvarint(r.b)
	if n <= 0 {
		return pbField{}, fmt.Errorf("bad field tag: %w", errs.ErrInvalid)
	}
	r.b = r.b[n:]
	f := pbField{num: int(tag >> 3), wire: int(tag & 7)}
	if tag>>3 == 0 || tag>>3 > 1<<29-1 {
		return pbField{}, fmt.Errorf("bad field number %d: %w", tag>>3, errs.ErrInvalid)
	}
	switch f.wire {
	case wireVarint:
		v, n := binary.Uvarint(r.b)
		if n <= 0 {
			return pbField{}, fmt.Errorf("field %d: bad varint: %w", f.num, errs.ErrInvalid)
		}
		f.v, r.b = v, r.b[n:]
	case wireFixed64:
		if len(r.b) < 8 {
			return pbField{}, fmt.Errorf("field %d: truncated fixed64: %w", f.num, errs.ErrInvalid)
		}
		f.v, r.b = binary.LittleEndian.Uint64(r.b), r.b[8:]
	case wireFixed32:
		if len(r.b) < 4 {
			return pbField{}, fmt.Errorf("field %d: truncated fixed32: %w", f.num, errs.ErrInvalid)
		}
		f.v, r.b = uint64(binary.LittleEndian.Uint32(r.b)), r.b[4:]
	case wireBytes:
		l, n := binary.Uvarint(r.b)
		if n <= 0 || l > uint64(len(r.b)-n) {
			return pbField{}, fmt.Errorf("field %d: bad length: %w", f.num, errs.ErrInvalid)
		}
		f.data, r.b = r.b[n:n+int(l)], r.b[n+int(l):]
	default: // groups (3, 4) and reserved wire types appear in none of these messages
		return pbField{}, fmt.Errorf("field %d: unsupported wire type %d: %w", f.num, f.wire, errs.ErrInvalid)
	}
	return f, nil
}

// want checks a known field's wire type; a mismatch means the file was not
// written against this schema.
func (f pbField) want(wire int) error {
	if f.wire != wire {
		return fmt.Errorf("field %d: wire type %d, want %d: %w", f.num, f.wire, wire, errs.ErrInvalid)
	}
	return nil
}

func unmarshalInfo(b []byte) (SignatureInfo, error) {
	var info SignatureInfo
	r := pbReader{b}
	for len(r.b) > 0 {
		f, err := r.next()
		if err != nil {
			return info, fmt.Errorf("signature info: %w", err)
		}
		var dst *string
		switch f.num {
		case fInfoAppBundleID:
			dst = &info.AppBundleID
		case fInfoAndroidPackage:
			dst = &info.AndroidPackage
		case fInfoKeyVersion:
			dst = &info.VerificationKeyVersion
		case fInfoKeyID:
			dst = &info.VerificationKeyID
		case fInfoSignatureAlgorithm:
			dst = &info.SignatureAlgorithm
		default:
			continue
		}
		if err := f.want(wireBytes); err != nil {
			return info, fmt.Errorf("signature info: %w", err)
		}
		*dst = string(f.data)
	}
	return info, nil
}

func unmarshalKey(b []byte) (Key, error) {
	k := Key{RollingPeriod: MaxRollingPeriod} // proto default
	r := pbReader{b}
	for len(r.b) > 0 {
		f, err := r.next()
		if err != nil {
			return k, err
		}
		switch f.num {
		case fKeyData:
			if err := f.want(wireBytes); err != nil {
				return k, err
			}
			k.Data = append([]byte(nil), f.data...)
		case fKeyRisk, fKeyRollingStart, fKeyRollingPeriod:
			if err := f.want(wireVarint); err != nil {
				return k, err
			}
			v := int32(f.v) // protobuf int32: keep the low 32 bits
			switch f.num {
			case fKeyRisk:
				k.TransmissionRisk = v
			case fKeyRollingStart:
				k.RollingStart = v
			default:
				k.RollingPeriod = v
			}
		}
	}
	if len(k.Data) != TEKLen {
		return k, fmt.Errorf("key_data is %d bytes, want %d: %w", len(k.Data), TEKLen, errs.ErrInvalid)
	}
	return k, nil
}

// unmarshalExport decodes a TemporaryExposureKeyExport (export.bin without
// its header).
func unmarshalExport(b []byte) (Export, error) {
	var ex Export
	r := pbReader{b}
	for len(r.b) > 0 {
		f, err := r.next()
		if err != nil {
			return ex, err
		}
		switch f.num {
		case fExportStart, fExportEnd:
			if err := f.want(wireFixed64); err != nil {
				return ex, err
			}
			if f.v > 1<<62 {
				return ex, fmt.Errorf("field %d: timestamp %d out of range: %w", f.num, f.v, errs.ErrInvalid)
			}
			t := time.Unix(int64(f.v), 0).UTC()
			if f.num == fExportStart {
				ex.Start = t
			} else {
				ex.End = t
			}
		case fExportRegion:
			if err := f.want(wireBytes); err != nil {
				return ex, err
			}
			ex.Region = string(f.data)
		case fExportBatchNum, fExportBatchSize:
			if err := f.want(wireVarint); err != nil {
				return ex, err
			}
			if f.num == fExportBatchNum {
				ex.BatchNum = int(int32(f.v))
			} else {
				ex.BatchSize = int(int32(f.v))
			}
		case fExportSignatureInfos:
			if err := f.want(wireBytes); err != nil {
				return ex, err
			}
			info, err := unmarshalInfo(f.data)
			if err != nil {
				return ex, err
			}
			ex.SignatureInfos = append(ex.SignatureInfos, info)
		case fExportKeys:
			if err := f.want(wireBytes); err != nil {
				return ex, err
			}
			k, err := unmarshalKey(f.data)
			if err != nil {
				return ex, fmt.Errorf("keys[%d]: %w", len(ex.Keys), err)
			}
			ex.Keys = append(ex.Keys, k)
		}
	}
	return ex, nil
}

// tekSignature is one entry of export.sig.
type tekSignature struct {
	info                SignatureInfo
	batchNum, batchSize int
	signature           []byte
}

func unmarshalSignatureList(b []byte) ([]tekSignature, error) {
	var out []tekSignature
	r := pbReader{b}
	for len(r.b) > 0 {
		f, err := r.next()
		if err != nil {
			return nil, err
		}
		if f.num != fListSignatures {
			continue
		}
		if err := f.want(wireBytes); err != nil {
			return nil, err
		}
		var s tekSignature
		sr := pbReader{f.data}
		for len(sr.b) > 0 {
			g, err := sr.next()
			if err != nil {
				return nil, err
			}
			switch g.num {
			case fSigInfo:
				if err := g.want(wireBytes); err != nil {
					return nil, err
				}
				if s.info, err = unmarshalInfo(g.data); err != nil {
					return nil, err
				}
			case fSigBatchNum, fSigBatchSize:
				if err := g.want(wireVarint); err != nil {
					return nil, err
				}
				if g.num == fSigBatchNum {
					s.batchNum = int(int32(g.v))
				} else {
					s.batchSize = int(int32(g.v))
				}
			case fSigSignature:
				if err := g.want(wireBytes); err != nil {
					return nil, err
				}
				s.signature = g.data
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no signatures: %w", errs.ErrInvalid)
	}
	return out, nil
}

// --- upload rules ---

// Upload limits.
const (
	// MaxKeyAge is how long after its end a key may still be uploaded: the
	// spec's 14 days, beyond which no phone keeps the matching sightings.
	MaxKeyAge = 14 * 24 * time.Hour
	// MaxUploadKeys is not in the spec; it bounds the work one request can
	// cause. 14 days of daily keys plus the same-day reissues of framework
	// v1.5 fit comfortably (Google's reference server defaults to 20).
	MaxUploadKeys = 30
	// MaxTransmitRisk is the highest transmission_risk_level the frameworks
	// define (levels 0..8).
	MaxTransmitRisk = 8
)

// ValidateUpload applies the rules a key server enforces to the keys a
// verified F0's phone uploads at now. It rejects the whole upload when any key
// breaks a rule (a phone sends its history at once; a partial accept would
// hide a client bug), reporting each problem under its field, e.g.
// "keys[3].rolling_period". Valid keys come back split: accepted ones have
// ended and may be published; held-back ones are still in use on the phone
// (publishing them would let anyone replay its current identifiers), so they
// must wait until RollingStart+RollingPeriod has passed.
func ValidateUpload(keys []Key, now time.Time) (accepted, heldBack []Key, err error) {
	const op = "exposure validate upload"
	f := errs.Fields{}
	if len(keys) == 0 {
		f.Add("keys", msg.Both("exposure.at_least_one_key"))
		return nil, nil, fmt.Errorf("%s: %w", op, f.Err())
	}
	if len(keys) > MaxUploadKeys {
		f.Add("keys", msg.Both("exposure.at_most_keys_per", MaxUploadKeys, len(keys)))
		return nil, nil, fmt.Errorf("%s: %w", op, f.Err())
	}
	current := int64(ENIntervalNumber(now))
	oldest := int64(ENIntervalNumber(now.Add(-MaxKeyAge)))
	seen := make(map[[TEKLen]byte]int, len(keys))
	for i, k := range keys {
		p := fmt.Sprintf("keys[%d].", i)
		if len(k.Data) != TEKLen {
			f.Add(p+"key_data", msg.Both("exposure.key_exactly_bytes_got", TEKLen, len(k.Data)))
		} else {
			tek := [TEKLen]byte(k.Data)
			if j, dup := seen[tek]; dup {
				f.Add(p+"key_data", msg.Both("exposure.duplicate_keys", j))
			} else {
				seen[tek] = i
			}
		}
		periodOK := k.RollingPeriod >= 1 && k.RollingPeriod <= MaxRollingPeriod
		if !periodOK {
			f.Add(p+"rolling_period", msg.Both("exposure.in_1_got", MaxRollingPeriod, k.RollingPeriod))
		}
		if k.TransmissionRisk < 0 || k.TransmissionRisk > MaxTransmitRisk {
			f.Add(p+"transmission_risk_level", msg.Both("exposure.in_0_got", MaxTransmitRisk, k.TransmissionRisk))
		}
		start := int64(k.RollingStart)
		switch {
		case start > current:
			f.Add(p+"rolling_start_interval_number", msg.Both("exposure.key_in_future",
				fmtInterval(start), fmtInterval(current), start, current))
		case periodOK && start+int64(k.RollingPeriod) <= oldest:
			f.Add(p+"rolling_start_interval_number",
				// Vietnamese gives the time, English the interval numbers: each
				// language formats its own detail.
				msg.T("vi", "exposure.key_expired", fmtInterval(start+int64(k.RollingPeriod)))+" / "+
					msg.T("en", "exposure.key_expired", msg.T("en", "exposure.expired_intervals", start+int64(k.RollingPeriod), oldest)))
		}
	}
	if err := f.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	for _, k := range keys {
		if int64(k.RollingStart)+int64(k.RollingPeriod) > current {
			heldBack = append(heldBack, k)
		} else {
			accepted = append(accepted, k)
		}
	}
	return accepted, heldBack, nil
}

// fmtInterval shows an interval's start in Vietnamese time and format, for
// messages a health officer may read.
func fmtInterval(j int64) string {
	return time.Unix(j*600, 0).In(time.FixedZone("ICT", 7*3600)).Format("15:04 02/01/2006")
}
