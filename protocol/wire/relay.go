package wire

import (
	"encoding/binary"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Relay is one opaque party-to-party message (Noise ciphertext) being carried between an
// enclave and a host, or between hosts. Whoever carries it can read From and To, nothing else.
type Relay struct {
	From, To protocol.PartyID
	Data     []byte
}

// relayHeaderLen is from, to and the data length.
const relayHeaderLen = 2 + 2 + 4

// MaxRelayData is the most data a Relay carries: what fits in one frame after its header.
const MaxRelayData = MaxFrameBody - relayHeaderLen

// Validate reports whether r can be encoded.
func (r *Relay) Validate() error {
	if r == nil {
		return malformed("nil relay")
	}
	if r.From == 0 {
		return malformed("relay from party 0, which names no party")
	}
	if r.To == 0 {
		return malformed("relay to party 0, which names no party")
	}
	if len(r.Data) == 0 {
		return malformed("relay with no data")
	}
	if len(r.Data) > MaxRelayData {
		return tooLarge("relay data", int64(len(r.Data)), MaxRelayData)
	}
	return nil
}

// Encode returns the encoding of r. If r does not validate it returns nil, which no decoder
// accepts: an invalid value never travels as some other, valid one. Call Validate first to
// learn why.
func (r *Relay) Encode() []byte {
	if r.Validate() != nil {
		return nil
	}
	b := make([]byte, 0, relayHeaderLen+len(r.Data))
	b = binary.BigEndian.AppendUint16(b, uint16(r.From))
	b = binary.BigEndian.AppendUint16(b, uint16(r.To))
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Data)))
	return append(b, r.Data...)
}

// DecodeRelay decodes a relay frame's body. The result shares no memory with b.
func DecodeRelay(b []byte) (*Relay, error) {
	if len(b) < relayHeaderLen {
		return nil, malformed("relay of %d bytes is shorter than its %d-byte header", len(b), relayHeaderLen)
	}
	r := &Relay{
		From: protocol.PartyID(binary.BigEndian.Uint16(b[0:])),
		To:   protocol.PartyID(binary.BigEndian.Uint16(b[2:])),
	}
	n := int64(binary.BigEndian.Uint32(b[4:]))
	data := b[relayHeaderLen:]
	switch {
	case n > MaxRelayData:
		return nil, tooLarge("relay data", n, MaxRelayData)
	case n != int64(len(data)):
		return nil, malformed("relay data length says %d bytes but %d follow", n, len(data))
	}
	r.Data = cloneBytes(data)
	// The same checks as the encoder, so what decodes is exactly what encodes.
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}
