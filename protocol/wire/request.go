package wire

import (
	"encoding/binary"
	"fmt"
)

// Request is one RPC from a host to its enclave.
type Request struct {
	// ID is chosen by the caller; the Response carries it back.
	ID uint64
	// Method names the operation: 1..MaxMethodLen characters from [a-z0-9._-].
	Method string
	// Body is the method's argument, possibly empty.
	Body []byte
}

// MaxMethodLen is the longest method name.
const MaxMethodLen = 64

// requestHeaderLen is the ID plus the method length byte.
const requestHeaderLen = 8 + 1

// Validate reports whether r can be encoded.
func (r *Request) Validate() error {
	if r == nil {
		return malformed("nil request")
	}
	return checkName("method", r.Method, MaxMethodLen, isMethodByte)
}

// Encode returns the encoding of r. If r does not validate it returns nil, which no decoder
// accepts: an invalid value never travels as some other, valid one. Call Validate first to
// learn why.
func (r *Request) Encode() []byte {
	if r.Validate() != nil {
		return nil
	}
	b := make([]byte, 0, requestHeaderLen+len(r.Method)+len(r.Body))
	b = binary.BigEndian.AppendUint64(b, r.ID)
	b = append(b, byte(len(r.Method)))
	b = append(b, r.Method...)
	return append(b, r.Body...)
}

// DecodeRequest decodes a request frame's body. The result shares no memory with b.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) < requestHeaderLen {
		return nil, malformed("request of %d bytes is shorter than its %d-byte header", len(b), requestHeaderLen)
	}
	r := &Request{ID: binary.BigEndian.Uint64(b)}
	method, rest, err := readName("method", b[8:], MaxMethodLen, isMethodByte)
	if err != nil {
		return nil, fmt.Errorf("request %d: %w", r.ID, err)
	}
	r.Method = method
	r.Body = cloneBytes(rest)
	return r, nil
}

// isMethodByte is the alphabet of method names: lowercase words joined by '.', '_' or '-'.
// Keeping it this small means a method can be logged and matched without escaping.
func isMethodByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
