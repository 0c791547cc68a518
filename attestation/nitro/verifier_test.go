package nitro_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

func TestVerifyGenuine(t *testing.T) {
	f := newFixture(t)
	doc := f.genuine(t)
	got, err := f.verifier.Verify(doc, f.now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	_, raw, err := nitro.Decode(doc)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	leaf, err := x509.ParseCertificate(raw.Certificate)
	if err != nil {
		t.Fatalf("parse leaf: %v", err)
	}
	want := &attestation.Document{
		Kind:         attestation.KindNitro,
		ModuleID:     f.attester.ModuleID,
		Timestamp:    f.now,
		Measurements: f.pcrs,
		PublicKey:    attestedKey,
		UserData:     attestedData,
		Nonce:        attestedNonce,
		NotAfter:     leaf.NotAfter,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Verify returned (-want +got):\n%s", diff)
	}
	if !got.NotAfter.Equal(f.now.Add(sim.DefaultLeafLifetime).Truncate(time.Second)) {
		t.Errorf("NotAfter = %v, want the leaf's %v after %v", got.NotAfter, sim.DefaultLeafLifetime, f.now)
	}
	if f.verifier.Kind() != attestation.KindNitro {
		t.Errorf("Kind = %q", f.verifier.Kind())
	}
}

// The verifier attests the key in the document; whether it is the key a peer presents is the
// caller's binding check. This pins down that PublicKey is exactly the attested key.
func TestVerifyReturnsExactlyTheAttestedKey(t *testing.T) {
	f := newFixture(t)
	got, err := f.verifier.Verify(f.genuine(t), f.now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !bytes.Equal(got.PublicKey, attestedKey) {
		t.Fatalf("PublicKey = %q, want the attested %q", got.PublicKey, attestedKey)
	}
	if presented := []byte("another key"); bytes.Equal(got.PublicKey, presented) {
		t.Fatalf("PublicKey equals a key that was never attested")
	}
}

func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	genuine := f.genuine(t)
	env, _, err := nitro.Decode(genuine)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	withUnprotected, err := cbor.Marshal([]any{env.Protected, map[int][]byte{4: []byte("kid")}, env.Payload, env.Signature})
	if err != nil {
		t.Fatal(err)
	}
	withPCR8 := f.policy
	withPCR8.Measurements = map[int][]byte{0: f.pcrs[0], 8: f.pcrs[8]}
	cases := []struct {
		name     string
		doc      []byte
		verifier *nitro.Verifier
		at       time.Duration
	}{
		{name: "genuine", doc: genuine},
		{name: "under COSE_Sign1 tag 18", doc: append([]byte{0xd2}, genuine...)},
		{name: "indefinite-length payload map as the NSM emits it", doc: f.doc(t, sim.Tamper{EditPayload: asIndefinite(t)})},
		{name: "non-empty unprotected header", doc: withUnprotected},
		{name: "policy pinning PCR8", doc: genuine, verifier: verifierWith(t, []*x509.Certificate{f.ca.Root()}, withPCR8)},
		{name: "just under MaxAge", doc: genuine, at: nitro.DefaultMaxAge},
		{name: "just within ClockSkew", doc: genuine, at: -nitro.DefaultClockSkew},
		{name: "several pinned roots", doc: genuine, verifier: verifierWith(t, []*x509.Certificate{otherCA(t).Root(), otherCA(t).Root(), f.ca.Root()}, f.policy)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.verifier
			if v == nil {
				v = f.verifier
			}
			got, err := v.Verify(tc.doc, f.now.Add(tc.at))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got.PublicKey, attestedKey) || !bytes.Equal(got.UserData, attestedData) || !bytes.Equal(got.Nonce, attestedNonce) {
				t.Fatalf("Verify returned %+v", got)
			}
		})
	}
}

