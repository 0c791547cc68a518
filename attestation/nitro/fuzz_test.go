package nitro_test

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

// seedDocuments returns a genuine sim document and its indefinite-length and tagged variants
// (the indefinite-length payload map is what AWS's NSM emits).
func seedDocuments(t testing.TB, f *fixture) [][]byte {
	genuine := f.genuine(t)
	return [][]byte{
		genuine,
		append([]byte{0xd2}, genuine...),
		f.doc(t, sim.Tamper{EditPayload: asIndefinite(t)}),
	}
}

// FuzzVerify: no input may make Verify panic, and anything it accepts must have passed
// every check.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	for _, doc := range seedDocuments(f, fx) {
		f.Add(doc)
	}
	f.Add([]byte{})
	f.Add([]byte{0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x41, 0xa0, 0x40})
	v := verifierWith(f, []*x509.Certificate{fx.ca.Root(), otherCA(f).Root()}, fx.policy)
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := v.Verify(doc, fx.now)
		if err != nil {
			if got != nil {
				t.Fatalf("Verify returned a document with error %v", err)
			}
			return
		}
		if got.Kind != attestation.KindNitro || !bytes.Equal(got.Measurements[0], fx.pcrs[0]) {
			t.Fatalf("Verify accepted %+v", got)
		}
	})
}

// FuzzDecode: no input may make Decode panic, and whatever it decodes re-encodes to a
// payload that decodes to the same document.
func FuzzDecode(f *testing.F) {
	fx := newFixture(f)
	for _, doc := range seedDocuments(f, fx) {
		f.Add(doc)
	}
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, doc []byte) {
		env, raw, err := nitro.Decode(doc)
		if err != nil {
			return
		}
		payload, err := raw.MarshalPayload()
		if err != nil {
			t.Fatalf("MarshalPayload of a decoded document: %v", err)
		}
		again := &nitro.Envelope{Protected: env.Protected, Payload: payload, Signature: env.Signature}
		b, err := again.Marshal()
		if err != nil {
			t.Fatalf("Envelope.Marshal: %v", err)
		}
		_, raw2, err := nitro.Decode(b)
		if err != nil {
			t.Fatalf("re-encoded document does not decode: %v", err)
		}
		if diff := cmp.Diff(raw, raw2); diff != "" {
			t.Fatalf("re-encoded document decodes differently (-first +second):\n%s", diff)
		}
	})
}
