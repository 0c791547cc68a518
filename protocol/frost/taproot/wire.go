package taproot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Payload encoding, version 1. Every payload starts with a fixed header:
//
//	version (1 byte, = 1) | kind (1 byte) | round (1 byte) | session nonce (32 bytes) | sender (uint16, big-endian)
//
// followed by a body whose layout and exact size the kind fixes (points are 33-byte compressed
// SEC1, scalars 32-byte big-endian below the group order and non-zero, "view" is the wrapped
// library's 64-byte hash of every round-1 broadcast the sender received, its own included):
//
//	kindKeygenCommit   (round 1, broadcast):      count (uint16) = t | t points (Feldman commitments to the
//	                                              sender's polynomial) | point, scalar (Schnorr proof of its
//	                                              constant term) | 64 bytes (commitment to a chaining value)
//	kindKeygenReveal   (round 2, broadcast):      view | 32 bytes (chaining value) | 32 bytes (its decommitment)
//	kindKeygenShare    (round 2, point-to-point): recipient (uint16) | view | scalar (the sender's polynomial at
//	                                              the recipient's index; secret)
//	kindNonceCommit    (round 1, broadcast):      point D | point E (the sender's nonce commitments)
//	kindSigShare       (round 2, broadcast):      list digest (32 bytes) | scalar z (the sender's signature share)
//
// The list digest is the tagged hash of the encoded nonce-commitment list the share was
// computed over (session.listDigest in frost.go): every signer compares it with its own, so
// that a signer shown other commitments than the others saw makes the run fail. Kinds 4 and 5
// are retired (the wrapped library's signing rounds, with other contents): they decode as
// unknown kinds, so that a signer running an older version fails the run at once, blamed.
//
// Decoding is strict: unknown versions and kinds, a round that is not the kind's, wrong lengths,
// trailing bytes, malformed points, out-of-range or zero scalars, all-zero chaining values and
// commitments are errors.
const (
	payloadVersion = 1

	kindKeygenCommit  byte = 1
	kindKeygenReveal  byte = 2
	kindKeygenShare   byte = 3
	kindNonceCommit   byte = 6
	kindSigShare      byte = 7
	nonceSize              = 32
	headerSize             = 3 + nonceSize + 2
	viewSize               = 64 // the library's hash of the round-1 broadcasts
	listDigestSize         = 32 // the hash of a signing's nonce-commitment list
	hashSize               = 64 // the commitment to a chaining value
	chainSize              = 32 // a chaining value and its decommitment
	keygenCommitFixed      = 2 + pointSize + scalarSize + hashSize
	keygenRevealSize       = viewSize + 2*chainSize
	keygenShareSize        = 2 + viewSize + scalarSize
	nonceCommitSize        = 2 * pointSize
	sigShareSize           = listDigestSize + scalarSize
	maxParties             = 256 // bounds n (and so t) for keygen runs and shares

	// MaxPayloadSize is the largest payload this package emits or accepts (the keygen
	// commitments for the largest threshold).
	MaxPayloadSize = headerSize + keygenCommitFixed + maxParties*pointSize
)

// message is a decoded payload. Its byte fields are validated encodings: the keygen kinds'
// points and scalars are passed on to the wrapped library as they are; the signing kinds also
// carry their decoded values, which signing computes with.
type message struct {
	kind  byte
	nonce [nonceSize]byte
	from  protocol.PartyID
	to    protocol.PartyID // kindKeygenShare
	view  []byte           // keygen kinds of round 2: the library's view; kindSigShare: the list digest

	// kindKeygenCommit
	coefficients    [][]byte // points
	proofCommitment []byte   // point
	proofResponse   []byte   // scalar
	chainCommitment []byte
	// kindKeygenReveal
	chainKey, decommitment []byte
	// kindKeygenShare
	share []byte // scalar; secret
	// kindNonceCommit
	hiding, binding           []byte // points D, E, encoded
	hidingPoint, bindingPoint *btcec.JacobianPoint
	// kindSigShare
	response []byte            // scalar z, encoded
	z        *btcec.ModNScalar // z, decoded
}

func kindName(k byte) string {
	switch k {
	case kindKeygenCommit:
		return "keygen commitments"
	case kindKeygenReveal:
		return "keygen reveal"
	case kindKeygenShare:
		return "keygen share"
	case kindNonceCommit:
		return "nonce commitments"
	case kindSigShare:
		return "signature share"
	}
	return fmt.Sprintf("kind %d", k)
}

