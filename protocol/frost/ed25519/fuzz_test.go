package ed25519

import (
	"bytes"
	"testing"

	"github.com/bytemare/ecc"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func pair(hiding, binding *ecc.Element) commitmentPair {
	var p commitmentPair
	copy(p[:elementSize], hiding.Encode())
	copy(p[elementSize:], binding.Encode())
	return p
}

func seedPayloads() [][]byte {
	nonce := make([]byte, nonceSize)
	b, b2 := group.Base(), group.Base().Multiply(scalarOf(2))
	return [][]byte{
		encodeDKGCommit(nonce, 1, []*ecc.Element{b, b2}, b2, scalarOf(3)),
		encodeDKGShare(nonce, 1, 2, scalarOf(7), make([][digestSize]byte, 3)),
		encodeCommitment(nonce, 1, b, b2),
		encodeSigShare(nonce, 1, scalarOf(9), []commitmentPair{pair(b, b2), pair(b2, b)}),
		{},
		{payloadVersion, kindSigShare},
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, p := range seedPayloads() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePayload(b)
		if err != nil {
			return
		}
		defer m.wipe()
		// Whatever decodes re-encodes to the same bytes.
		var again []byte
		switch m.kind {
		case kindDKGCommit:
			again = encodeDKGCommit(m.nonce[:], m.from, m.commitments, m.proofR, m.proofZ)
		case kindDKGShare:
			again = encodeDKGShare(m.nonce[:], m.from, m.to, m.share, m.digests)
		case kindCommitment:
			again = encodeCommitment(m.nonce[:], m.from, m.hiding, m.binding)
		case kindSigShare:
			again = encodeSigShare(m.nonce[:], m.from, m.sigShare, m.list)
		default:
			t.Fatalf("decoded unknown kind %d", m.kind)
		}
		if !bytes.Equal(again, b) {
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

// FuzzSignHandle feeds arbitrary payloads to a signing run after it has seen signer 2's
// commitments: it may fail, never panic.
func FuzzSignHandle(f *testing.F) {
	fx := getFixture(f, 3, 2)
	nonce := make([]byte, nonceSize)
	b, b2 := group.Base().Multiply(scalarOf(3)), group.Base().Multiply(scalarOf(4))
	com := encodeCommitment(nonce, 2, b, b2)
	f.Add(com, true)
	f.Add(encodeSigShare(nonce, 2, scalarOf(9), []commitmentPair{pair(b2, b), pair(b, b2)}), true)
	for _, p := range seedPayloads() {
		f.Add(p, true)
	}
	f.Fuzz(func(t *testing.T, payload []byte, broadcast bool) {
		r, err := Engine{}.Sign(protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 2), Share: fx.shares[1], Digest: protocoltest.DigestOf("fuzz"), SessionNonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		if err := r.Handle(2, true, com); err != nil {
			t.Fatal(err)
		}
		_ = r.Handle(2, broadcast, payload)
	})
}

// FuzzKeygenHandle feeds arbitrary payloads to a keygen run: it may fail, never panic.
func FuzzKeygenHandle(f *testing.F) {
	for _, p := range seedPayloads() {
		f.Add(p, true)
	}
	nonce := make([]byte, nonceSize)
	f.Fuzz(func(t *testing.T, payload []byte, broadcast bool) {
		r, err := Engine{}.Keygen(protocol.KeygenParams{Self: 1, Parties: partiesUpTo(2), Threshold: 2, SessionNonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		_ = r.Handle(protocol.PartyID(2), broadcast, payload)
	})
}
