package seal

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
)

// Static is an in-memory Sealer for tests and tools: it returns a copy of
// itself as the data key.
//
// It formats, logs and marshals as "[redacted]" so that printing a config
// struct that holds one does not leak the key.
type Static []byte

var _ Sealer = Static(nil)

// DataKey returns a copy of s, or an error wrapping ErrKeySize if s is not
// KeySize bytes.
func (s Static) DataKey(ctx context.Context) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, fmt.Errorf("seal: static data key: %w", err)
	}
	if len(s) != KeySize {
		return nil, fmt.Errorf("seal: static data key is %d bytes, want %d: build it from a %d-byte key: %w",
			len(s), KeySize, KeySize, ErrKeySize)
	}
	return bytes.Clone(s), nil
}

const redacted = "[redacted]"

// String keeps the key out of %s and %v.
func (Static) String() string { return redacted }

// GoString keeps the key out of %#v.
func (Static) GoString() string { return redacted }

// Format keeps the key out of every other verb (%x, %d, ...), which would
// otherwise print the bytes of the slice.
func (Static) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps the key out of slog, whose JSON handler would otherwise
// base64-encode the bytes.
func (Static) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps the key out of encoding/json and similar encoders.
func (Static) MarshalText() ([]byte, error) { return []byte(redacted), nil }
