package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"log/slog"
)

// Sealed value layout: version | nonce | ciphertext+tag.
const (
	formatV1  = 1
	headerLen = 1
	nonceLen  = 12
	tagLen    = 16

	// Overhead is how many bytes Seal adds to a plaintext.
	Overhead = headerLen + nonceLen + tagLen
)

// AEAD seals values with AES-256-GCM under a data key. Each sealed value
// carries a version byte and a fresh random 96-bit nonce, so one key may seal
// up to 2^32 values before nonce reuse becomes a real risk.
//
// An AEAD is safe for concurrent use. Build it with NewAEAD.
type AEAD struct {
	gcm cipher.AEAD
}

// NewAEAD returns an AEAD using key, which must be KeySize bytes. The AEAD
// does not keep a reference to key; the caller may clear it afterwards.
func NewAEAD(key []byte) (*AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: data key is %d bytes, want %d: take it from a Sealer: %w",
			len(key), KeySize, ErrKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: build AES cipher: %w", err)
	}
	// The random-nonce GCM draws and prepends the nonce itself, so this
	// code never handles nonces and cannot reuse one.
	gcm, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: build AES-GCM: %w", err)
	}
	return &AEAD{gcm: gcm}, nil
}

// Seal encrypts and authenticates plaintext, binding it to aad (for a store,
// the record's name) so it opens only with the same aad. The result is
// version(1) | 12-byte nonce | ciphertext+tag.
//
// Seal returns nil on an AEAD not built by NewAEAD; Open rejects that.
func (a *AEAD) Seal(plaintext, aad []byte) []byte {
	if a == nil || a.gcm == nil {
		return nil
	}
	out := make([]byte, headerLen, headerLen+nonceLen+len(plaintext)+tagLen)
	out[0] = formatV1
	return a.gcm.Seal(out, nil, plaintext, boundAAD(formatV1, aad))
}

// Open checks and decrypts a value made by Seal with the same key and aad.
// Any failure, including an unknown version or a truncated value, returns an
// error wrapping ErrUnseal.
func (a *AEAD) Open(sealed, aad []byte) ([]byte, error) {
	if a == nil || a.gcm == nil {
		return nil, fmt.Errorf("seal: AEAD was not built by NewAEAD: %w", ErrUnseal)
	}
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("seal: sealed value is %d bytes, shorter than the %d-byte minimum: %w",
			len(sealed), Overhead, ErrUnseal)
	}
	if v := sealed[0]; v != formatV1 {
		return nil, fmt.Errorf("seal: sealed value has unknown format version %d, want %d: %w",
			v, formatV1, ErrUnseal)
	}
	plaintext, err := a.gcm.Open(nil, nil, sealed[headerLen:], boundAAD(formatV1, aad))
	if err != nil {
		// The cipher's own error says nothing more useful, and wrapping
		// only ErrUnseal keeps one thing to branch on.
		return nil, fmt.Errorf("seal: authentication failed: %w", ErrUnseal)
	}
	return plaintext, nil
}

// boundAAD prefixes aad with the format version so that the version byte,
// which travels in the clear, is authenticated too: a value cannot be
// relabelled as another format.
func boundAAD(version byte, aad []byte) []byte {
	out := make([]byte, 0, 1+len(aad))
	out = append(out, version)
	return append(out, aad...)
}

// String identifies the AEAD without revealing anything about its key.
func (a *AEAD) String() string { return "seal.AEAD(AES-256-GCM)" }

// Format keeps the cipher state (which holds the expanded key) out of every
// fmt verb.
func (a *AEAD) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// LogValue keeps the cipher state out of slog.
func (a *AEAD) LogValue() slog.Value { return slog.StringValue(a.String()) }
