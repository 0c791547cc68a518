// Package sevsnp attests an enclave that runs as an AMD SEV-SNP confidential VM, and verifies
// such attestations.
//
// An SNP attestation report carries 64 bytes of REPORT_DATA chosen by the guest, and cannot hold
// a public key. This package therefore wraps the report in its own document, a CBOR map with
// exactly these text keys:
//
//	"report":     bstr  the raw 1184-byte ATTESTATION_REPORT, signed by the chip's VCEK (or VLEK)
//	"certs":      bstr  the certificate table of the extended report (GUID table), or empty
//	"public_key": bstr  at most 1024 bytes
//	"user_data":  bstr  at most 1024 bytes
//	"nonce":      bstr  at most 1024 bytes
//	"timestamp":  uint  milliseconds since the Unix epoch, chosen by the attester
//
// and binds the last four into the report: REPORT_DATA = SHA-512(reportDataLabel || lp(public_key)
// || lp(user_data) || lp(nonce) || lp(timestamp as 8 bytes big-endian)), where lp(x) is x's length
// as 4 bytes big-endian followed by x. The length prefixes keep one field from bleeding into the
// next; see ReportData.
//
// The Verifier checks the report's signature and its VCEK → ASK → ARK chain against AMD's roots
// (go-sev-guest's verify package), refuses a guest whose policy allows debugging, compares the
// launch MEASUREMENT with the policy, applies the platform policy (attestation.SEVSNPPolicy: the
// guest policy's migration agent, SMT and ABI bits, the VMPL, the ID and author key digests, and
// the TCB: AMD's REPORTED ≤ COMMITTED ≤ CURRENT order and a minimum per component; see
// policy.go), recomputes REPORT_DATA, and checks the timestamp's age.
// The timestamp is only as honest as the guest's clock, which the guest itself measured; callers
// that need proof of freshness put a nonce of their own in the document.
//
// This package must never accept a document it could not check completely, never fetch
// certificates from the network unless its caller asked for that explicitly, and never panic on
// any input.
package sevsnp

import (
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-sev-guest/abi"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// reportDataLabel separates our REPORT_DATA from any other use of the same report.
const reportDataLabel = "mpcsigner/v1 sev-snp report data"

// maxField bounds public_key, user_data and nonce, as the Attester interface promises.
const maxField = 1024

// Document keys, in the order the format lists them.
const (
	keyReport    = "report"
	keyCerts     = "certs"
	keyPublicKey = "public_key"
	keyUserData  = "user_data"
	keyNonce     = "nonce"
	keyTimestamp = "timestamp"
)

// documentKeys is the exact key set of a document.
var documentKeys = []string{keyReport, keyCerts, keyPublicKey, keyUserData, keyNonce, keyTimestamp}

// ErrNoDevice means the Attester found no SEV-SNP guest device to ask for a report.
var ErrNoDevice = errors.New("no SEV-SNP attestation device")

// document is the wire form described in the package comment.
type document struct {
	Report    []byte `cbor:"report"`
	Certs     []byte `cbor:"certs"`
	PublicKey []byte `cbor:"public_key"`
	UserData  []byte `cbor:"user_data"`
	Nonce     []byte `cbor:"nonce"`
	Timestamp uint64 `cbor:"timestamp"`
}

// ReportData returns the REPORT_DATA that binds publicKey, userData, nonce and timestampMillis
// into an SNP report, as the package comment defines it.
func ReportData(publicKey, userData, nonce []byte, timestampMillis uint64) [abi.ReportDataSize]byte {
	h := sha512.New()
	h.Write([]byte(reportDataLabel))
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], timestampMillis)
	for _, field := range [][]byte{publicKey, userData, nonce, ts[:]} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(field)))
		h.Write(n[:])
		h.Write(field)
	}
	var out [abi.ReportDataSize]byte
	copy(out[:], h.Sum(nil))
	return out
}

// codec is the CBOR encoder and decoder of the document format.
type codec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

// codecs builds the codec once. Its options are constants, so an error here is a bug in this
// file; it is still returned rather than panicked, and every call reports it.
var codecs = sync.OnceValues(func() (codec, error) {
	encOpts := cbor.CoreDetEncOptions()
	// An empty field is an empty byte string, never null: the decoder accepts only bstr.
	encOpts.NilContainers = cbor.NilContainerAsEmpty
	enc, err := encOpts.EncMode()
	if err != nil {
		return codec{}, fmt.Errorf("sevsnp: CBOR encoder options: %w", err)
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  4,
		MaxArrayElements: 16,
		MaxMapPairs:      16,
	}.DecMode()
	if err != nil {
		return codec{}, fmt.Errorf("sevsnp: CBOR decoder options: %w", err)
	}
	return codec{enc: enc, dec: dec}, nil
})

