package ethereum

import (
	"errors"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
)

var (
	// ErrInvalid is wrapped by every error about malformed or unacceptable input, so that a
	// front door can map all of them to one "bad request" answer. It is the chains package's
	// sentinel, so that every chain's input errors are one error to the host.
	ErrInvalid = chains.ErrInvalid
	// ErrChainID is wrapped (together with ErrInvalid) when a transaction names another
	// chain than the one the signer serves.
	ErrChainID = errors.New("chain id mismatch")
	// ErrSignature is wrapped when the SignFunc returned a signature that is malformed, not
	// low-S, or that does not recover to the requested address. It is not an input error:
	// it means the signing backend misbehaved.
	ErrSignature = chains.ErrSignature
)

// invalid builds an input error that names the field at fault.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// invalidErr is invalid for a lower-level error, kept in the chain for errors.Is.
func invalidErr(field string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalid, field, err)
}
