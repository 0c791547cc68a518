// Package seal provides the 32-byte data key that seals an enclave's store,
// and the AEAD that uses it.
//
// A Sealer hands out the data key; KeyFile is the development Sealer that
// keeps the key in a private file, KMS the production one (an AWS KMS data key
// released only to an attested enclave; NewKMSClient reaches KMS through the
// host without trusting it), SEVSNP the one of an SEV-SNP CVM (a data key wrapped
// under a key the secure processor derives from the chip and the image's
// measurement), and Static is an in-memory test double. AEAD seals individual
// values under the data key.
//
// This package must never log key material or put it in an error: errors name
// files, modes and sizes, never bytes of a key.
package seal

import (
	"context"
	"errors"
)

// KeySize is the length in bytes of a data key (AES-256).
const KeySize = 32

// Sentinel errors that callers branch on. Returned errors wrap them with %w
// and add what was wrong and what to do about it.
var (
	// ErrUnseal means a sealed value could not be opened: it was sealed
	// under another key or for another record, or it was corrupted.
	ErrUnseal = errors.New("sealed value does not open: wrong key, wrong record, or corrupted")

	// ErrKeySize means an in-memory key is not KeySize bytes.
	ErrKeySize = errors.New("data key has the wrong size")

	// ErrInsecure means a file or directory holding secrets is not a
	// regular file or directory, or is accessible to group or others.
	ErrInsecure = errors.New("secret file or directory is not private")

	// ErrNotKeyFile means a key file exists but does not hold exactly one
	// data key.
	ErrNotKeyFile = errors.New("not a sealing key file")
)

// Sealer provides the data key that seals an enclave's store.
//
// Implementations must:
//   - return a fresh KeySize-byte slice on every call, which the caller owns
//     and may clear when done;
//   - return the same key on every call for the same enclave, since a
//     different key makes the existing store unreadable;
//   - honour ctx, which bounds any remote work (a KMS round trip with an
//     attestation document, for instance);
//   - never include key material in an error.
type Sealer interface {
	DataKey(ctx context.Context) ([]byte, error)
}

// ctxErr reports ctx's error, treating a nil ctx as never done so that a
// careless caller gets a key rather than a nil-pointer panic.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