// encodeDocument serialises d.
func encodeDocument(d *document) ([]byte, error) {
	c, err := codecs()
	if err != nil {
		return nil, err
	}
	out, err := c.enc.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("sevsnp: encode document: %w", err)
	}
	if len(out) > attestation.MaxDocumentSize {
		return nil, fmt.Errorf("sevsnp: document is %d bytes, more than the %d a verifier reads: the certificate table is too large",
			len(out), attestation.MaxDocumentSize)
	}
	return out, nil
}

// CBOR major types this format uses.
const (
	majorUint  = 0
	majorBytes = 2
)

// decodeDocument parses raw strictly: size cap, a map with exactly the six keys, each of the
// right CBOR type, no duplicates, tags or indefinite lengths, no trailing bytes, field sizes
// within bounds. Every error wraps attestation.ErrMalformed.
func decodeDocument(raw []byte) (*document, error) {
	if len(raw) > attestation.MaxDocumentSize {
		return nil, malformed("document is %d bytes, more than %d", len(raw), attestation.MaxDocumentSize)
	}
	if len(raw) == 0 {
		return nil, malformed("document is empty")
	}
	c, err := codecs()
	if err != nil {
		return nil, err
	}
	dec := c.dec
	var fields map[string]cbor.RawMessage
	if err := dec.Unmarshal(raw, &fields); err != nil {
		return nil, malformed("not a CBOR map of the sevsnp document format: %v", err)
	}
	if err := checkKeys(fields); err != nil {
		return nil, err
	}
	var d document
	byteFields := []struct {
		key string
		dst *[]byte
		max int
	}{
		{keyReport, &d.Report, abi.ReportSize},
		{keyCerts, &d.Certs, attestation.MaxDocumentSize},
		{keyPublicKey, &d.PublicKey, maxField},
		{keyUserData, &d.UserData, maxField},
		{keyNonce, &d.Nonce, maxField},
	}
	for _, f := range byteFields {
		b, err := decodeBytes(dec, f.key, fields[f.key], f.max)
		if err != nil {
			return nil, err
		}
		*f.dst = b
	}
	if len(d.Report) != abi.ReportSize {
		return nil, malformed("report is %d bytes, want %d", len(d.Report), abi.ReportSize)
	}
	ts, err := decodeTimestamp(dec, fields[keyTimestamp])
	if err != nil {
		return nil, err
	}
	d.Timestamp = ts
	return &d, nil
}

// checkKeys refuses a map without exactly the document's keys.
func checkKeys(fields map[string]cbor.RawMessage) error {
	for _, k := range documentKeys {
		if _, ok := fields[k]; !ok {
			return malformed("field %q is missing", k)
		}
	}
	for k := range fields {
		if !slices.Contains(documentKeys, k) {
			return malformed("unknown field %q", truncateText(k, 32))
		}
	}
	return nil
}

// decodeBytes decodes one byte-string field of at most max bytes.
func decodeBytes(dec cbor.DecMode, key string, raw cbor.RawMessage, max int) ([]byte, error) {
	if len(raw) == 0 || raw[0]>>5 != majorBytes {
		return nil, malformed("field %q is not a byte string", key)
	}
	var b []byte
	if err := dec.Unmarshal(raw, &b); err != nil {
		return nil, malformed("field %q: %v", key, err)
	}
	if len(b) > max {
		return nil, malformed("field %q is %d bytes, more than %d", key, len(b), max)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// decodeTimestamp decodes the timestamp field: an unsigned integer of milliseconds that fits
// in a time.Time.
func decodeTimestamp(dec cbor.DecMode, raw cbor.RawMessage) (uint64, error) {
	if len(raw) == 0 || raw[0]>>5 != majorUint {
		return 0, malformed("field %q is not an unsigned integer", keyTimestamp)
	}
	var ts uint64
	if err := dec.Unmarshal(raw, &ts); err != nil {
		return 0, malformed("field %q: %v", keyTimestamp, err)
	}
	if ts > math.MaxInt64 {
		return 0, malformed("field %q is %d ms, beyond any representable time", keyTimestamp, ts)
	}
	return ts, nil
}

// malformed returns an error wrapping attestation.ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("sevsnp: %s: %w", fmt.Sprintf(format, args...), attestation.ErrMalformed)
}

// truncateText shortens untrusted or bulky text before it goes into an error.
func truncateText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