func TestVerifyEmptyOptionalFieldsAreNil(t *testing.T) {
	f := newFixture(t)
	doc, err := f.attester.Attest(t.Context(), nil, []byte{}, nil)
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	got, err := f.verifier.Verify(doc, f.now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.PublicKey != nil || got.UserData != nil || got.Nonce != nil {
		t.Fatalf("empty fields came back as %q %q %q, want nil", got.PublicKey, got.UserData, got.Nonce)
	}
}

func otherCA(t testing.TB) *sim.CA {
	t.Helper()
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func mustKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	other := otherCA(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 48)
	wrongPCR1 := bytes.Clone(f.pcrs[1])
	wrongPCR1[0] ^= 0xff
	requirePCR8 := f.policy
	requirePCR8.Measurements = map[int][]byte{0: f.pcrs[0], 8: pcr8()}
	onlyPCR8 := attestation.Policy{Measurements: map[int][]byte{8: pcr8()}}
	root := []*x509.Certificate{f.ca.Root()}

	cases := []struct {
		name     string
		tamper   sim.Tamper
		verifier *nitro.Verifier
		at       time.Duration
		want     error
		msg      string
	}{
		// Chain.
		{name: "untrusted root (another sim CA)", verifier: verifierWith(t, []*x509.Certificate{other.Root()}, f.policy),
			want: attestation.ErrChain, msg: "untrusted root: cabundle[0] (CN=mpcsigner sim attestation root - NOT A NITRO ENCLAVE) is not one of the 1 pinned"},
		{name: "AWS root pinned, sim document", verifier: verifierWith(t, []*x509.Certificate{otherCA(t).Root()}, f.policy),
			want: attestation.ErrChain, msg: "untrusted root"},
		{name: "pinned root with another CA's intermediate", tamper: sim.Tamper{CABundle: [][]byte{f.ca.Root().Raw, other.Intermediate().Raw}},
			want: attestation.ErrChain, msg: "does not chain to a pinned root"},
		{name: "intermediate missing from cabundle", tamper: sim.Tamper{CABundle: [][]byte{f.ca.Root().Raw}},
			want: attestation.ErrChain, msg: "does not chain to a pinned root"},
		{name: "expired leaf", tamper: sim.Tamper{LeafNotBefore: f.now.Add(-4 * time.Hour), LeafNotAfter: f.now.Add(-time.Hour)},
			want: attestation.ErrChain, msg: "leaf certificate (CN=mpcsigner sim enclave - NOT A NITRO ENCLAVE) expired at"},
		{name: "leaf not yet valid", tamper: sim.Tamper{LeafNotBefore: f.now.Add(time.Hour)},
			want: attestation.ErrChain, msg: "leaf certificate (CN=mpcsigner sim enclave - NOT A NITRO ENCLAVE) is not valid until"},
		{name: "root and intermediate expired", at: 11 * 365 * 24 * time.Hour, tamper: sim.Tamper{LeafNotAfter: f.now.Add(12 * 365 * 24 * time.Hour), Timestamp: f.now.Add(11 * 365 * 24 * time.Hour)},
			want: attestation.ErrChain, msg: "root certificate (cabundle[0]) (CN=mpcsigner sim attestation root - NOT A NITRO ENCLAVE) expired at"},
		{name: "P-521 leaf", tamper: sim.Tamper{LeafKey: mustKey(t, elliptic.P521())},
			want: attestation.ErrChain, msg: "leaf key is ECDSA P-521, want ECDSA P-384"},
		{name: "P-256 leaf", tamper: sim.Tamper{LeafKey: mustKey(t, elliptic.P256())},
			want: attestation.ErrChain, msg: "leaf key is ECDSA P-256, want ECDSA P-384"},
		{name: "RSA leaf", tamper: sim.Tamper{LeafKey: rsaKey},
			want: attestation.ErrChain, msg: "leaf key is RSA-2048, want ECDSA P-384"},
		{name: "Ed25519 leaf", tamper: sim.Tamper{LeafKey: edKey},
			want: attestation.ErrChain, msg: "leaf key is Ed25519, want ECDSA P-384"},

		// Signature.
		{name: "signature all zeros", tamper: sim.Tamper{EditSignature: func([]byte) []byte { return make([]byte, 96) }},
			want: attestation.ErrSignature, msg: "does not verify under the leaf certificate's key"},
		{name: "signature swapped r and s", tamper: sim.Tamper{EditSignature: func(s []byte) []byte { return append(bytes.Clone(s[48:]), s[:48]...) }},
			want: attestation.ErrSignature, msg: "does not verify"},
		{name: "signature 95 bytes", tamper: sim.Tamper{EditSignature: func(s []byte) []byte { return s[:95] }},
			want: attestation.ErrMalformed, msg: "signature is 95 bytes, want 96"},
		{name: "signature 97 bytes", tamper: sim.Tamper{EditSignature: func(s []byte) []byte { return append(s, 0) }},
			want: attestation.ErrMalformed, msg: "signature is 97 bytes, want 96"},

		// Measurements.
		{name: "wrong PCR1", tamper: sim.Tamper{PCRs: map[int][]byte{0: f.pcrs[0], 1: wrongPCR1, 2: f.pcrs[2]}},
			want: attestation.ErrMeasurement, msg: "PCR1 is " + hex.EncodeToString(wrongPCR1) + ", want " + hex.EncodeToString(f.pcrs[1])},
		{name: "PCR required by policy missing", tamper: sim.Tamper{PCRs: map[int][]byte{0: f.pcrs[0], 1: f.pcrs[1], 2: f.pcrs[2]}},
			verifier: verifierWith(t, root, requirePCR8), want: attestation.ErrMeasurement, msg: "PCR8 required by policy is not in the document"},
		{name: "debug mode, policy pins only PCR8", tamper: sim.Tamper{PCRs: map[int][]byte{0: zeros, 1: zeros, 2: zeros, 8: pcr8()}},
			verifier: verifierWith(t, root, onlyPCR8), want: attestation.ErrMeasurement, msg: "PCR0 is all zeros: debug-mode enclave"},
		{name: "debug mode, policy pins PCR0..2", tamper: sim.Tamper{PCRs: map[int][]byte{0: zeros, 1: zeros, 2: zeros}},
			want: attestation.ErrMeasurement, msg: "debug-mode enclave"},
		{name: "no PCR0", tamper: sim.Tamper{PCRs: map[int][]byte{8: pcr8()}}, verifier: verifierWith(t, root, onlyPCR8),
			want: attestation.ErrMeasurement, msg: "no PCR0"},

		// Freshness.
		{name: "older than MaxAge", at: nitro.DefaultMaxAge + time.Millisecond,
			want: attestation.ErrStale, msg: "old at"},
		{name: "timestamp 11 minutes old", tamper: sim.Tamper{Timestamp: f.now.Add(-11 * time.Minute)},
			want: attestation.ErrStale, msg: "11m0s old"},
		{name: "timestamp in the future", tamper: sim.Tamper{Timestamp: f.now.Add(2 * time.Minute)},
			want: attestation.ErrStale, msg: "2m0s in the future"},
		{name: "timestamp zero (1970)", tamper: sim.Tamper{EditPayload: replaceEntry(t, "timestamp", mustCBOR(t, 0))},
			want: attestation.ErrStale, msg: "1970-01-01T00:00:00Z"},

		// Codec.
		{name: "payload with an unknown key", tamper: sim.Tamper{EditPayload: addEntry(t, "zz_extra", mustCBOR(t, 1))},
			want: attestation.ErrMalformed, msg: `payload key "zz_extra" is not a Nitro attestation document field`},
		{name: "payload with duplicate keys", tamper: sim.Tamper{EditPayload: duplicateEntry(t, "digest", false)},
			want: attestation.ErrMalformed, msg: "duplicate map key"},
		{name: "indefinite payload with duplicate keys", tamper: sim.Tamper{EditPayload: duplicateEntry(t, "module_id", true)},
			want: attestation.ErrMalformed, msg: `payload key "module_id" appears twice`},
		{name: "wrong digest", tamper: sim.Tamper{Digest: "SHA256"},
			want: attestation.ErrMalformed, msg: `digest is "SHA256", want "SHA384"`},
		{name: "alg ES256", tamper: sim.Tamper{Protected: []byte{0xa1, 0x01, 0x26}},
			want: attestation.ErrMalformed, msg: "protected header alg is -7, want -35 (ES384)"},
		{name: "alg as text", tamper: sim.Tamper{Protected: mustCBOR(t, map[int]string{1: "ES384"})},
			want: attestation.ErrMalformed, msg: "alg is not an integer"},
		{name: "protected header with a second parameter", tamper: sim.Tamper{Protected: []byte{0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00}},
			want: attestation.ErrMalformed, msg: "protected header has 2 parameters"},
		{name: "protected header without alg", tamper: sim.Tamper{Protected: []byte{0xa1, 0x04, 0x41, 0x00}},
			want: attestation.ErrMalformed, msg: "protected header has no alg"},
		{name: "protected header empty", tamper: sim.Tamper{Protected: []byte{}},
			want: attestation.ErrMalformed, msg: "protected header is empty"},
		{name: "protected header with duplicate alg", tamper: sim.Tamper{Protected: []byte{0xa2, 0x01, 0x38, 0x22, 0x01, 0x38, 0x22}},
			want: attestation.ErrMalformed, msg: "duplicate map key"},
		{name: "cabundle empty", tamper: sim.Tamper{CABundle: [][]byte{}},
			want: attestation.ErrMalformed, msg: "cabundle is empty"},
		{name: "cabundle entry not a byte string", tamper: sim.Tamper{EditPayload: replaceEntry(t, "cabundle", mustCBOR(t, []any{1}))},
			want: attestation.ErrMalformed, msg: "cabundle[0] is an unsigned integer, want a byte string"},
		{name: "cabundle root not DER", tamper: sim.Tamper{EditPayload: replaceEntry(t, "cabundle", mustCBOR(t, [][]byte{{1, 2, 3}}))},
			want: attestation.ErrChain, msg: "untrusted root: cabundle[0] (not a certificate)"},
		{name: "certificate not DER", tamper: sim.Tamper{EditPayload: replaceEntry(t, "certificate", mustCBOR(t, []byte{0x30, 0x03, 0x02, 0x01, 0x01}))},
			want: attestation.ErrMalformed, msg: "leaf certificate does not parse"},
		{name: "certificate empty", tamper: sim.Tamper{EditPayload: replaceEntry(t, "certificate", mustCBOR(t, []byte{}))},
			want: attestation.ErrMalformed, msg: "certificate is empty"},
		{name: "module_id missing", tamper: sim.Tamper{EditPayload: removeEntry(t, "module_id")},
			want: attestation.ErrMalformed, msg: "payload has no module_id"},
		{name: "module_id empty", tamper: sim.Tamper{EditPayload: replaceEntry(t, "module_id", mustCBOR(t, ""))},
			want: attestation.ErrMalformed, msg: "module_id is empty"},
		{name: "module_id as bytes", tamper: sim.Tamper{EditPayload: replaceEntry(t, "module_id", mustCBOR(t, []byte("i-123")))},
			want: attestation.ErrMalformed, msg: "module_id is a byte string, want a text string"},
		{name: "timestamp negative", tamper: sim.Tamper{EditPayload: replaceEntry(t, "timestamp", mustCBOR(t, -1))},
			want: attestation.ErrMalformed, msg: "timestamp is a negative integer, want an unsigned integer"},
		{name: "timestamp as float", tamper: sim.Tamper{EditPayload: replaceEntry(t, "timestamp", mustCBOR(t, 1.5e12))},
			want: attestation.ErrMalformed, msg: "timestamp is a simple value or float"},
		{name: "timestamp beyond int64", tamper: sim.Tamper{EditPayload: replaceEntry(t, "timestamp", mustCBOR(t, uint64(1)<<63))},
			want: attestation.ErrMalformed, msg: "out of range"},
		{name: "timestamp under a time tag", tamper: sim.Tamper{EditPayload: replaceEntry(t, "timestamp", append([]byte{0xc1}, mustCBOR(t, f.now.Unix())...))},
			want: attestation.ErrMalformed, msg: "CBOR tag isn't allowed"},
		{name: "pcrs empty", tamper: sim.Tamper{PCRs: map[int][]byte{}},
			want: attestation.ErrMalformed, msg: "pcrs is empty"},
		{name: "pcrs index 32", tamper: sim.Tamper{PCRs: map[int][]byte{0: f.pcrs[0], 32: f.pcrs[1]}},
			want: attestation.ErrMalformed, msg: "pcrs has index 32, want 0..31"},
		{name: "pcrs value 47 bytes", tamper: sim.Tamper{PCRs: map[int][]byte{0: f.pcrs[0], 3: make([]byte, 47)}},
			want: attestation.ErrMalformed, msg: "PCR3 is 47 bytes, want 32, 48 or 64"},
		{name: "pcrs negative index", tamper: sim.Tamper{EditPayload: replaceEntry(t, "pcrs", mustCBOR(t, map[int][]byte{-1: f.pcrs[0]}))},
			want: attestation.ErrMalformed, msg: "pcrs:"},
		{name: "pcrs text index", tamper: sim.Tamper{EditPayload: replaceEntry(t, "pcrs", mustCBOR(t, map[string][]byte{"0": f.pcrs[0]}))},
			want: attestation.ErrMalformed, msg: "pcrs:"},
		{name: "pcrs duplicate index", tamper: sim.Tamper{EditPayload: replaceEntry(t, "pcrs", append([]byte{0xa2, 0x00}, append(mustCBOR(t, f.pcrs[0]), append([]byte{0x18, 0x00}, mustCBOR(t, f.pcrs[0])...)...)...))},
			want: attestation.ErrMalformed, msg: "duplicate map key"},
		{name: "pcrs value null", tamper: sim.Tamper{EditPayload: replaceEntry(t, "pcrs", []byte{0xa1, 0x00, 0xf6})},
			want: attestation.ErrMalformed, msg: "PCR0 is null, want a byte string"},
		{name: "public_key 1025 bytes", tamper: sim.Tamper{EditPayload: replaceEntry(t, "public_key", mustCBOR(t, make([]byte, 1025)))},
			want: attestation.ErrMalformed, msg: "public_key is 1025 bytes, more than 1024"},
		{name: "user_data as text", tamper: sim.Tamper{EditPayload: replaceEntry(t, "user_data", mustCBOR(t, "data"))},
			want: attestation.ErrMalformed, msg: "user_data is a text string, want a byte string"},
		{name: "nonce undefined", tamper: sim.Tamper{EditPayload: replaceEntry(t, "nonce", []byte{0xf7})},
			want: attestation.ErrMalformed, msg: "nonce is a simple value or float"},
		{name: "nested indefinite-length byte string", tamper: sim.Tamper{EditPayload: replaceEntry(t, "user_data", []byte{0x5f, 0x41, 'a', 0xff})},
			want: attestation.ErrMalformed, msg: "indefinite-length"},
		{name: "payload with trailing byte", tamper: sim.Tamper{EditPayload: func(p []byte) []byte { return append(p, 0x00) }},
			want: attestation.ErrMalformed, msg: "payload"},
		{name: "payload not a map", tamper: sim.Tamper{EditPayload: func([]byte) []byte { return mustCBOR(t, []int{1, 2}) }},
			want: attestation.ErrMalformed, msg: "payload is an array, want a map"},
		{name: "payload empty", tamper: sim.Tamper{EditPayload: func([]byte) []byte { return nil }},
			want: attestation.ErrMalformed, msg: "payload is empty"},
		{name: "indefinite payload without break", tamper: sim.Tamper{EditPayload: func(p []byte) []byte { return asIndefinite(t)(p)[:len(asIndefinite(t)(p))-1] }},
			want: attestation.ErrMalformed, msg: "break code missing"},
		{name: "indefinite payload with a byte-string key", tamper: sim.Tamper{EditPayload: func(p []byte) []byte {
			return append(append([]byte{0xbf}, mustCBOR(t, []byte("digest"))...), append(mustCBOR(t, "SHA384"), 0xff)...)
		}}, want: attestation.ErrMalformed, msg: "payload key is a byte string, want a text string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.verifier
			if v == nil {
				v = f.verifier
			}
			doc := f.doc(t, tc.tamper)
			got, err := v.Verify(doc, f.now.Add(tc.at))
			if got != nil {
				t.Errorf("Verify returned a document alongside error %v", err)
			}
			checkRejected(t, err, tc.want, tc.msg)
		})
	}
}