// kindRound is the round in which payloads of kind k are sent (0 for an unknown kind).
func kindRound(k byte) int {
	switch k {
	case kindKeygenCommit, kindNonceCommit:
		return 1
	case kindKeygenReveal, kindKeygenShare, kindSigShare:
		return 2
	}
	return 0
}

// broadcastKind reports whether payloads of kind k must arrive by broadcast.
func broadcastKind(k byte) bool { return k != kindKeygenShare }

// keygenKind reports whether kind k belongs to keygen (otherwise to signing).
func keygenKind(k byte) bool { return k <= kindKeygenShare }

// payloadRound is the round of the kind a raw payload names, 0 if it names none: the round of
// an error about a payload that does not decode.
func payloadRound(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	return kindRound(b[1])
}

func appendHeader(b []byte, kind byte, nonce []byte, from protocol.PartyID) []byte {
	b = append(b, payloadVersion, kind, byte(kindRound(kind)))
	b = append(b, nonce...)
	return binary.BigEndian.AppendUint16(b, uint16(from))
}

// encode serializes m; m must be valid. A keygen share payload holds a secret and must only
// travel on a confidential channel.
func (m *message) encode() []byte {
	var b []byte
	switch m.kind {
	case kindKeygenCommit:
		b = make([]byte, 0, headerSize+keygenCommitFixed+len(m.coefficients)*pointSize)
		b = appendHeader(b, m.kind, m.nonce[:], m.from)
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.coefficients)))
		for _, c := range m.coefficients {
			b = append(b, c...)
		}
		b = append(b, m.proofCommitment...)
		b = append(b, m.proofResponse...)
		b = append(b, m.chainCommitment...)
	case kindKeygenReveal:
		b = make([]byte, 0, headerSize+keygenRevealSize)
		b = appendHeader(b, m.kind, m.nonce[:], m.from)
		b = append(b, m.view...)
		b = append(b, m.chainKey...)
		b = append(b, m.decommitment...)
	case kindKeygenShare:
		b = make([]byte, 0, headerSize+keygenShareSize)
		b = appendHeader(b, m.kind, m.nonce[:], m.from)
		b = binary.BigEndian.AppendUint16(b, uint16(m.to))
		b = append(b, m.view...)
		b = append(b, m.share...)
	case kindNonceCommit:
		b = make([]byte, 0, headerSize+nonceCommitSize)
		b = appendHeader(b, m.kind, m.nonce[:], m.from)
		b = append(b, m.hiding...)
		b = append(b, m.binding...)
	case kindSigShare:
		b = make([]byte, 0, headerSize+sigShareSize)
		b = appendHeader(b, m.kind, m.nonce[:], m.from)
		b = append(b, m.view...)
		b = append(b, m.response...)
	}
	return b
}

// encodeNonceCommit is the round-1 payload of a signing: the sender's nonce commitments D, E
// (33 bytes each, compressed).
func encodeNonceCommit(nonce []byte, from protocol.PartyID, hiding, binding []byte) []byte {
	m := &message{kind: kindNonceCommit, from: from, hiding: hiding, binding: binding}
	copy(m.nonce[:], nonce)
	return m.encode()
}

// encodeSigShare is the round-2 payload of a signing: the digest of the commitment list the
// share was computed over, and the share.
func encodeSigShare(nonce []byte, from protocol.PartyID, listDigest []byte, z *btcec.ModNScalar) []byte {
	zb := z.Bytes()
	m := &message{kind: kindSigShare, from: from, view: listDigest, response: zb[:]}
	copy(m.nonce[:], nonce)
	return m.encode()
}

// wipe zeroizes the secret a message may hold.
func (m *message) wipe() { clear(m.share) }

// decodePayload decodes and validates one payload. Its errors never quote payload bytes. The
// decoded message does not alias b.
func decodePayload(b []byte) (*message, error) {
	switch {
	case len(b) > MaxPayloadSize:
		return nil, fmt.Errorf("payload too large (%d bytes, limit %d)", len(b), MaxPayloadSize)
	case len(b) < headerSize:
		return nil, fmt.Errorf("payload too short (%d bytes)", len(b))
	case b[0] != payloadVersion:
		return nil, fmt.Errorf("unsupported payload version %d (want %d)", b[0], payloadVersion)
	}
	b = bytes.Clone(b)
	m := &message{kind: b[1], from: protocol.PartyID(binary.BigEndian.Uint16(b[3+nonceSize:]))}
	copy(m.nonce[:], b[3:3+nonceSize])
	if kindRound(m.kind) == 0 {
		return nil, fmt.Errorf("unknown payload kind %d", m.kind)
	}
	if int(b[2]) != kindRound(m.kind) {
		return nil, fmt.Errorf("%s payload marked as round %d (it belongs to round %d)", kindName(m.kind), b[2], kindRound(m.kind))
	}
	if m.from == 0 {
		return nil, errors.New("payload names party 0 as its sender")
	}
	var err error
	body := b[headerSize:]
	switch m.kind {
	case kindKeygenCommit:
		err = m.decodeKeygenCommit(body)
	case kindKeygenReveal:
		err = m.decodeKeygenReveal(body)
	case kindKeygenShare:
		err = m.decodeKeygenShare(body)
	case kindNonceCommit:
		err = m.decodeNonceCommit(body)
	case kindSigShare:
		err = m.decodeSigShare(body)
	}
	if err != nil {
		m.wipe()
		return nil, fmt.Errorf("%s payload: %w", kindName(m.kind), err)
	}
	return m, nil
}

