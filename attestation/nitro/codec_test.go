package nitro_test

import (
	"bytes"
	"crypto/elliptic"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

func TestDecodeGenuine(t *testing.T) {
	f := newFixture(t)
	doc := f.genuine(t)
	env, raw, err := nitro.Decode(doc)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !bytes.Equal(env.Protected, nitro.ProtectedHeader()) || len(env.Signature) != 96 {
		t.Fatalf("envelope: protected %x, %d-byte signature", env.Protected, len(env.Signature))
	}
	want := &nitro.RawDocument{
		ModuleID:    f.attester.ModuleID,
		Digest:      "SHA384",
		Timestamp:   uint64(f.now.UnixMilli()),
		PCRs:        f.pcrs,
		Certificate: raw.Certificate,
		CABundle:    [][]byte{f.ca.Root().Raw, f.ca.Intermediate().Raw},
		PublicKey:   attestedKey,
		UserData:    attestedData,
		Nonce:       attestedNonce,
	}
	if diff := cmp.Diff(want, raw); diff != "" {
		t.Fatalf("Decode (-want +got):\n%s", diff)
	}
	// The encoder is deterministic: re-encoding what was decoded gives the signed bytes back.
	payload, err := raw.MarshalPayload()
	if err != nil {
		t.Fatalf("MarshalPayload: %v", err)
	}
	if !bytes.Equal(payload, env.Payload) {
		t.Fatal("MarshalPayload(Decode(doc)) differs from the signed payload")
	}
	again, err := env.Marshal()
	if err != nil {
		t.Fatalf("Envelope.Marshal: %v", err)
	}
	if !bytes.Equal(again, doc) {
		t.Fatal("Envelope.Marshal(Decode(doc)) differs from the document")
	}
}

// Decode alone checks the signature length (the Verifier checks the leaf key first).
func TestDecodeRefusesWrongSignatureLength(t *testing.T) {
	f := newFixture(t)
	doc := f.doc(t, sim.Tamper{LeafKey: mustKey(t, elliptic.P521())})
	_, _, err := nitro.Decode(doc)
	checkRejected(t, err, attestation.ErrMalformed, "signature is 132 bytes, want 96")
}

func TestMarshalPayloadNulls(t *testing.T) {
	raw := &nitro.RawDocument{ModuleID: "m", Digest: "SHA384", PCRs: map[int][]byte{0: make([]byte, 48)}}
	payload, err := raw.MarshalPayload()
	if err != nil {
		t.Fatalf("MarshalPayload: %v", err)
	}
	for _, key := range []string{"public_key", "user_data", "nonce"} {
		// text key followed by CBOR null
		if !bytes.Contains(payload, append(mustCBOR(t, key), 0xf6)) {
			t.Errorf("nil %s is not encoded as null in %x", key, payload)
		}
	}
}

func TestEncoderRefuses(t *testing.T) {
	if _, err := (&nitro.RawDocument{PCRs: map[int][]byte{-1: nil}}).MarshalPayload(); err == nil {
		t.Error("MarshalPayload accepted a negative PCR index")
	}
	if _, err := (*nitro.RawDocument)(nil).MarshalPayload(); err == nil {
		t.Error("MarshalPayload accepted a nil document")
	}
	if _, err := nitro.Sign1([]byte{0xa0}, nil); err == nil {
		t.Error("Sign1 accepted a nil key")
	}
	_, err := nitro.Sign1([]byte{0xa0}, mustKey(t, elliptic.P256()))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("ECDSA P-256")) {
		t.Errorf("Sign1 with a P-256 key: %v, want a refusal naming the key", err)
	}
	if _, err := (*nitro.Envelope)(nil).Marshal(); err == nil {
		t.Error("Envelope.Marshal accepted a nil envelope")
	}
}

func TestSigStructure(t *testing.T) {
	got, err := nitro.SigStructure([]byte{0xa1, 0x01, 0x38, 0x22}, []byte{0xa0})
	if err != nil {
		t.Fatal(err)
	}
	// ["Signature1", h'a1013822', h'', h'a0']
	want := append([]byte{0x84, 0x6a}, "Signature1"...)
	want = append(want, 0x44, 0xa1, 0x01, 0x38, 0x22, 0x40, 0x41, 0xa0)
	if !bytes.Equal(got, want) {
		t.Fatalf("SigStructure = %x, want %x", got, want)
	}
	if got, _ := nitro.SigStructure(nil, nil); !bytes.Equal(got, append(append([]byte{0x84, 0x6a}, "Signature1"...), 0x40, 0x40, 0x40)) {
		t.Fatalf("SigStructure(nil, nil) = %x: nil must encode as an empty byte string", got)
	}
}

func TestDecodeErrorsAreMalformed(t *testing.T) {
	for _, doc := range [][]byte{nil, {0x84}, {0xd2}, {0xf6}, bytes.Repeat([]byte{0x81}, 100)} {
		if _, _, err := nitro.Decode(doc); !errors.Is(err, attestation.ErrMalformed) {
			t.Errorf("Decode(%x): %v, want ErrMalformed", doc, err)
		}
	}
}
