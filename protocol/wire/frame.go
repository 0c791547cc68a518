package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// FrameType says what a frame's body holds.
type FrameType uint8

const (
	// FrameRequest carries a Request (host to enclave).
	FrameRequest FrameType = 1
	// FrameResponse carries a Response (enclave to host).
	FrameResponse FrameType = 2
	// FrameRelay carries a Relay (a party-to-party message in either direction).
	FrameRelay FrameType = 3
)

func (t FrameType) String() string {
	switch t {
	case FrameRequest:
		return "request"
	case FrameResponse:
		return "response"
	case FrameRelay:
		return "relay"
	}
	return "FrameType(" + strconv.Itoa(int(t)) + ")"
}

// known reports whether t is one of the frame types this version speaks.
func (t FrameType) known() bool {
	return t == FrameRequest || t == FrameResponse || t == FrameRelay
}

// MaxFrameBody is the largest frame body anyone writes, and the limit readers normally use.
// It bounds what a peer can make us allocate for one frame.
const MaxFrameBody = 1 << 20

// frameHeaderLen is the length field (4 bytes) plus the type byte.
const frameHeaderLen = 5

// Frame is one unit of a byte stream.
type Frame struct {
	Type FrameType
	Body []byte
}

// Validate reports whether f can be written: a known type and a body of at most
// MaxFrameBody bytes.
func (f Frame) Validate() error {
	if !f.Type.known() {
		return fmt.Errorf("cannot write a frame of type %d: %w", uint8(f.Type), ErrUnknownFrameType)
	}
	if len(f.Body) > MaxFrameBody {
		return frameTooLarge(int64(len(f.Body)), MaxFrameBody)
	}
	return nil
}

// WriteFrame writes f to w. Header and body go out in one Write call, so writers that share
// a stream under a mutex can never interleave their frames, even if one fails halfway.
// Nothing is written if f does not validate.
func WriteFrame(w io.Writer, f Frame) error {
	if err := f.Validate(); err != nil {
		return err
	}
	buf := make([]byte, frameHeaderLen+len(f.Body))
	binary.BigEndian.PutUint32(buf, uint32(1+len(f.Body)))
	buf[4] = byte(f.Type)
	copy(buf[frameHeaderLen:], f.Body)
	n, err := w.Write(buf)
	if err != nil {
		return fmt.Errorf("writing a %s frame: %w", f.Type, err)
	}
	if n != len(buf) {
		// Only a broken io.Writer does this; the stream is now out of step.
		return fmt.Errorf("writing a %s frame: wrote %d of %d bytes: %w", f.Type, n, len(buf), io.ErrShortWrite)
	}
	return nil
}

// ReadFrame reads one frame from r, refusing a body longer than maxBody (a negative maxBody
// is taken as 0) before allocating anything for it.
//
// It returns io.EOF, unwrapped, only when r ends exactly between frames. A stream that ends
// inside a frame gives ErrTruncated. A length of 0 gives ErrMalformed, a body over maxBody
// ErrFrameTooLarge, and an unknown type ErrUnknownFrameType; after any of these, and after
// any error from r, the stream is out of step and must be closed: no further frame can be
// trusted to start where ReadFrame stopped.
func ReadFrame(r io.Reader, maxBody int) (Frame, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Frame{}, io.EOF // no byte of a new frame: a clean end between frames
		}
		return Frame{}, readError("the frame length", err)
	}
	n := binary.BigEndian.Uint32(lenBuf[:])
	if n == 0 {
		return Frame{}, malformed("frame length 0 leaves no room for the type byte")
	}
	bodyLen := int64(n) - 1
	if bodyLen > int64(max(maxBody, 0)) {
		return Frame{}, frameTooLarge(bodyLen, max(maxBody, 0))
	}
	var typeBuf [1]byte
	if _, err := io.ReadFull(r, typeBuf[:]); err != nil {
		return Frame{}, readError("the frame type", err)
	}
	t := FrameType(typeBuf[0])
	if !t.known() {
		return Frame{}, fmt.Errorf("frame type %d: %w", typeBuf[0], ErrUnknownFrameType)
	}
	if bodyLen == 0 {
		return Frame{Type: t}, nil
	}
	body := make([]byte, bodyLen)
	if _, err := io.ReadFull(r, body); err != nil {
		return Frame{}, readError(fmt.Sprintf("a %d-byte %s frame body", bodyLen, t), err)
	}
	return Frame{Type: t, Body: body}, nil
}

// readError describes a failed read of part of a frame. Past the first byte of a frame, any
// end of stream is a truncation, whether io.ReadFull saw no bytes of this part or some.
func readError(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading %s: %w", what, ErrTruncated)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}
