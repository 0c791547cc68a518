package reshare

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Payload encoding, version 1. Every payload starts with a fixed header:
//
//	version (1 byte, = 1) | kind (1 byte) | session nonce (32 bytes) | sender (uint16, big-endian)
//
// followed by a body whose layout and exact size the kind fixes (points and scalars in the
// engine's encodings, Group.PointSize and Group.ScalarSize bytes):
//
//	KindDealing (broadcast, round 1):      count (uint16) = t' | count points (C_i0..C_i,t'-1)
//	KindSubshare (point-to-point, round 1): recipient (uint16) | scalar f_i(recipient) (secret)
//	KindEcho (broadcast, round 2):         SHA-256 digest of the sender's transcript
//
// The kinds are numbered apart from every engine's keygen and signing kinds, so that a payload
// of another kind of run is refused as an unknown kind. Decoding is strict: unknown versions
// and kinds, wrong lengths, trailing bytes, points the group refuses (non-canonical, the
// identity, outside the prime-order group), zero or out-of-range scalars are errors. Errors
// never quote payload bytes.
const (
	Version = 1

	KindDealing  byte = 0x21
	KindSubshare byte = 0x22
	KindEcho     byte = 0x23

	NonceSize  = 32
	HeaderSize = 2 + NonceSize + 2
	DigestSize = 32
)

// MaxPayloadSize is the largest payload a run over g with at most maxParties parties emits or
// accepts: the dealing of the largest new threshold.
func MaxPayloadSize[S, P any](g Group[S, P], maxParties int) int {
	return HeaderSize + 2 + maxParties*g.PointSize()
}

// Message is a decoded payload.
type Message[S, P any] struct {
	Kind  byte
	Nonce [NonceSize]byte
	From  protocol.PartyID

	Commitments []P    // KindDealing
	body        []byte // KindDealing: the body as received, which the transcript hashes

	To          protocol.PartyID // KindSubshare
	Subshare    S                // KindSubshare; secret
	hasSubshare bool

	Digest [DigestSize]byte // KindEcho
}

// Wipe zeroizes the subshare a decoded message may hold.
func (m *Message[S, P]) Wipe(g Group[S, P]) {
	if m != nil && m.hasSubshare {
		g.Wipe(m.Subshare)
		m.hasSubshare = false
	}
}

// KindName names a payload kind in errors.
func KindName(k byte) string {
	switch k {
	case KindDealing:
		return "reshare commitments"
	case KindSubshare:
		return "reshare subshare"
	case KindEcho:
		return "reshare transcript digest"
	}
	return fmt.Sprintf("kind %d", k)
}

// kindRound is the round of kind k, 0 for an unknown kind.
func kindRound(k byte) int {
	switch k {
	case KindDealing, KindSubshare:
		return 1
	case KindEcho:
		return 2
	}
	return 0
}

func payloadRound(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	return kindRound(b[1])
}

func broadcastKind(k byte) bool { return k != KindSubshare }

func appendHeader(b []byte, kind byte, nonce []byte, from protocol.PartyID) []byte {
	b = append(b, Version, kind)
	b = append(b, nonce...)
	return binary.BigEndian.AppendUint16(b, uint16(from))
}

// dealingBody encodes commitments as a KindDealing body.
func dealingBody[S, P any](g Group[S, P], cs []P) []byte {
	b := make([]byte, 0, 2+len(cs)*g.PointSize())
	b = binary.BigEndian.AppendUint16(b, uint16(len(cs)))
	for _, c := range cs {
		b = append(b, g.EncodePoint(c)...)
	}
	return b
}

// EncodeDealing encodes a dealer's commitments.
func EncodeDealing[S, P any](g Group[S, P], nonce []byte, from protocol.PartyID, cs []P) []byte {
	return append(appendHeader(nil, KindDealing, nonce, from), dealingBody(g, cs)...)
}

// EncodeSubshare encodes a subshare for party to; the payload holds a secret and must only
// travel on a confidential channel.
func EncodeSubshare[S, P any](g Group[S, P], nonce []byte, from, to protocol.PartyID, s S) []byte {
	b := make([]byte, 0, HeaderSize+2+g.ScalarSize())
	b = appendHeader(b, KindSubshare, nonce, from)
	b = binary.BigEndian.AppendUint16(b, uint16(to))
	secret := g.EncodeScalar(s)
	b = append(b, secret...)
	clear(secret)
	return b
}

