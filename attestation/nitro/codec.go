package nitro

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync"

	"github.com/fxamacker/cbor/v2"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// CBOR major types. The codec checks an item's major type before decoding it, so a value of
// the wrong kind is refused and named instead of being converted.
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorSimple = 7
)

const (
	// tag18 is CBOR tag 18 (COSE_Sign1) in its one-byte encoding. A COSE_Sign1 may carry it;
	// the NSM emits documents without it.
	tag18 = 0xd2
	// indefiniteMap and breakCode open and close an indefinite-length map.
	indefiniteMap = 0xbf
	breakCode     = 0xff
	cborNull      = 0xf6

	labelAlg = 1
	algES384 = -35
	// signatureSize is an ES384 signature: r || s, 48 bytes each.
	signatureSize  = 96
	scalarSizeP384 = 48

	maxOptionalField = 1024
	maxPCRIndex      = 31
	digestSHA384     = "SHA384"

	// Decoding limits. A genuine document nests three levels deep (array, map, map), has
	// at most 32 PCRs and a CA bundle of about four certificates; anything beyond these
	// bounds is refused before it can cost memory or stack.
	maxNestedLevels  = 4
	maxArrayElements = 16
	maxMapPairs      = 32
)

// Payload keys of a Nitro attestation document.
const (
	keyModuleID    = "module_id"
	keyDigest      = "digest"
	keyTimestamp   = "timestamp"
	keyPCRs        = "pcrs"
	keyCertificate = "certificate"
	keyCABundle    = "cabundle"
	keyPublicKey   = "public_key"
	keyUserData    = "user_data"
	keyNonce       = "nonce"
)

var payloadKeys = []string{
	keyModuleID, keyDigest, keyTimestamp, keyPCRs, keyCertificate, keyCABundle,
	keyPublicKey, keyUserData, keyNonce,
}

// RawDocument is the payload of a Nitro attestation document, field for field as it is on the
// wire. Decode fills it; MarshalPayload encodes it for the sim package.
type RawDocument struct {
	ModuleID string
	// Digest names the PCR hash; Nitro documents say "SHA384".
	Digest string
	// Timestamp is milliseconds since the Unix epoch.
	Timestamp uint64
	// PCRs maps a register index (0..31) to its value (32, 48 or 64 bytes).
	PCRs map[int][]byte
	// Certificate is the DER of the certificate whose key signed the document.
	Certificate []byte
	// CABundle holds DER certificates; CABundle[0] is the root, the last one issued the
	// leaf Certificate.
	CABundle [][]byte
	// PublicKey, UserData and Nonce are what the enclave asked to attest; nil encodes as
	// CBOR null, as the NSM does for an absent value.
	PublicKey []byte
	UserData  []byte
	Nonce     []byte
}

// Envelope is a COSE_Sign1 message as it is on the wire: the serialized protected header,
// the payload and the signature. The unprotected header is not kept: nothing in it is signed.
type Envelope struct {
	Protected []byte
	Payload   []byte
	Signature []byte
}

// codecModes are the CBOR decoding and encoding modes every document goes through.
type codecModes struct {
	dec cbor.DecMode
	enc cbor.EncMode
}

