package wire

import (
	"encoding/binary"
	"strconv"
)

// Helpers shared by the message encodings.

// checkName validates a short name before it is encoded with a 1-byte length: 1..maxLen
// bytes, all allowed by ok.
func checkName(what, s string, maxLen int, ok func(byte) bool) error {
	if len(s) == 0 {
		return malformed("empty %s", what)
	}
	if len(s) > maxLen {
		return malformed("%s of %d bytes is longer than %d", what, len(s), maxLen)
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return malformed("%s %s has a forbidden byte %#02x at offset %d", what, strconv.Quote(s), s[i], i)
		}
	}
	return nil
}

// readName decodes a name written as a 1-byte length then the bytes, and returns the rest.
func readName(what string, b []byte, maxLen int, ok func(byte) bool) (name string, rest []byte, err error) {
	if len(b) < 1 {
		return "", nil, malformed("%s length missing", what)
	}
	n := int(b[0])
	if len(b)-1 < n {
		return "", nil, malformed("%s of %d bytes but only %d remain", what, n, len(b)-1)
	}
	name = string(b[1 : 1+n])
	if err := checkName(what, name, maxLen, ok); err != nil {
		return "", nil, err
	}
	return name, b[1+n:], nil
}

// readUint16 decodes a 2-byte big-endian integer and returns the rest.
func readUint16(what string, b []byte) (uint16, []byte, error) {
	if len(b) < 2 {
		return 0, nil, malformed("%s: need 2 bytes, have %d", what, len(b))
	}
	return binary.BigEndian.Uint16(b), b[2:], nil
}

// readUint32 decodes a 4-byte big-endian integer and returns the rest.
func readUint32(what string, b []byte) (uint32, []byte, error) {
	if len(b) < 4 {
		return 0, nil, malformed("%s: need 4 bytes, have %d", what, len(b))
	}
	return binary.BigEndian.Uint32(b), b[4:], nil
}

// cloneBytes copies b so a decoded value never aliases the caller's buffer, which may be
// reused for the next frame. Empty becomes nil, so every empty field decodes the same way.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
