package bls

import (
	"encoding/binary"
	"errors"
	"fmt"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Payload encoding, version 1. Every payload starts with a fixed header:
//
//	version (1 byte, = 1) | kind (1 byte) | session nonce (32 bytes) | sender (uint16, big-endian)
//
// followed by a body whose layout and exact size the kind fixes:
//
//	kindCommitments (broadcast, keygen): count (uint16) | count compressed G1 points
//	kindShare (point-to-point, keygen):  recipient (uint16) | 32-byte big-endian scalar (secret)
//	kindPartial (broadcast, sign):       one compressed G2 point
//
// Decoding is strict: unknown versions and kinds, wrong lengths, trailing bytes, points that
// are not in their subgroup (or are the identity) and scalars out of range are errors.
const (
	payloadVersion = 1

	kindCommitments byte = 1
	kindShare       byte = 2
	kindPartial     byte = 3

	nonceSize  = 32
	headerSize = 2 + nonceSize + 2

	// maxParties bounds n (and so t) for keygen runs and shares.
	maxParties = 256

	// MaxPayloadSize is the largest payload this package emits or accepts (commitments for
	// the largest threshold).
	MaxPayloadSize = headerSize + 2 + maxParties*PublicKeySize
)

// message is a decoded payload.
type message struct {
	kind  byte
	nonce [nonceSize]byte
	from  protocol.PartyID

	commitments []*blst.P1Affine // kindCommitments
	to          protocol.PartyID // kindShare
	share       *blst.Scalar     // kindShare; secret
	partial     *blst.P2Affine   // kindPartial
}

func kindName(k byte) string {
	switch k {
	case kindCommitments:
		return "commitments"
	case kindShare:
		return "share"
	case kindPartial:
		return "partial signature"
	}
	return fmt.Sprintf("kind %d", k)
}

// broadcastKind reports whether messages of kind k must arrive by broadcast.
func broadcastKind(k byte) bool { return k != kindShare }

func appendHeader(b []byte, kind byte, nonce []byte, from protocol.PartyID) []byte {
	b = append(b, payloadVersion, kind)
	b = append(b, nonce...)
	return binary.BigEndian.AppendUint16(b, uint16(from))
}

func encodeCommitments(nonce []byte, from protocol.PartyID, cs []*blst.P1Affine) []byte {
	b := make([]byte, 0, headerSize+2+len(cs)*PublicKeySize)
	b = appendHeader(b, kindCommitments, nonce, from)
	b = binary.BigEndian.AppendUint16(b, uint16(len(cs)))
	for _, c := range cs {
		b = append(b, c.Compress()...)
	}
	return b
}

// encodeShare encodes a dealt share; the payload holds a secret and must only travel on a
// confidential channel.
func encodeShare(nonce []byte, from, to protocol.PartyID, s *blst.Scalar) []byte {
	b := make([]byte, 0, headerSize+2+scalarSize)
	b = appendHeader(b, kindShare, nonce, from)
	b = binary.BigEndian.AppendUint16(b, uint16(to))
	secret := s.Serialize()
	b = append(b, secret...)
	clear(secret)
	return b
}

func encodePartial(nonce []byte, from protocol.PartyID, sig *blst.P2Affine) []byte {
	b := make([]byte, 0, headerSize+SignatureSize)
	b = appendHeader(b, kindPartial, nonce, from)
	return append(b, sig.Compress()...)
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
	case kindCommitments:
		m.commitments, err = decodeCommitmentsBody(body)
	case kindShare:
		m.to, m.share, err = decodeShareBody(body)
	case kindPartial:
		m.partial, err = decodePartialBody(body)
	default:
		return nil, fmt.Errorf("unknown payload kind %d", m.kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s payload: %w", kindName(m.kind), err)
	}
	return m, nil
}

func decodeCommitmentsBody(body []byte) ([]*blst.P1Affine, error) {
	if len(body) < 2 {
		return nil, errors.New("truncated")
	}
	count := int(binary.BigEndian.Uint16(body))
	if count == 0 || count > maxParties {
		return nil, fmt.Errorf("%d commitments (want 1 to %d)", count, maxParties)
	}
	if len(body) != 2+count*PublicKeySize {
		return nil, fmt.Errorf("%d bytes for %d commitments", len(body)-2, count)
	}
	cs := make([]*blst.P1Affine, count)
	for k := range cs {
		off := 2 + k*PublicKeySize
		c, err := decodeG1(body[off : off+PublicKeySize])
		if err != nil {
			return nil, fmt.Errorf("commitment %d: %w", k, err)
		}
		cs[k] = c
	}
	return cs, nil
}

func decodeShareBody(body []byte) (protocol.PartyID, *blst.Scalar, error) {
	if len(body) != 2+scalarSize {
		return 0, nil, fmt.Errorf("body of %d bytes (want %d)", len(body), 2+scalarSize)
	}
	to := protocol.PartyID(binary.BigEndian.Uint16(body))
	if to == 0 {
		return 0, nil, errors.New("addressed to party 0")
	}
	s, err := decodeScalar(body[2:])
	if err != nil {
		return 0, nil, err
	}
	return to, s, nil
}

func decodePartialBody(body []byte) (*blst.P2Affine, error) {
	return decodeG2(body)
}
