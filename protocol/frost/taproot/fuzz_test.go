package taproot

import (
	"bytes"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func FuzzDecodePayload(f *testing.F) {
	var nonce [nonceSize]byte
	view := bytes.Repeat([]byte{7}, viewSize)
	for _, m := range []*message{
		{kind: kindKeygenCommit, nonce: nonce, from: 1, coefficients: [][]byte{pointOf(2), pointOf(3)}, proofCommitment: pointOf(4), proofResponse: scalarOf(5), chainCommitment: bytes.Repeat([]byte{1}, hashSize)},
		{kind: kindKeygenReveal, nonce: nonce, from: 1, view: view, chainKey: scalarOf(6), decommitment: scalarOf(7)},
		{kind: kindKeygenShare, nonce: nonce, from: 1, to: 2, view: view, share: scalarOf(8)},
		{kind: kindNonceCommit, nonce: nonce, from: 1, hiding: pointOf(9), binding: pointOf(10)},
		{kind: kindSigShare, nonce: nonce, from: 1, view: bytes.Repeat([]byte{8}, listDigestSize), response: scalarOf(11)},
	} {
		f.Add(m.encode())
	}
	f.Add([]byte{})
	f.Add([]byte{payloadVersion, kindKeygenCommit, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePayload(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes; a keygen payload converts to the
		// library's content and back without loss, and a signing payload's decoded values
		// re-encode to its bytes.
		if again := m.encode(); !bytes.Equal(again, b) {
			t.Fatalf("payload is not canonical: %x re-encodes to %x", b, again)
		}
		switch m.kind {
		case kindNonceCommit:
			if !bytes.Equal(encodePoint(m.hidingPoint), m.hiding) || !bytes.Equal(encodePoint(m.bindingPoint), m.binding) {
				t.Fatal("decoded nonce commitments differ from their encoding")
			}
			return
		case kindSigShare:
			if z := m.z.Bytes(); !bytes.Equal(z[:], m.response) || !bytes.Equal(encodeSigShare(m.nonce[:], m.from, m.view, m.z), b) {
				t.Fatal("decoded signature share differs from its encoding")
			}
			return
		}
		data, err := m.libData()
		if err != nil {
			t.Fatal(err)
		}
		back := &message{kind: m.kind, nonce: m.nonce, from: m.from, to: m.to, view: m.view}
		if err := back.setContent(data); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.encode(), b) {
			t.Fatal("library content round trip differs")
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

// signSeeds returns a signing session's nonce and party 2's two payloads of a real run (with
// signers 1 and 2 of the 2-of-3 fixture), to seed the Handle fuzzers.
func signSeeds(f *testing.F) (nonce []byte, commit, response []byte) {
	fx := getFixture(f, 3, 2)
	nonce = make([]byte, nonceSize)
	runs := signRuns(f, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("fuzz"), nonce)
	for _, r := range runs {
		if err := r.Start(); err != nil {
			f.Fatal(err)
		}
		defer r.Abort(nil)
	}
	c1, c2 := nextPayload(f, runs[1]).Payload, nextPayload(f, runs[2]).Payload
	if err := runs[2].Handle(1, true, c1); err != nil {
		f.Fatal(err)
	}
	return nonce, c2, nextPayload(f, runs[2]).Payload
}

// FuzzSignHandle feeds two arbitrary payloads from party 2 to party 1's signing run: it may
// fail, never panic, and a failure is always a *protocol.Error.
func FuzzSignHandle(f *testing.F) {
	fx := getFixture(f, 3, 2)
	nonce, commit, response := signSeeds(f)
	f.Add(commit, response, true)
	f.Add(commit, commit, true)
	f.Add([]byte{1, kindNonceCommit, 1}, []byte{}, false)
	f.Add(commit, append(bytes.Clone(response[:3]), commit[3:]...), true)
	f.Add(response, commit, true)
	f.Fuzz(func(t *testing.T, first, second []byte, broadcast bool) {
		runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("fuzz"), nonce)
		r := runs[1]
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		for _, b := range [][]byte{first, second} {
			if err := r.Handle(2, broadcast, b); err != nil {
				protocoltest.ProtoErr(t, err)
				return
			}
		}
	})
}

// FuzzKeygenHandle feeds two arbitrary payloads from party 2 to party 1's keygen run, after
// party 3's genuine commitments: it may fail, never panic.
func FuzzKeygenHandle(f *testing.F) {
	nonce := make([]byte, nonceSize)
	runs := keygenRuns(f, 3, 2, nonce)
	for _, r := range runs {
		if err := r.Start(); err != nil {
			f.Fatal(err)
		}
	}
	c1, c2, c3 := nextPayload(f, runs[1]).Payload, nextPayload(f, runs[2]).Payload, nextPayload(f, runs[3]).Payload
	for _, err := range []error{runs[2].Handle(1, true, c1), runs[2].Handle(3, true, c3)} {
		if err != nil {
			f.Fatal(err)
		}
	}
	var reveal2, shareFor1 []byte
	for reveal2 == nil || shareFor1 == nil {
		o := nextPayload(f, runs[2])
		if o.Broadcast {
			reveal2 = o.Payload
		} else if o.To[0] == 1 {
			shareFor1 = o.Payload
		}
	}
	for _, r := range runs {
		r.Abort(nil)
	}
	f.Add(c2, reveal2, true)
	f.Add(c2, shareFor1, false)
	f.Add(reveal2, c2, true)
	f.Fuzz(func(t *testing.T, first, second []byte, broadcast bool) {
		r := keygenRuns(t, 3, 2, nonce)[1]
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		if err := r.Handle(3, true, c3); err != nil {
			t.Fatal(err)
		}
		for i, b := range [][]byte{first, second} {
			if err := r.Handle(2, broadcast || i == 0, b); err != nil {
				if pe := protocoltest.ProtoErr(t, err); len(pe.Culprits) > 1 || (len(pe.Culprits) == 1 && pe.Culprits[0] != protocol.PartyID(2)) {
					t.Fatalf("blames %v for party 2's payload: %v", pe.Culprits, pe)
				}
				return
			}
		}
	})
}