// modes builds the CBOR modes once. Building from constant options cannot fail in practice;
// the error is still returned rather than panicking.
var modes = sync.OnceValues(func() (*codecModes, error) {
	dec, err := cbor.DecOptions{
		DupMapKey:          cbor.DupMapKeyEnforcedAPF,
		IndefLength:        cbor.IndefLengthForbidden,
		TagsMd:             cbor.TagsForbidden,
		MaxNestedLevels:    maxNestedLevels,
		MaxArrayElements:   maxArrayElements,
		MaxMapPairs:        maxMapPairs,
		DefaultMapType:     reflect.TypeOf(map[any]any(nil)),
		UTF8:               cbor.UTF8RejectInvalid,
		ByteStringToString: cbor.ByteStringToStringForbidden,
		FieldNameMatching:  cbor.FieldNameMatchingCaseSensitive,
		NaN:                cbor.NaNDecodeForbidden,
		Inf:                cbor.InfDecodeForbidden,
		ExtraReturnErrors:  cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("build CBOR decoder: %w", err)
	}
	encOpts := cbor.CoreDetEncOptions()
	encOpts.IndefLength = cbor.IndefLengthForbidden
	encOpts.TagsMd = cbor.TagsForbidden
	// A nil byte string must encode as h'' where COSE requires a bstr; optional payload
	// fields that should be null are passed as an untyped nil instead.
	encOpts.NilContainers = cbor.NilContainerAsEmpty
	enc, err := encOpts.EncMode()
	if err != nil {
		return nil, fmt.Errorf("build CBOR encoder: %w", err)
	}
	return &codecModes{dec: dec, enc: enc}, nil
})

// fail wraps sentinel with a description of exactly what was wrong.
func fail(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)
}

func malformedf(format string, args ...any) error {
	return fail(attestation.ErrMalformed, format, args...)
}

// Decode parses a Nitro attestation document strictly: a COSE_Sign1 whose protected header is
// exactly {1: -35} (ES384) and whose signature is 96 bytes, carrying a payload with exactly the
// Nitro fields. Duplicate map keys, tags (other than an outer tag 18), floats where integers
// belong and indefinite lengths are refused, except for the payload's outer map, which the NSM
// itself encodes with indefinite length. It checks no signature, certificate or freshness: that
// is the Verifier's job. Every error wraps attestation.ErrMalformed.
func Decode(doc []byte) (*Envelope, *RawDocument, error) {
	env, raw, err := decode(doc)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSignatureSize(env.Signature); err != nil {
		return nil, nil, err
	}
	return env, raw, nil
}

// decode is Decode without the signature-length check: the Verifier checks the leaf key
// first, because a signature of the wrong length from, say, a P-521 leaf is best reported as
// the wrong leaf key it is.
func decode(doc []byte) (*Envelope, *RawDocument, error) {
	if len(doc) > attestation.MaxDocumentSize {
		return nil, nil, malformedf("document is %d bytes, more than the %d allowed", len(doc), attestation.MaxDocumentSize)
	}
	m, err := modes()
	if err != nil {
		return nil, nil, malformedf("%v", err)
	}
	env, err := decodeEnvelope(m, doc)
	if err != nil {
		return nil, nil, err
	}
	raw, err := decodePayload(m, env.Payload)
	if err != nil {
		return nil, nil, err
	}
	return env, raw, nil
}

func checkSignatureSize(sig []byte) error {
	if len(sig) != signatureSize {
		return malformedf("signature is %d bytes, want %d (ES384 r||s)", len(sig), signatureSize)
	}
	return nil
}

func majorType(b byte) byte { return b >> 5 }

// decodeEnvelope parses the COSE_Sign1 array, optionally under tag 18.
func decodeEnvelope(m *codecModes, doc []byte) (*Envelope, error) {
	if len(doc) == 0 {
		return nil, malformedf("document is empty")
	}
	body := doc
	if body[0] == tag18 {
		body = body[1:]
	}
	if len(body) == 0 {
		return nil, malformedf("document ends after its COSE_Sign1 tag")
	}
	if majorType(body[0]) != majorArray {
		return nil, malformedf("document is CBOR major type %d, want a COSE_Sign1 array (or tag 18)", majorType(body[0]))
	}
	var items []cbor.RawMessage
	if err := m.dec.Unmarshal(body, &items); err != nil {
		return nil, malformedf("COSE_Sign1: %v", err)
	}
	if len(items) != 4 {
		return nil, malformedf("COSE_Sign1 has %d elements, want 4", len(items))
	}
	protected, err := decodeBytes(m, items[0], "protected header")
	if err != nil {
		return nil, err
	}
	if err := checkProtected(m, protected); err != nil {
		return nil, err
	}
	if err := checkUnprotected(m, items[1]); err != nil {
		return nil, err
	}
	payload, err := decodeBytes(m, items[2], "payload")
	if err != nil {
		return nil, err
	}
	signature, err := decodeBytes(m, items[3], "signature")
	if err != nil {
		return nil, err
	}
	return &Envelope{Protected: protected, Payload: payload, Signature: signature}, nil
}

