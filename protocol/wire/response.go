package wire

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Response answers one Request.
type Response struct {
	// ID is the ID of the Request answered.
	ID uint64
	// Err is set when the request failed; Body may still carry detail.
	Err *RemoteError
	// Body is the method's result, possibly empty.
	Body []byte
}

// RemoteError is a failure reported by the other side.
type RemoteError struct {
	// Code is what callers branch on: 1..MaxCodeLen characters from [a-z0-9_].
	Code string
	// Message is for people: valid UTF-8, at most MaxMessageLen bytes.
	Message string
	// Culprits are the parties blamed, at most MaxCulprits, none of them 0.
	Culprits []protocol.PartyID
}

// Limits of a RemoteError.
const (
	MaxCodeLen    = 64
	MaxMessageLen = 4096
	MaxCulprits   = 64
)

// Response status bytes.
const (
	statusOK    = 0
	statusError = 1
)

// responseHeaderLen is the ID plus the status byte.
const responseHeaderLen = 8 + 1

// Error returns "code: message", followed by the culprits if there are any, e.g.
// "protocol: sign failed (culprits: party 2)".
func (e *RemoteError) Error() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Culprits) > 0 {
		b.WriteString(" (culprits: ")
		for i, c := range e.Culprits {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.String())
		}
		b.WriteString(")")
	}
	return b.String()
}

// Validate reports whether e can be encoded.
func (e *RemoteError) Validate() error {
	if e == nil {
		return malformed("nil remote error")
	}
	if err := checkName("error code", e.Code, MaxCodeLen, isCodeByte); err != nil {
		return err
	}
	if len(e.Message) > MaxMessageLen {
		return tooLarge("error message", int64(len(e.Message)), MaxMessageLen)
	}
	if !utf8.ValidString(e.Message) {
		return malformed("error message is not valid UTF-8")
	}
	if len(e.Culprits) > MaxCulprits {
		return malformed("%d culprits is more than %d", len(e.Culprits), MaxCulprits)
	}
	for i, c := range e.Culprits {
		if c == 0 {
			return malformed("culprit %d is party 0, which names no party", i)
		}
	}
	return nil
}

// Validate reports whether r can be encoded.
func (r *Response) Validate() error {
	if r == nil {
		return malformed("nil response")
	}
	if r.Err != nil {
		if err := r.Err.Validate(); err != nil {
			return fmt.Errorf("response %d: %w", r.ID, err)
		}
	}
	return nil
}

// Encode returns the encoding of r. If r does not validate it returns nil, which no decoder
// accepts: an invalid value never travels as some other, valid one. Call Validate first to
// learn why.
func (r *Response) Encode() []byte {
	if r.Validate() != nil {
		return nil
	}
	b := make([]byte, 0, responseHeaderLen+r.errLen()+len(r.Body))
	b = binary.BigEndian.AppendUint64(b, r.ID)
	if r.Err == nil {
		b = append(b, statusOK)
	} else {
		b = append(b, statusError)
		b = r.Err.append(b)
	}
	return append(b, r.Body...)
}

// errLen is the encoded size of r.Err, to size the buffer once.
func (r *Response) errLen() int {
	if r.Err == nil {
		return 0
	}
	return 1 + len(r.Err.Code) + 2 + len(r.Err.Message) + 1 + 2*len(r.Err.Culprits)
}

// append appends the encoding of a validated e to b.
func (e *RemoteError) append(b []byte) []byte {
	b = append(b, byte(len(e.Code)))
	b = append(b, e.Code...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Message)))
	b = append(b, e.Message...)
	b = append(b, byte(len(e.Culprits)))
	for _, c := range e.Culprits {
		b = binary.BigEndian.AppendUint16(b, uint16(c))
	}
	return b
}

// DecodeResponse decodes a response frame's body. The result shares no memory with b.
func DecodeResponse(b []byte) (*Response, error) {
	if len(b) < responseHeaderLen {
		return nil, malformed("response of %d bytes is shorter than its %d-byte header", len(b), responseHeaderLen)
	}
	r := &Response{ID: binary.BigEndian.Uint64(b)}
	rest := b[responseHeaderLen:]
	switch status := b[8]; status {
	case statusOK:
	case statusError:
		e, after, err := decodeRemoteError(rest)
		if err != nil {
			return nil, fmt.Errorf("response %d: %w", r.ID, err)
		}
		r.Err, rest = e, after
	default:
		return nil, malformed("response %d: status %d is neither 0 (ok) nor 1 (error)", r.ID, status)
	}
	r.Body = cloneBytes(rest)
	return r, nil
}

// decodeRemoteError decodes the error part of a response and returns what follows it.
func decodeRemoteError(b []byte) (*RemoteError, []byte, error) {
	e := &RemoteError{}
	code, rest, err := readName("error code", b, MaxCodeLen, isCodeByte)
	if err != nil {
		return nil, nil, err
	}
	e.Code = code
	msgLen, rest, err := readUint16("error message length", rest)
	if err != nil {
		return nil, nil, err
	}
	if int(msgLen) > MaxMessageLen {
		return nil, nil, tooLarge("error message", int64(msgLen), MaxMessageLen)
	}
	if len(rest) < int(msgLen) {
		return nil, nil, malformed("error message of %d bytes but only %d remain", msgLen, len(rest))
	}
	if !utf8.Valid(rest[:msgLen]) {
		return nil, nil, malformed("error message is not valid UTF-8")
	}
	e.Message, rest = string(rest[:msgLen]), rest[msgLen:]
	culprits, rest, err := decodeCulprits(rest)
	if err != nil {
		return nil, nil, err
	}
	e.Culprits = culprits
	return e, rest, nil
}

// decodeCulprits decodes the culprit count and list, and returns what follows them.
func decodeCulprits(b []byte) ([]protocol.PartyID, []byte, error) {
	if len(b) < 1 {
		return nil, nil, malformed("culprit count missing")
	}
	n := int(b[0])
	if n > MaxCulprits {
		return nil, nil, malformed("%d culprits is more than %d", n, MaxCulprits)
	}
	rest := b[1:]
	if len(rest) < 2*n {
		return nil, nil, malformed("%d culprits need %d bytes but only %d remain", n, 2*n, len(rest))
	}
	var culprits []protocol.PartyID
	for i := range n {
		c := protocol.PartyID(binary.BigEndian.Uint16(rest[2*i:]))
		if c == 0 {
			return nil, nil, malformed("culprit %d is party 0, which names no party", i)
		}
		culprits = append(culprits, c)
	}
	return culprits, rest[2*n:], nil
}

// isCodeByte is the alphabet of error codes: lowercase words joined by '_', so a code reads
// the same in a log, a metric label and a switch.
func isCodeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}