func TestVerifyRejectsEnvelopes(t *testing.T) {
	f := newFixture(t)
	genuine := f.genuine(t)
	env, _, err := nitro.Decode(genuine)
	if err != nil {
		t.Fatal(err)
	}
	oversized := append(bytes.Clone(genuine), make([]byte, attestation.MaxDocumentSize+1-len(genuine))...)
	cases := []struct {
		name string
		doc  []byte
		msg  string
	}{
		{name: "empty", doc: nil, msg: "document is empty"},
		{name: "oversized", doc: oversized, msg: "document is 32769 bytes, more than the 32768 allowed"},
		{name: "trailing byte", doc: append(bytes.Clone(genuine), 0), msg: "extraneous data"},
		{name: "only tag 18", doc: []byte{0xd2}, msg: "ends after its COSE_Sign1 tag"},
		{name: "tag 18 twice", doc: append([]byte{0xd2, 0xd2}, genuine...), msg: "document is CBOR major type 6"},
		{name: "tag 17 (COSE_Mac0)", doc: append([]byte{0xd1}, genuine...), msg: "document is CBOR major type 6"},
		{name: "tag 18 in two bytes", doc: append([]byte{0xd8, 0x12}, genuine...), msg: "major type 6"},
		{name: "map instead of array", doc: mustCBOR(t, map[int]int{1: 2}), msg: "document is CBOR major type 5"},
		{name: "array of 3", doc: mustCBOR(t, []any{env.Protected, map[int]int{}, env.Payload}), msg: "COSE_Sign1 has 3 elements, want 4"},
		{name: "array of 5", doc: mustCBOR(t, []any{env.Protected, map[int]int{}, env.Payload, env.Signature, []byte{}}), msg: "COSE_Sign1 has 5 elements, want 4"},
		{name: "protected header as map, not bstr", doc: mustCBOR(t, []any{map[int]int{1: -35}, map[int]int{}, env.Payload, env.Signature}), msg: "protected header is a map, want a byte string"},
		{name: "unprotected header as bstr", doc: mustCBOR(t, []any{env.Protected, []byte{}, env.Payload, env.Signature}), msg: "unprotected header is not a map"},
		{name: "unprotected header with duplicate labels", doc: append(append(append([]byte{0x84}, mustCBOR(t, env.Protected)...), 0xa2, 0x04, 0x40, 0x04, 0x40), append(mustCBOR(t, env.Payload), mustCBOR(t, env.Signature)...)...), msg: "duplicate map key"},
		{name: "payload null (detached)", doc: mustCBOR(t, []any{env.Protected, map[int]int{}, nil, env.Signature}), msg: "payload is null, want a byte string"},
		{name: "signature as text", doc: mustCBOR(t, []any{env.Protected, map[int]int{}, env.Payload, "sig"}), msg: "signature is a text string"},
		{name: "indefinite-length array", doc: append(append([]byte{0x9f}, genuine[1:]...), 0xff), msg: "indefinite-length"},
		{name: "deeply nested unprotected header", doc: mustCBOR(t, []any{env.Protected, map[int]any{4: []any{[]any{[]any{[]any{1}}}}}, env.Payload, env.Signature}), msg: "exceeded max nested level"},
		{name: "random bytes", doc: []byte("not a document at all"), msg: "document is CBOR major type 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.verifier.Verify(tc.doc, f.now)
			checkRejected(t, err, attestation.ErrMalformed, tc.msg)
		})
	}
}

