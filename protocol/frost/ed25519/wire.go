package ed25519

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bytemare/ecc"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Payload encoding, version 1. Every payload starts with a fixed header:
//
//	version (1 byte, = 1) | kind (1 byte) | session nonce (32 bytes) | sender (uint16, big-endian)
//
// followed by a body whose layout and exact size the kind fixes (points are 32-byte RFC 8032
// encodings, scalars 32-byte little-endian, as RFC 9591 serializes them):
//
//	kindDKGCommit (broadcast, keygen round 1):
//	    count (uint16) | count points (Feldman commitments C_0..C_{t-1}) |
//	    proof R (point) | proof z (scalar)
//	kindDKGShare (point-to-point, keygen round 2):
//	    recipient (uint16) | share (scalar, secret) |
//	    count (uint16) | count SHA-256 digests of every party's round-1 body as the sender
//	    received it (its own included), in the order of the run's parties
//	kindCommitment (broadcast, sign round 1):
//	    hiding nonce commitment (point) | binding nonce commitment (point)
//	kindSigShare (broadcast, sign round 2):
//	    signature share (scalar) |
//	    count (uint16) | count (hiding, binding) point pairs: the commitment list the share was
//	    computed over, in the order of the run's signers (compared byte for byte with the
//	    receiver's own list, whose points it has checked; only entries that differ are decoded)
//
// Decoding is strict: unknown versions and kinds, wrong lengths, trailing bytes, non-canonical
// or identity points, points outside the prime-order subgroup, scalars not below the group
// order (and zero shares) are errors. Decoding never quotes payload bytes in an error.
const (
	payloadVersion = 1

	kindDKGCommit  byte = 1
	kindDKGShare   byte = 2
	kindCommitment byte = 3
	kindSigShare   byte = 4

	nonceSize  = 32
	headerSize = 2 + nonceSize + 2
	digestSize = 32

	// MaxPayloadSize is the largest payload this package emits or accepts (a signature share
	// of the largest signer set).
	MaxPayloadSize = headerSize + scalarSize + 2 + maxParties*2*elementSize
)

// message is a decoded payload.
type message struct {
	kind  byte
	nonce [nonceSize]byte
	from  protocol.PartyID

	// kindDKGCommit
	commitments []*ecc.Element
	proofR      *ecc.Element
	proofZ      *ecc.Scalar
	// kindDKGShare
	to      protocol.PartyID
	share   *ecc.Scalar // secret
	digests [][digestSize]byte
	// kindCommitment
	hiding, binding *point
	// kindSigShare
	sigShare *ecc.Scalar
	list     []commitmentPair // as sent: compared with this party's list, decoded only if they differ
}

// commitmentPair is one signer's encoded (hiding, binding) nonce commitments.
type commitmentPair [2 * elementSize]byte

func kindName(k byte) string {
	switch k {
	case kindDKGCommit:
		return "keygen commitments"
	case kindDKGShare:
		return "keygen share"
	case kindCommitment:
		return "nonce commitments"
	case kindSigShare:
		return "signature share"
	}
	return fmt.Sprintf("kind %d", k)
}

// kindRound is the protocol round (1 or 2) a kind belongs to, 0 for unknown kinds.
func kindRound(k byte) int {
	switch k {
	case kindDKGCommit, kindCommitment:
		return 1
	case kindDKGShare, kindSigShare:
		return 2
	}
	return 0
}

// payloadRound is the round of the kind a raw payload names, 0 if it names none.
func payloadRound(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	return kindRound(b[1])
}

// broadcastKind reports whether messages of kind k must arrive by broadcast.
func broadcastKind(k byte) bool { return k != kindDKGShare }

func appendHeader(b []byte, kind byte, nonce []byte, from protocol.PartyID) []byte {
	b = append(b, payloadVersion, kind)
	b = append(b, nonce...)
	return binary.BigEndian.AppendUint16(b, uint16(from))
}

// dkgCommitBody is the body of a kindDKGCommit payload: what every party's round-1 digest is
// computed over.
func dkgCommitBody(commitments []*ecc.Element, r *ecc.Element, z *ecc.Scalar) []byte {
	b := make([]byte, 0, 2+len(commitments)*elementSize+elementSize+scalarSize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(commitments)))
	for _, c := range commitments {
		b = append(b, c.Encode()...)
	}
	b = append(b, r.Encode()...)
	return append(b, z.Encode()...)
}

func encodeDKGCommit(nonce []byte, from protocol.PartyID, commitments []*ecc.Element, r *ecc.Element, z *ecc.Scalar) []byte {
	body := dkgCommitBody(commitments, r, z)
	b := make([]byte, 0, headerSize+len(body))
	b = appendHeader(b, kindDKGCommit, nonce, from)
	return append(b, body...)
}

// encodeDKGShare encodes a dealt share; the payload holds a secret and must only travel on a
// confidential channel.
func encodeDKGShare(nonce []byte, from, to protocol.PartyID, s *ecc.Scalar, digests [][digestSize]byte) []byte {
	b := make([]byte, 0, headerSize+2+scalarSize+2+len(digests)*digestSize)
	b = appendHeader(b, kindDKGShare, nonce, from)
	b = binary.BigEndian.AppendUint16(b, uint16(to))
	secret := s.Encode()
	b = append(b, secret...)
	clear(secret)
	b = binary.BigEndian.AppendUint16(b, uint16(len(digests)))
	for _, d := range digests {
		b = append(b, d[:]...)
	}
	return b
}

// serialized is a point or a scalar as RFC 9591 serializes it: an *ecc.Element, an
// *ecc.Scalar, or fixed bytes.
type serialized interface{ Encode() []byte }

