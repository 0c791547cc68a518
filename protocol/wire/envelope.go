package wire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// SessionID names one protocol run across all its participants.
type SessionID [16]byte

// String returns the session ID as 32 lowercase hex digits.
func (s SessionID) String() string { return hex.EncodeToString(s[:]) }

// ParseSessionID parses the form String returns: exactly 32 lowercase hex digits. Uppercase
// is refused so that each session has one spelling, in logs as on the wire.
func ParseSessionID(s string) (SessionID, error) {
	var id SessionID
	if len(s) != 2*len(id) {
		return SessionID{}, malformed("session ID %s has %d characters, want %d", strconv.Quote(s), len(s), 2*len(id))
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return SessionID{}, malformed("session ID %s has a character other than 0-9 a-f at offset %d", strconv.Quote(s), i)
		}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return SessionID{}, malformed("session ID %s: %v", strconv.Quote(s), err)
	}
	return id, nil
}

// EnvelopeKind says what an Envelope's payload is.
type EnvelopeKind uint8

const (
	// KindProtocol carries one payload of a protocol run.
	KindProtocol EnvelopeKind = 1
	// KindAbort says the sender abandons the session; the payload is a UTF-8 reason of at
	// most MaxAbortReason bytes.
	KindAbort EnvelopeKind = 2
)

func (k EnvelopeKind) String() string {
	switch k {
	case KindProtocol:
		return "protocol"
	case KindAbort:
		return "abort"
	}
	return "EnvelopeKind(" + strconv.Itoa(int(k)) + ")"
}

// Envelope limits.
const (
	// MaxPayload is the largest envelope payload. It leaves room for the envelope header,
	// the Relay header and the Noise overhead within one MaxFrameBody frame.
	MaxPayload = MaxFrameBody - 256
	// MaxAbortReason is the longest reason an abort carries.
	MaxAbortReason = 1024
)

// envelopeVersion is the only version this package speaks; a new layout gets a new number
// so that old and new enclaves refuse each other instead of misreading.
const envelopeVersion = 1

// flagBroadcast marks the copy of a broadcast sent to one recipient.
const flagBroadcast = 1 << 0

// envelopeHeaderLen: version, kind, flags, session, round, from, to, payload length.
const envelopeHeaderLen = 1 + 1 + 1 + 16 + 2 + 2 + 2 + 4

// Envelope is the plaintext inside the Noise channel between two enclaves: one payload of
// one session, addressed to one party.
type Envelope struct {
	Kind    EnvelopeKind
	Session SessionID
	Round   uint16
	From    protocol.PartyID
	// To is the one recipient, even of a copy of a broadcast.
	To        protocol.PartyID
	Broadcast bool
	Payload   []byte
}

// Validate reports whether e can be encoded.
func (e *Envelope) Validate() error {
	if e == nil {
		return malformed("nil envelope")
	}
	if e.Kind != KindProtocol && e.Kind != KindAbort {
		return malformed("envelope kind %d is neither 1 (protocol) nor 2 (abort)", uint8(e.Kind))
	}
	if e.From == 0 {
		return malformed("envelope from party 0, which names no party")
	}
	if e.To == 0 {
		return malformed("envelope to party 0, which names no party")
	}
	if e.From == e.To {
		return malformed("envelope from %s to itself", e.From)
	}
	if len(e.Payload) > MaxPayload {
		return tooLarge("envelope payload", int64(len(e.Payload)), MaxPayload)
	}
	if e.Kind == KindAbort {
		return checkAbortReason(e.Payload)
	}
	return nil
}

// checkAbortReason checks an abort's payload: it is shown to operators, so it must be short
// readable text.
func checkAbortReason(p []byte) error {
	if len(p) > MaxAbortReason {
		return tooLarge("abort reason", int64(len(p)), MaxAbortReason)
	}
	if !utf8.Valid(p) {
		return malformed("abort reason is not valid UTF-8")
	}
	return nil
}

// Encode returns the encoding of e, or an error saying why e cannot be encoded
// (ErrFrameTooLarge for a payload over MaxPayload, ErrMalformed otherwise).
func (e *Envelope) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var flags byte
	if e.Broadcast {
		flags |= flagBroadcast
	}
	b := make([]byte, 0, envelopeHeaderLen+len(e.Payload))
	b = append(b, envelopeVersion, byte(e.Kind), flags)
	b = append(b, e.Session[:]...)
	b = binary.BigEndian.AppendUint16(b, e.Round)
	b = binary.BigEndian.AppendUint16(b, uint16(e.From))
	b = binary.BigEndian.AppendUint16(b, uint16(e.To))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Payload)))
	return append(b, e.Payload...), nil
}

// DecodeEnvelope decodes an envelope. The result shares no memory with b.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	if len(b) < envelopeHeaderLen {
		return nil, malformed("envelope of %d bytes is shorter than its %d-byte header", len(b), envelopeHeaderLen)
	}
	if b[0] != envelopeVersion {
		return nil, malformed("envelope version %d, want %d", b[0], envelopeVersion)
	}
	flags := b[2]
	if flags&^flagBroadcast != 0 {
		return nil, malformed("envelope flags %08b set bits other than broadcast", flags)
	}
	e := &Envelope{
		Kind:      EnvelopeKind(b[1]),
		Broadcast: flags&flagBroadcast != 0,
		Round:     binary.BigEndian.Uint16(b[19:]),
		From:      protocol.PartyID(binary.BigEndian.Uint16(b[21:])),
		To:        protocol.PartyID(binary.BigEndian.Uint16(b[23:])),
	}
	copy(e.Session[:], b[3:19])
	n := int64(binary.BigEndian.Uint32(b[25:]))
	payload := b[envelopeHeaderLen:]
	switch {
	case n > MaxPayload:
		return nil, tooLarge("envelope payload", n, MaxPayload)
	case n != int64(len(payload)):
		return nil, malformed("envelope payload length says %d bytes but %d follow", n, len(payload))
	}
	e.Payload = cloneBytes(payload)
	// The same checks as the encoder, so what decodes is exactly what encodes.
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("session %s: %w", e.Session, err)
	}
	return e, nil
}
