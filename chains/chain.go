// Package chains is the one shape every chain package has, so that the host can mount any of
// them behind the same two native endpoints (an address for a key, a signed transaction for an
// unsigned one) and the CLI can name them.
//
// A chain package (chains/solana, chains/cosmos, ...) knows everything chain-specific about
// one chain: how an address follows from a group public key, the exact bytes or digest the
// chain signs for a transaction in its standard unsigned format, how the signature is encoded
// into the signed transaction, and how to check it. It never holds a key: it asks a Signer,
// which is the threshold protocol behind the host, and verifies what comes back under the
// key's public key before it returns a signed transaction.
//
// This package must never hold chain-specific code, import a chain package, or import host or
// enclave; chain packages import it, not the other way round.
package chains

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// MaxTransactionBytes caps an unsigned transaction as submitted (in its text encoding): the
// largest standard transactions of the chains here are a few kilobytes.
const MaxTransactionBytes = 256 << 10

// ErrInvalid marks input that a chain refuses: a malformed address or transaction, a network
// the chain does not have, a key of a scheme the chain does not use, a transaction our key
// does not sign. Front doors map it to 400.
var ErrInvalid = errors.New("invalid input")

// ErrSignature marks a signature from the Signer that does not verify under its key: not an
// input error but a misbehaving backend. Front doors map it to 502.
var ErrSignature = errors.New("the signer's signature does not verify")

// Invalid returns an error wrapping ErrInvalid with a message that says what was wrong.
func Invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

// Signature is one signature made by a Signer. Sig is 64 bytes: r||s for ECDSA (s already in
// the lower half of the order), R||s for Ed25519 and BIP340. RecoveryID is ECDSA's (0-3).
type Signature struct {
	Sig        []byte
	RecoveryID int
}

// Signer signs with one threshold key.
type Signer interface {
	// Scheme is the key's scheme.
	Scheme() protocol.Scheme
	// PublicKey is the group public key in its scheme's encoding: 33-byte compressed SEC1 for
	// ECDSA secp256k1, 32 bytes for Ed25519, the 32-byte x-only (BIP86 output) key for BIP340.
	PublicKey() []byte
	// SignDigest signs a 32-byte digest (ECDSA, BIP340), or a 32-byte message (Ed25519).
	SignDigest(ctx context.Context, digest [32]byte) (Signature, error)
	// SignMessage signs a whole message of any length (Ed25519 only: it hashes the message
	// itself, so chains hand it the bytes they sign, not a digest).
	SignMessage(ctx context.Context, msg []byte) (Signature, error)
}

// SignRequest is an unsigned transaction for Chain.Sign.
type SignRequest struct {
	// Transaction is the unsigned transaction in the chain's customary text encoding (each
	// chain's doc says which: hex, base64 or base58 of its standard binary format).
	Transaction string
	// Network selects the chain's network where the bytes signed depend on it (a Stellar
	// network passphrase, a Bitcoin network); empty means the chain's default.
	Network string
}

// Signed is a signed transaction.
type Signed struct {
	// Transaction is the signed transaction, in the same encoding as the request's.
	Transaction string
	// TxID is the transaction's id or hash as the chain's explorers show it, when it has one
	// that follows from the signed bytes alone.
	TxID string
	// Signature is the signature as the chain encodes it inside the transaction, in hex.
	Signature string
}

// Chain is one chain's front-door logic.
type Chain interface {
	// Name is the chain's name in the API and the CLI: lower case, e.g. "solana".
	Name() string
	// Schemes lists the key schemes the chain accepts, preferred first.
	Schemes() []protocol.Scheme
	// Networks lists the networks Address and Sign accept, the default first.
	Networks() []string
	// Address returns the address of the key with public key pub (in the scheme's encoding,
	// as Signer.PublicKey) on network ("" for the default).
	Address(scheme protocol.Scheme, pub []byte, network string) (string, error)
	// Sign decodes req.Transaction, has s sign what the chain signs for it, checks the
	// signature under s.PublicKey(), and returns the signed transaction. A transaction that
	// does not name the key's address as a signer is refused with ErrInvalid.
	Sign(ctx context.Context, s Signer, req SignRequest) (*Signed, error)
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)

// Registry is the set of chains a host mounts, by name.
type Registry struct {
	byName map[string]Chain
	names  []string
}

// NewRegistry returns a registry of the given chains; it refuses duplicate or malformed names.
func NewRegistry(cs ...Chain) (*Registry, error) {
	r := &Registry{byName: map[string]Chain{}}
	for _, c := range cs {
		n := c.Name()
		if !namePattern.MatchString(n) {
			return nil, fmt.Errorf("chains: malformed chain name %q", n)
		}
		if _, dup := r.byName[n]; dup {
			return nil, fmt.Errorf("chains: chain %q registered twice", n)
		}
		r.byName[n] = c
		r.names = append(r.names, n)
	}
	return r, nil
}

// Lookup returns the chain named name, or an ErrInvalid error listing the known ones.
func (r *Registry) Lookup(name string) (Chain, error) {
	if c, ok := r.byName[name]; ok {
		return c, nil
	}
	return nil, Invalid("unknown chain %q: known chains are %v", name, r.names)
}

// Names lists the registered chains in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

// CheckScheme returns an ErrInvalid error unless c accepts keys of scheme s.
func CheckScheme(c Chain, s protocol.Scheme) error {
	for _, ok := range c.Schemes() {
		if ok == s {
			return nil
		}
	}
	return Invalid("chain %s does not use %s keys: it takes %v", c.Name(), s, c.Schemes())
}

// CheckNetwork returns the network to use for name ("" means the default), or an ErrInvalid
// error listing the chain's networks.
func CheckNetwork(c Chain, name string) (string, error) {
	nets := c.Networks()
	if name == "" && len(nets) > 0 {
		return nets[0], nil
	}
	for _, n := range nets {
		if n == name {
			return n, nil
		}
	}
	return "", Invalid("chain %s has no network %q: it has %v", c.Name(), name, nets)
}