// TestVerifyRejectsFlippedBytes flips one byte at several meaningful positions of a genuine
// document: the result must be refused as malformed or as badly signed.
func TestVerifyRejectsFlippedBytes(t *testing.T) {
	f := newFixture(t)
	doc := f.genuine(t)
	env, raw, err := nitro.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	index := func(what string, b []byte) int {
		i := bytes.Index(doc, b)
		if i < 0 {
			t.Fatalf("%s not found in document", what)
		}
		return i
	}
	positions := []struct {
		name string
		at   int
	}{
		{"array header", 0},
		{"protected header alg", index("protected header", env.Protected) + 3},
		{"payload length", index("payload", env.Payload) - 1},
		{"module_id", index("module_id", []byte(raw.ModuleID)) + 2},
		{"digest value", index("digest", []byte("SHA384")) + 3},
		{"timestamp", index("timestamp key", []byte("timestamp")) + len("timestamp") + 8},
		{"PCR0", index("PCR0", raw.PCRs[0]) + 10},
		{"PCR8", index("PCR8", raw.PCRs[8]) + 47},
		{"public_key", index("public_key", attestedKey)},
		{"user_data", index("user_data", attestedData) + 5},
		{"nonce", index("nonce", attestedNonce) + 30},
		{"pcrs map header", index("pcrs key", []byte("pcrs")) + 4},
		{"signature first byte", len(doc) - 96},
		{"signature last byte", len(doc) - 1},
	}
	for _, p := range positions {
		t.Run(p.name, func(t *testing.T) {
			tampered := bytes.Clone(doc)
			tampered[p.at] ^= 0x01
			_, err := f.verifier.Verify(tampered, f.now)
			if !errors.Is(err, attestation.ErrMalformed) && !errors.Is(err, attestation.ErrSignature) {
				t.Fatalf("flipping byte %d (%s): error %v, want ErrMalformed or ErrSignature", p.at, p.name, err)
			}
		})
	}
}

