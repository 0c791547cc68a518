package wire

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Every error this package returns wraps at least one of them, together with
// what was wrong; callers branch with errors.Is.
var (
	// ErrTruncated means a stream ended in the middle of a frame. It wraps
	// io.ErrUnexpectedEOF, so code that already handles that keeps working.
	ErrTruncated = fmt.Errorf("wire: stream ended inside a frame: %w", io.ErrUnexpectedEOF)
	// ErrFrameTooLarge means a frame, or a length inside a message, is over its limit.
	ErrFrameTooLarge = errors.New("wire: too large")
	// ErrUnknownFrameType means a frame's type byte names no FrameType.
	ErrUnknownFrameType = errors.New("wire: unknown frame type")
	// ErrMalformed means bytes do not decode as what they were meant to be.
	ErrMalformed = errors.New("wire: malformed")
)

// malformed reports bytes that do not decode, saying why.
func malformed(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrMalformed)...)
}

// frameTooLarge reports a frame body over the limit of whoever writes or reads it.
func frameTooLarge(n int64, limit int) error {
	return fmt.Errorf("frame of %d bytes exceeds the %d-byte limit: %w", n, limit, ErrFrameTooLarge)
}

// tooLarge reports a length inside a message over its limit. Such a message also fails to
// decode, so it wraps ErrMalformed too: callers who only ask "did it decode?" check one
// sentinel.
func tooLarge(what string, n int64, limit int) error {
	return fmt.Errorf("%s of %d bytes exceeds the %d-byte limit: %w (%w)", what, n, limit, ErrFrameTooLarge, ErrMalformed)
}