// EncodeEcho encodes a new party's transcript digest.
func EncodeEcho(nonce []byte, from protocol.PartyID, digest [DigestSize]byte) []byte {
	b := make([]byte, 0, HeaderSize+DigestSize)
	b = appendHeader(b, KindEcho, nonce, from)
	return append(b, digest[:]...)
}

// Encode encodes m again (for tests that rewrite payloads, and to check that decoding is
// canonical). A subshare payload holds a secret.
func (m *Message[S, P]) Encode(g Group[S, P]) []byte {
	switch m.Kind {
	case KindDealing:
		return EncodeDealing(g, m.Nonce[:], m.From, m.Commitments)
	case KindSubshare:
		return EncodeSubshare(g, m.Nonce[:], m.From, m.To, m.Subshare)
	case KindEcho:
		return EncodeEcho(m.Nonce[:], m.From, m.Digest)
	}
	return nil
}

// Decode decodes and validates one payload of a run over g with at most maxParties parties.
// Its errors never quote payload bytes.
func Decode[S, P any](g Group[S, P], maxParties int, b []byte) (*Message[S, P], error) {
	switch {
	case len(b) > MaxPayloadSize(g, maxParties):
		return nil, fmt.Errorf("payload too large (%d bytes, limit %d)", len(b), MaxPayloadSize(g, maxParties))
	case len(b) < HeaderSize:
		return nil, fmt.Errorf("payload too short (%d bytes)", len(b))
	case b[0] != Version:
		return nil, fmt.Errorf("unsupported payload version %d (want %d)", b[0], Version)
	}
	m := &Message[S, P]{Kind: b[1], From: protocol.PartyID(binary.BigEndian.Uint16(b[2+NonceSize:]))}
	copy(m.Nonce[:], b[2:2+NonceSize])
	if m.From == 0 {
		return nil, errors.New("payload names party 0 as its sender")
	}
	body := b[HeaderSize:]
	var err error
	switch m.Kind {
	case KindDealing:
		err = m.decodeDealing(g, maxParties, body)
	case KindSubshare:
		err = m.decodeSubshare(g, body)
	case KindEcho:
		if len(body) != DigestSize {
			err = fmt.Errorf("body of %d bytes (want %d)", len(body), DigestSize)
		}
		copy(m.Digest[:], body)
	default:
		return nil, fmt.Errorf("unknown payload kind %d", m.Kind)
	}
	if err != nil {
		m.Wipe(g)
		return nil, fmt.Errorf("%s payload: %w", KindName(m.Kind), err)
	}
	return m, nil
}

func (m *Message[S, P]) decodeDealing(g Group[S, P], maxParties int, body []byte) error {
	if len(body) < 2 {
		return errors.New("truncated")
	}
	n := int(binary.BigEndian.Uint16(body))
	if n == 0 || n > maxParties {
		return fmt.Errorf("%d commitments (want 1 to %d)", n, maxParties)
	}
	size := g.PointSize()
	if len(body) != 2+n*size {
		return fmt.Errorf("%d bytes for %d commitments", len(body)-2, n)
	}
	m.Commitments = make([]P, n)
	for k := range m.Commitments {
		off := 2 + k*size
		c, err := g.DecodePoint(body[off : off+size])
		if err != nil {
			return fmt.Errorf("commitment %d: %w", k, err)
		}
		m.Commitments[k] = c
	}
	m.body = append([]byte(nil), body...)
	return nil
}

func (m *Message[S, P]) decodeSubshare(g Group[S, P], body []byte) error {
	if len(body) != 2+g.ScalarSize() {
		return fmt.Errorf("body of %d bytes (want %d)", len(body), 2+g.ScalarSize())
	}
	m.To = protocol.PartyID(binary.BigEndian.Uint16(body))
	if m.To == 0 {
		return errors.New("addressed to party 0")
	}
	s, err := g.DecodeScalar(body[2:])
	if err != nil {
		return fmt.Errorf("subshare: %w", err)
	}
	m.Subshare, m.hasSubshare = s, true
	return nil
}
