// Package txtext decodes the text a transaction arrives in (SignRequest.Transaction): standard
// padded base64 or hex of the chain's binary format, at most chains.MaxTransactionBytes long
// before anything is decoded. Every error wraps chains.ErrInvalid and says what was expected.
//
// It decodes the text only: which encoding a chain uses, and the binary format inside, are the
// chain packages' business. It must never hold a key, do I/O, or hold anything
// chain-specific.
package txtext

import (
	"encoding/base64"
	"encoding/hex"

	"github.com/mpcsigner/mpcsigner/chains"
)

// Base64 decodes text, the standard padded base64 of a transaction in the format named of.
// Decoding is strict (non-zero padding bits are refused) but, as encoding/base64 does, skips
// line breaks, which wrapped text may have. Errors start with prefix (the chain's name).
func Base64(prefix, of, text string) ([]byte, error) {
	if err := checkSize(prefix, text); err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, chains.Invalid("%s: transaction is not standard padded base64 of %s: %v", prefix, of, err)
	}
	return b, nil
}

// Hex decodes text, the hex (either case, no 0x) of a transaction in the format named of.
// Errors start with prefix (the chain's name).
func Hex(prefix, of, text string) ([]byte, error) {
	if err := checkSize(prefix, text); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(text)
	if err != nil {
		return nil, chains.Invalid("%s: transaction is not hex of %s: %v", prefix, of, err)
	}
	return b, nil
}

// checkSize refuses text over chains.MaxTransactionBytes before it is decoded.
func checkSize(prefix, text string) error {
	if len(text) > chains.MaxTransactionBytes {
		return chains.Invalid("%s: transaction text is %d bytes, more than the %d allowed", prefix, len(text), chains.MaxTransactionBytes)
	}
	return nil
}