// checkProtected requires the protected header to be exactly {1: -35}: ES384 and nothing
// else, so no header parameter can change how the signature is read.
func checkProtected(m *codecModes, protected []byte) error {
	if len(protected) == 0 {
		return malformedf("protected header is empty, want {1: -35} (alg ES384)")
	}
	if majorType(protected[0]) != majorMap {
		return malformedf("protected header is CBOR major type %d, want a map", majorType(protected[0]))
	}
	var hdr map[int64]cbor.RawMessage
	if err := m.dec.Unmarshal(protected, &hdr); err != nil {
		return malformedf("protected header: %v", err)
	}
	alg, ok := hdr[labelAlg]
	if !ok {
		return malformedf("protected header has no alg (label 1), want {1: -35} (ES384)")
	}
	if len(hdr) != 1 {
		return malformedf("protected header has %d parameters, want only alg ES384", len(hdr))
	}
	if len(alg) == 0 || (majorType(alg[0]) != majorUint && majorType(alg[0]) != majorNegInt) {
		return malformedf("protected header alg is not an integer, want -35 (ES384)")
	}
	var id int64
	if err := m.dec.Unmarshal(alg, &id); err != nil {
		return malformedf("protected header alg: %v", err)
	}
	if id != algES384 {
		return malformedf("protected header alg is %d, want -35 (ES384)", id)
	}
	return nil
}

// checkUnprotected requires a map (Nitro sends an empty one) and decodes it so that duplicate
// labels and other malformations are refused even though nothing in it is used.
func checkUnprotected(m *codecModes, raw cbor.RawMessage) error {
	if len(raw) == 0 || majorType(raw[0]) != majorMap {
		return malformedf("unprotected header is not a map")
	}
	var hdr map[any]any
	if err := m.dec.Unmarshal(raw, &hdr); err != nil {
		return malformedf("unprotected header: %v", err)
	}
	return nil
}