// TestVerifyRejectsEveryBitFlip flips the low bit of every byte of a genuine document: each
// must be refused with one of the sentinels, and none may panic.
func TestVerifyRejectsEveryBitFlip(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: one verification per byte")
	}
	f := newFixture(t)
	doc := f.genuine(t)
	sentinels := []error{attestation.ErrMalformed, attestation.ErrSignature, attestation.ErrChain, attestation.ErrMeasurement, attestation.ErrStale}
	for i := range doc {
		tampered := bytes.Clone(doc)
		tampered[i] ^= 0x01
		got, err := f.verifier.Verify(tampered, f.now)
		if err == nil {
			t.Fatalf("flipping byte %d: accepted %+v", i, got)
		}
		if !wrapsOneOf(err, sentinels) {
			t.Fatalf("flipping byte %d: error %v wraps no sentinel", i, err)
		}
	}
}

func wrapsOneOf(err error, sentinels []error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestVerifyRejectsEveryTruncation presents every proper prefix of a genuine document.
func TestVerifyRejectsEveryTruncation(t *testing.T) {
	f := newFixture(t)
	for _, doc := range [][]byte{f.genuine(t), append([]byte{0xd2}, f.genuine(t)...)} {
		for n := range len(doc) {
			_, err := f.verifier.Verify(doc[:n], f.now)
			if !errors.Is(err, attestation.ErrMalformed) {
				t.Fatalf("prefix of %d/%d bytes: error %v, want ErrMalformed", n, len(doc), err)
			}
		}
	}
}

func TestZeroVerifierRefuses(t *testing.T) {
	f := newFixture(t)
	var v nitro.Verifier
	_, err := v.Verify(f.genuine(t), f.now)
	checkRejected(t, err, attestation.ErrChain, "not built with NewVerifier")
	var nilVerifier *nitro.Verifier
	_, err = nilVerifier.Verify(f.genuine(t), f.now)
	checkRejected(t, err, attestation.ErrChain, "not built with NewVerifier")
}

func TestNewVerifierRefuses(t *testing.T) {
	f := newFixture(t)
	root := []*x509.Certificate{f.ca.Root()}
	cases := []struct {
		name   string
		roots  []*x509.Certificate
		policy attestation.Policy
		msg    string
	}{
		{name: "no roots", roots: nil, policy: f.policy, msg: "no trusted root"},
		{name: "nil root", roots: []*x509.Certificate{nil}, policy: f.policy, msg: "root 0 is empty"},
		{name: "no measurements", roots: root, policy: attestation.Policy{}, msg: "pins no measurement"},
		{name: "PCR index 32", roots: root, policy: attestation.Policy{Measurements: map[int][]byte{32: f.pcrs[0]}}, msg: "PCR32"},
		{name: "PCR index negative", roots: root, policy: attestation.Policy{Measurements: map[int][]byte{-1: f.pcrs[0]}}, msg: "PCR-1"},
		{name: "PCR value 20 bytes", roots: root, policy: attestation.Policy{Measurements: map[int][]byte{0: make([]byte, 20)}}, msg: "PCR0 is 20 bytes"},
		{name: "all-zero PCR0", roots: root, policy: attestation.Policy{Measurements: map[int][]byte{0: make([]byte, 48)}}, msg: "all-zero PCR0"},
		{name: "negative MaxAge", roots: root, policy: attestation.Policy{Measurements: f.policy.Measurements, MaxAge: -time.Second}, msg: "negative MaxAge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := nitro.NewVerifier(tc.roots, tc.policy)
			if err == nil {
				t.Fatalf("NewVerifier accepted, returned %v", v)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.msg)) {
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// The verifier copies its policy: changing the caller's map afterwards changes nothing.
func TestNewVerifierCopiesPolicy(t *testing.T) {
	f := newFixture(t)
	measurements := map[int][]byte{0: bytes.Clone(f.pcrs[0])}
	v := verifierWith(t, []*x509.Certificate{f.ca.Root()}, attestation.Policy{Measurements: measurements})
	measurements[0][0] ^= 0xff
	measurements[1] = make([]byte, 48)
	if _, err := v.Verify(f.genuine(t), f.now); err != nil {
		t.Fatalf("Verify after the caller changed its policy map: %v", err)
	}
}

func TestCustomFreshness(t *testing.T) {
	f := newFixture(t)
	policy := f.policy
	policy.MaxAge = time.Minute
	policy.ClockSkew = 5 * time.Second
	v := verifierWith(t, []*x509.Certificate{f.ca.Root()}, policy)
	doc := f.genuine(t)
	if _, err := v.Verify(doc, f.now.Add(59*time.Second)); err != nil {
		t.Fatalf("59s old with MaxAge 1m: %v", err)
	}
	_, err := v.Verify(doc, f.now.Add(61*time.Second))
	checkRejected(t, err, attestation.ErrStale, "more than MaxAge 1m0s")
	_, err = v.Verify(doc, f.now.Add(-6*time.Second))
	checkRejected(t, err, attestation.ErrStale, "more than ClockSkew 5s")
}