// cut splits b into fields of the given sizes; it fails unless they add up to len(b) exactly.
func cut(b []byte, sizes ...int) ([][]byte, error) {
	total := 0
	for _, s := range sizes {
		total += s
	}
	if len(b) != total {
		return nil, fmt.Errorf("body of %d bytes (want %d)", len(b), total)
	}
	out := make([][]byte, len(sizes))
	for i, s := range sizes {
		out[i], b = b[:s:s], b[s:]
	}
	return out, nil
}

func checkPoint(what string, b []byte) error {
	if _, err := decodePoint(b); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func checkNonZero(what string, b []byte) error {
	for _, c := range b {
		if c != 0 {
			return nil
		}
	}
	return fmt.Errorf("%s is all zero", what)
}

func (m *message) decodeKeygenCommit(body []byte) error {
	if len(body) < 2 {
		return errors.New("truncated")
	}
	count := int(binary.BigEndian.Uint16(body))
	if count < 2 || count > maxParties {
		return fmt.Errorf("%d commitments (want 2 to %d)", count, maxParties)
	}
	sizes := make([]int, 0, count+4)
	sizes = append(sizes, 2)
	for range count {
		sizes = append(sizes, pointSize)
	}
	sizes = append(sizes, pointSize, scalarSize, hashSize)
	f, err := cut(body, sizes...)
	if err != nil {
		return err
	}
	m.coefficients = f[1 : 1+count]
	for k, c := range m.coefficients {
		if err := checkPoint(fmt.Sprintf("commitment %d", k), c); err != nil {
			return err
		}
	}
	m.proofCommitment, m.proofResponse, m.chainCommitment = f[1+count], f[2+count], f[3+count]
	if err := checkPoint("proof commitment", m.proofCommitment); err != nil {
		return err
	}
	if err := checkScalar(m.proofResponse); err != nil {
		return fmt.Errorf("proof response: %w", err)
	}
	return checkNonZero("chaining-value commitment", m.chainCommitment)
}

func (m *message) decodeKeygenReveal(body []byte) error {
	f, err := cut(body, viewSize, chainSize, chainSize)
	if err != nil {
		return err
	}
	m.view, m.chainKey, m.decommitment = f[0], f[1], f[2]
	if err := checkNonZero("chaining value", m.chainKey); err != nil {
		return err
	}
	return checkNonZero("decommitment", m.decommitment)
}

func (m *message) decodeKeygenShare(body []byte) error {
	f, err := cut(body, 2, viewSize, scalarSize)
	if err != nil {
		return err
	}
	m.to = protocol.PartyID(binary.BigEndian.Uint16(f[0]))
	m.view, m.share = f[1], f[2]
	if m.to == 0 {
		return errors.New("addressed to party 0")
	}
	if err := checkScalar(m.share); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	return nil
}

func (m *message) decodeNonceCommit(body []byte) error {
	f, err := cut(body, pointSize, pointSize)
	if err != nil {
		return err
	}
	m.hiding, m.binding = f[0], f[1]
	if m.hidingPoint, err = decodePoint(m.hiding); err != nil {
		return fmt.Errorf("nonce commitment D: %w", err)
	}
	if m.bindingPoint, err = decodePoint(m.binding); err != nil {
		return fmt.Errorf("nonce commitment E: %w", err)
	}
	return nil
}

func (m *message) decodeSigShare(body []byte) error {
	f, err := cut(body, listDigestSize, scalarSize)
	if err != nil {
		return err
	}
	m.view, m.response = f[0], f[1]
	if m.z, err = decodeScalar(m.response); err != nil {
		return fmt.Errorf("signature share: %w", err)
	}
	return nil
}