// decodeBytes decodes a byte string, refusing any other kind of item. An empty byte string
// decodes to an empty, non-nil slice.
func decodeBytes(m *codecModes, raw cbor.RawMessage, what string) ([]byte, error) {
	if len(raw) == 0 || majorType(raw[0]) != majorBytes {
		return nil, malformedf("%s is %s, want a byte string", what, describeItem(raw))
	}
	var b []byte
	if err := m.dec.Unmarshal(raw, &b); err != nil {
		return nil, malformedf("%s: %v", what, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

func decodeText(m *codecModes, raw cbor.RawMessage, what string) (string, error) {
	if len(raw) == 0 || majorType(raw[0]) != majorText {
		return "", malformedf("%s is %s, want a text string", what, describeItem(raw))
	}
	var s string
	if err := m.dec.Unmarshal(raw, &s); err != nil {
		return "", malformedf("%s: %v", what, err)
	}
	return s, nil
}

func decodeUint(m *codecModes, raw cbor.RawMessage, what string) (uint64, error) {
	if len(raw) == 0 || majorType(raw[0]) != majorUint {
		return 0, malformedf("%s is %s, want an unsigned integer", what, describeItem(raw))
	}
	var u uint64
	if err := m.dec.Unmarshal(raw, &u); err != nil {
		return 0, malformedf("%s: %v", what, err)
	}
	return u, nil
}

// describeItem names the kind of a CBOR item for error messages.
func describeItem(raw cbor.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	if raw[0] == cborNull {
		return "null"
	}
	names := [...]string{"an unsigned integer", "a negative integer", "a byte string", "a text string", "an array", "a map", "a tagged item", "a simple value or float"}
	return names[majorType(raw[0])]
}

// payloadEntries splits the payload map into its entries. The NSM encodes the payload as an
// indefinite-length map (0xbf ... 0xff), so that one header is accepted; everything inside it
// is decoded with indefinite lengths refused.
func payloadEntries(m *codecModes, payload []byte) (map[string]cbor.RawMessage, error) {
	if len(payload) == 0 {
		return nil, malformedf("payload is empty")
	}
	if payload[0] == indefiniteMap {
		return indefiniteEntries(m, payload[1:])
	}
	if majorType(payload[0]) != majorMap {
		return nil, malformedf("payload is %s, want a map", describeItem(payload))
	}
	var entries map[string]cbor.RawMessage
	if err := m.dec.Unmarshal(payload, &entries); err != nil {
		return nil, malformedf("payload: %v", err)
	}
	return entries, nil
}

// indefiniteEntries reads the entries of an indefinite-length map whose header has been
// consumed, one strictly decoded key and value at a time, up to the break code.
func indefiniteEntries(m *codecModes, rest []byte) (map[string]cbor.RawMessage, error) {
	entries := make(map[string]cbor.RawMessage)
	for {
		if len(rest) == 0 {
			return nil, malformedf("payload map has no end (break code missing)")
		}
		if rest[0] == breakCode {
			rest = rest[1:]
			break
		}
		if len(entries) == maxMapPairs {
			return nil, malformedf("payload map has more than %d entries", maxMapPairs)
		}
		if majorType(rest[0]) != majorText {
			return nil, malformedf("payload key is %s, want a text string", describeItem(rest))
		}
		var key string
		var err error
		if rest, err = m.dec.UnmarshalFirst(rest, &key); err != nil {
			return nil, malformedf("payload key: %v", err)
		}
		if _, dup := entries[key]; dup {
			return nil, malformedf("payload key %q appears twice", key)
		}
		var value cbor.RawMessage
		if rest, err = m.dec.UnmarshalFirst(rest, &value); err != nil {
			return nil, malformedf("payload %s: %v", key, err)
		}
		entries[key] = value
	}
	if len(rest) != 0 {
		return nil, malformedf("payload has %d bytes after its map", len(rest))
	}
	return entries, nil
}

// decodePayload parses and checks every field of the payload map.
func decodePayload(m *codecModes, payload []byte) (*RawDocument, error) {
	entries, err := payloadEntries(m, payload)
	if err != nil {
		return nil, err
	}
	for _, key := range slices.Sorted(maps.Keys(entries)) {
		if !slices.Contains(payloadKeys, key) {
			return nil, malformedf("payload key %q is not a Nitro attestation document field", key)
		}
	}
	for _, key := range []string{keyModuleID, keyDigest, keyTimestamp, keyPCRs, keyCertificate, keyCABundle} {
		if _, ok := entries[key]; !ok {
			return nil, malformedf("payload has no %s", key)
		}
	}
	doc := &RawDocument{}
	if doc.ModuleID, err = decodeModuleID(m, entries[keyModuleID]); err != nil {
		return nil, err
	}
	if doc.Digest, err = decodeDigest(m, entries[keyDigest]); err != nil {
		return nil, err
	}
	if doc.Timestamp, err = decodeTimestamp(m, entries[keyTimestamp]); err != nil {
		return nil, err
	}
	if doc.PCRs, err = decodePCRs(m, entries[keyPCRs]); err != nil {
		return nil, err
	}
	if doc.Certificate, err = decodeCertificate(m, entries[keyCertificate], keyCertificate); err != nil {
		return nil, err
	}
	if doc.CABundle, err = decodeCABundle(m, entries[keyCABundle]); err != nil {
		return nil, err
	}
	if doc.PublicKey, err = decodeOptional(m, entries, keyPublicKey); err != nil {
		return nil, err
	}
	if doc.UserData, err = decodeOptional(m, entries, keyUserData); err != nil {
		return nil, err
	}
	if doc.Nonce, err = decodeOptional(m, entries, keyNonce); err != nil {
		return nil, err
	}
	return doc, nil
}

func decodeModuleID(m *codecModes, raw cbor.RawMessage) (string, error) {
	id, err := decodeText(m, raw, keyModuleID)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", malformedf("module_id is empty")
	}
	return id, nil
}

func decodeDigest(m *codecModes, raw cbor.RawMessage) (string, error) {
	digest, err := decodeText(m, raw, keyDigest)
	if err != nil {
		return "", err
	}
	if digest != digestSHA384 {
		return "", malformedf("digest is %q, want %q", digest, digestSHA384)
	}
	return digest, nil
}

func decodeTimestamp(m *codecModes, raw cbor.RawMessage) (uint64, error) {
	ms, err := decodeUint(m, raw, keyTimestamp)
	if err != nil {
		return 0, err
	}
	// time.UnixMilli takes an int64.
	if ms > math.MaxInt64 {
		return 0, malformedf("timestamp %d ms is out of range", ms)
	}
	return ms, nil
}

func validPCRSize(n int) bool { return n == 32 || n == 48 || n == 64 }

func decodePCRs(m *codecModes, raw cbor.RawMessage) (map[int][]byte, error) {
	if len(raw) == 0 || majorType(raw[0]) != majorMap {
		return nil, malformedf("pcrs is %s, want a map", describeItem(raw))
	}
	var entries map[uint64]cbor.RawMessage
	if err := m.dec.Unmarshal(raw, &entries); err != nil {
		return nil, malformedf("pcrs: %v", err)
	}
	if len(entries) == 0 {
		return nil, malformedf("pcrs is empty, want at least one register")
	}
	pcrs := make(map[int][]byte, len(entries))
	for _, index := range slices.Sorted(maps.Keys(entries)) {
		if index > maxPCRIndex {
			return nil, malformedf("pcrs has index %d, want 0..%d", index, maxPCRIndex)
		}
		value, err := decodeBytes(m, entries[index], fmt.Sprintf("PCR%d", index))
		if err != nil {
			return nil, err
		}
		if !validPCRSize(len(value)) {
			return nil, malformedf("PCR%d is %d bytes, want 32, 48 or 64", index, len(value))
		}
		pcrs[int(index)] = value
	}
	return pcrs, nil
}

func decodeCertificate(m *codecModes, raw cbor.RawMessage, what string) ([]byte, error) {
	der, err := decodeBytes(m, raw, what)
	if err != nil {
		return nil, err
	}
	if len(der) == 0 {
		return nil, malformedf("%s is empty", what)
	}
	return der, nil
}

func decodeCABundle(m *codecModes, raw cbor.RawMessage) ([][]byte, error) {
	if len(raw) == 0 || majorType(raw[0]) != majorArray {
		return nil, malformedf("cabundle is %s, want an array", describeItem(raw))
	}
	var items []cbor.RawMessage
	if err := m.dec.Unmarshal(raw, &items); err != nil {
		return nil, malformedf("cabundle: %v", err)
	}
	if len(items) == 0 {
		return nil, malformedf("cabundle is empty, want at least the root certificate")
	}
	bundle := make([][]byte, len(items))
	for i, item := range items {
		der, err := decodeCertificate(m, item, fmt.Sprintf("cabundle[%d]", i))
		if err != nil {
			return nil, err
		}
		bundle[i] = der
	}
	return bundle, nil
}

// decodeOptional decodes public_key, user_data or nonce: absent or null is nil, otherwise a
// byte string of at most 1024 bytes.
func decodeOptional(m *codecModes, entries map[string]cbor.RawMessage, key string) ([]byte, error) {
	raw, ok := entries[key]
	if !ok || (len(raw) == 1 && raw[0] == cborNull) {
		return nil, nil
	}
	b, err := decodeBytes(m, raw, key)
	if err != nil {
		return nil, err
	}
	if len(b) > maxOptionalField {
		return nil, malformedf("%s is %d bytes, more than %d", key, len(b), maxOptionalField)
	}
	return b, nil
}

// MarshalPayload encodes d as a Nitro payload map in deterministic CBOR (RFC 8949 core
// deterministic encoding). It encodes what it is given, so tests can build bad documents; Decode
// is what enforces the format. Nil PublicKey, UserData and Nonce encode as null.
func (d *RawDocument) MarshalPayload() ([]byte, error) {
	if d == nil {
		return nil, errors.New("marshal Nitro payload: nil document")
	}
	m, err := modes()
	if err != nil {
		return nil, err
	}
	pcrs := make(map[uint64][]byte, len(d.PCRs))
	for index, value := range d.PCRs {
		if index < 0 {
			return nil, fmt.Errorf("marshal Nitro payload: PCR index %d is negative", index)
		}
		pcrs[uint64(index)] = value
	}
	payload := map[string]any{
		keyModuleID:    d.ModuleID,
		keyDigest:      d.Digest,
		keyTimestamp:   d.Timestamp,
		keyPCRs:        pcrs,
		keyCertificate: d.Certificate,
		keyCABundle:    d.CABundle,
		keyPublicKey:   nullable(d.PublicKey),
		keyUserData:    nullable(d.UserData),
		keyNonce:       nullable(d.Nonce),
	}
	b, err := m.enc.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("marshal Nitro payload: %w", err)
	}
	return b, nil
}

// nullable turns a nil slice into an untyped nil, which encodes as CBOR null.
func nullable(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// ProtectedHeader returns the serialized protected header of every Nitro document: {1: -35},
// alg ES384.
func ProtectedHeader() []byte { return []byte{0xa1, 0x01, 0x38, 0x22} }

// SigStructure returns the bytes a COSE_Sign1 signature covers:
// ["Signature1", protected, external_aad, payload] with external_aad an empty byte string.
func SigStructure(protected, payload []byte) ([]byte, error) {
	m, err := modes()
	if err != nil {
		return nil, err
	}
	b, err := m.enc.Marshal([]any{"Signature1", nonNil(protected), []byte{}, nonNil(payload)})
	if err != nil {
		return nil, fmt.Errorf("encode COSE Sig_structure: %w", err)
	}
	return b, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Marshal encodes e as an untagged COSE_Sign1 array with an empty unprotected header, as the
// NSM does.
func (e *Envelope) Marshal() ([]byte, error) {
	if e == nil {
		return nil, errors.New("marshal COSE_Sign1: nil envelope")
	}
	m, err := modes()
	if err != nil {
		return nil, err
	}
	b, err := m.enc.Marshal([]any{nonNil(e.Protected), map[int]any{}, nonNil(e.Payload), nonNil(e.Signature)})
	if err != nil {
		return nil, fmt.Errorf("marshal COSE_Sign1: %w", err)
	}
	return b, nil
}

// Sign1 signs payload with key as a Nitro document: a COSE_Sign1 with protected header
// {1: -35} (ES384), signature r||s (48 bytes each) over the SHA-384 of the Sig_structure.
// key must be ECDSA P-384: anything else would not be ES384.
func Sign1(payload []byte, key *ecdsa.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, errors.New("sign COSE_Sign1: nil key")
	}
	if key.Curve != elliptic.P384() {
		return nil, fmt.Errorf("sign COSE_Sign1: key is %s, ES384 needs ECDSA P-384", describeKey(&key.PublicKey))
	}
	protected := ProtectedHeader()
	tbs, err := SigStructure(protected, payload)
	if err != nil {
		return nil, err
	}
	digest := sha512.Sum384(tbs)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("sign COSE_Sign1: %w", err)
	}
	sig := make([]byte, signatureSize)
	r.FillBytes(sig[:scalarSizeP384])
	s.FillBytes(sig[scalarSizeP384:])
	env := &Envelope{Protected: protected, Payload: payload, Signature: sig}
	return env.Marshal()
}