// fixed is an already serialized point or scalar.
type fixed []byte

func (f fixed) Encode() []byte { return f }

func encodeCommitment(nonce []byte, from protocol.PartyID, hiding, binding serialized) []byte {
	b := make([]byte, 0, headerSize+2*elementSize)
	b = appendHeader(b, kindCommitment, nonce, from)
	b = append(b, hiding.Encode()...)
	return append(b, binding.Encode()...)
}

func encodeSigShare(nonce []byte, from protocol.PartyID, z serialized, list []commitmentPair) []byte {
	b := make([]byte, 0, headerSize+scalarSize+2+len(list)*2*elementSize)
	b = appendHeader(b, kindSigShare, nonce, from)
	b = append(b, z.Encode()...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(list)))
	for _, c := range list {
		b = append(b, c[:]...)
	}
	return b
}

// decodePayload decodes and validates one payload. Its errors never quote payload bytes.
func decodePayload(b []byte) (*message, error) {
	switch {
	case len(b) > MaxPayloadSize:
		return nil, fmt.Errorf("payload too large (%d bytes, limit %d)", len(b), MaxPayloadSize)
	case len(b) < headerSize:
		return nil, fmt.Errorf("payload too short (%d bytes)", len(b))
	case b[0] != payloadVersion:
		return nil, fmt.Errorf("unsupported payload version %d (want %d)", b[0], payloadVersion)
	}
	m := &message{kind: b[1], from: protocol.PartyID(binary.BigEndian.Uint16(b[2+nonceSize:]))}
	copy(m.nonce[:], b[2:2+nonceSize])
	if m.from == 0 {
		return nil, errors.New("payload names party 0 as its sender")
	}
	body := b[headerSize:]
	var err error
	switch m.kind {
	case kindDKGCommit:
		err = m.decodeDKGCommit(body)
	case kindDKGShare:
		err = m.decodeDKGShare(body)
	case kindCommitment:
		err = m.decodeCommitment(body)
	case kindSigShare:
		err = m.decodeSigShare(body)
	default:
		return nil, fmt.Errorf("unknown payload kind %d", m.kind)
	}
	if err != nil {
		m.wipe()
		return nil, fmt.Errorf("%s payload: %w", kindName(m.kind), err)
	}
	return m, nil
}

// wipe zeroizes the secret a decoded message may hold.
func (m *message) wipe() {
	if m.share != nil {
		m.share.Zero()
	}
}

// count reads a uint16 count in 1..maxParties and checks that exactly count items of size
// each follow it, plus tail bytes.
func count(body []byte, size, tail int) (int, error) {
	if len(body) < 2 {
		return 0, errors.New("truncated")
	}
	n := int(binary.BigEndian.Uint16(body))
	if n == 0 || n > maxParties {
		return 0, fmt.Errorf("count %d (want 1 to %d)", n, maxParties)
	}
	if len(body) != 2+n*size+tail {
		return 0, fmt.Errorf("%d bytes for %d items", len(body)-2, n)
	}
	return n, nil
}

func (m *message) decodeDKGCommit(body []byte) error {
	n, err := count(body, elementSize, elementSize+scalarSize)
	if err != nil {
		return err
	}
	m.commitments = make([]*ecc.Element, n)
	off := 2
	for k := range m.commitments {
		if m.commitments[k], err = decodeElement(body[off : off+elementSize]); err != nil {
			return fmt.Errorf("commitment %d: %w", k, err)
		}
		off += elementSize
	}
	if m.proofR, err = decodeElement(body[off : off+elementSize]); err != nil {
		return fmt.Errorf("proof R: %w", err)
	}
	off += elementSize
	if m.proofZ, err = decodeScalar(body[off:], false); err != nil {
		return fmt.Errorf("proof z: %w", err)
	}
	return nil
}

func (m *message) decodeDKGShare(body []byte) error {
	if len(body) < 2+scalarSize {
		return errors.New("truncated")
	}
	m.to = protocol.PartyID(binary.BigEndian.Uint16(body))
	if m.to == 0 {
		return errors.New("addressed to party 0")
	}
	var err error
	if m.share, err = decodeScalar(body[2:2+scalarSize], true); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	rest := body[2+scalarSize:]
	n, err := count(rest, digestSize, 0)
	if err != nil {
		return fmt.Errorf("digests: %w", err)
	}
	m.digests = make([][digestSize]byte, n)
	for k := range m.digests {
		copy(m.digests[k][:], rest[2+k*digestSize:])
	}
	return nil
}

func (m *message) decodeCommitment(body []byte) error {
	if len(body) != 2*elementSize {
		return fmt.Errorf("body of %d bytes (want %d)", len(body), 2*elementSize)
	}
	var err error
	if m.hiding, err = decodeSignPoint(body[:elementSize]); err != nil {
		return fmt.Errorf("hiding nonce commitment: %w", err)
	}
	if m.binding, err = decodeSignPoint(body[elementSize:]); err != nil {
		return fmt.Errorf("binding nonce commitment: %w", err)
	}
	return nil
}

func (m *message) decodeSigShare(body []byte) error {
	if len(body) < scalarSize {
		return errors.New("truncated")
	}
	var err error
	if m.sigShare, err = decodeScalar(body[:scalarSize], true); err != nil {
		return fmt.Errorf("signature share: %w", err)
	}
	rest := body[scalarSize:]
	n, err := count(rest, 2*elementSize, 0)
	if err != nil {
		return fmt.Errorf("commitment list: %w", err)
	}
	m.list = make([]commitmentPair, n)
	for k := range m.list {
		copy(m.list[k][:], rest[2+k*2*elementSize:])
	}
	return nil
}
