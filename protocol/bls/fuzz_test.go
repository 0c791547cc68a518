package bls

import (
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	blst "github.com/supranational/blst/bindings/go"
)

func FuzzDecodePayload(f *testing.F) {
	nonce := make([]byte, nonceSize)
	f.Add(encodeCommitments(nonce, 1, []*blst.P1Affine{g1Mul(indexScalar(2)).ToAffine(), g1Mul(indexScalar(3)).ToAffine()}))
	f.Add(encodeShare(nonce, 1, 2, indexScalar(7)))
	f.Add(encodePartial(nonce, 1, hashToG2([]byte("seed"))))
	f.Add([]byte{})
	f.Add([]byte{payloadVersion, kindCommitments})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePayload(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		var again []byte
		switch m.kind {
		case kindCommitments:
			again = encodeCommitments(m.nonce[:], m.from, m.commitments)
		case kindShare:
			again = encodeShare(m.nonce[:], m.from, m.to, m.share)
		case kindPartial:
			again = encodePartial(m.nonce[:], m.from, m.partial)
		default:
			t.Fatalf("decoded unknown kind %d", m.kind)
		}
		if string(again) != string(b) {
			t.Fatalf("payload is not canonical: %x re-encodes to %x", b, again)
		}
	})
}

func FuzzDecodeShare(f *testing.F) {
	fx := getFixture(f, 3, 2)
	for _, s := range fx.shares {
		f.Add(s)
	}
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeShare(b)
		if err != nil {
			return
		}
		defer s.wipe()
		if _, err := s.encode(); err != nil {
			t.Fatalf("decoded share does not encode: %v", err)
		}
	})
}

// FuzzSignHandle feeds arbitrary payloads to a signing run: it may fail, never panic.
func FuzzSignHandle(f *testing.F) {
	fx := getFixture(f, 3, 2)
	f.Add([]byte{1, 3}, true)
	f.Add(encodePartial(make([]byte, nonceSize), 2, hashToG2([]byte("seed"))), true)
	f.Fuzz(func(t *testing.T, b []byte, broadcast bool) {
		runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("fuzz"), make([]byte, nonceSize))
		r := runs[1]
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		_ = r.Handle(2, broadcast, b)
	})
}
