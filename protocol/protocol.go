// Package protocol defines what every threshold engine looks like to the enclave that runs it:
// a Run that takes inbound protocol payloads from named parties, emits outbound payloads, and
// ends with a Result or an *Error naming the culprit parties.
//
// It knows nothing about transport, encryption or storage: the enclave moves payloads between a
// Run and its peers, and decides what is persisted. It must never log or expose a share, a
// nonce, or any other secret a Run holds.
package protocol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PartyID names one party of a cluster. Parties are numbered 1..n; 0 is never a valid party.
type PartyID uint16

func (p PartyID) String() string { return "party " + strconv.Itoa(int(p)) }

// Valid reports whether p can name a party of a cluster of n parties.
func (p PartyID) Valid(n int) bool { return p >= 1 && int(p) <= n }

// Scheme names a signature scheme and its curve.
type Scheme string

const (
	SchemeECDSASecp256k1 Scheme = "ecdsa-secp256k1"
	SchemeECDSAP256      Scheme = "ecdsa-p256"
	// SchemeBLS12381 is BLS signatures on BLS12-381 as Ethereum's consensus layer uses them:
	// 48-byte G1 public keys, 96-byte G2 signatures, the proof-of-possession ciphersuite.
	SchemeBLS12381 Scheme = "bls12-381"
	// SchemeEd25519 is Ed25519 (RFC 8032) made by FROST (RFC 9591, FROST(Ed25519, SHA-512)):
	// 32-byte public keys, 64-byte signatures that any Ed25519 verifier accepts.
	SchemeEd25519 Scheme = "ed25519"
	// SchemeBIP340 is BIP340 Schnorr signatures on secp256k1 for Taproot key-path spends:
	// 32-byte x-only public keys (the BIP86 output key), 64-byte signatures.
	SchemeBIP340 Scheme = "bip340"
)

// ParseScheme returns the scheme named s, or an error listing the supported ones.
func ParseScheme(s string) (Scheme, error) {
	switch Scheme(s) {
	case SchemeECDSASecp256k1, SchemeECDSAP256, SchemeBLS12381, SchemeEd25519, SchemeBIP340:
		return Scheme(s), nil
	}
	return "", fmt.Errorf("unknown scheme %q: supported schemes are %s, %s, %s, %s and %s", s, SchemeECDSASecp256k1, SchemeECDSAP256, SchemeBLS12381, SchemeEd25519, SchemeBIP340)
}

// Outgoing is one payload a Run wants delivered. Broadcast payloads go to every other
// participant of the run; otherwise To lists the recipients.
type Outgoing struct {
	To        []PartyID
	Broadcast bool
	Payload   []byte
}

// Run is one party's side of one protocol run (a keygen or a signing).
//
// Start and Handle must not block on the Outgoing channel: a Run buffers what it emits.
// Exactly one value is ever sent on Done, after which the Run emits nothing more.
type Run interface {
	// Start begins the run; it is called once, before any Handle.
	Start() error
	// Handle feeds one payload received from another participant. An error means the run has
	// failed; the same error is also reported on Done.
	Handle(from PartyID, broadcast bool, payload []byte) error
	// Outgoing carries the payloads the run emits, in order.
	Outgoing() <-chan Outgoing
	// Done yields the run's outcome once.
	Done() <-chan Result
	// Abort ends the run early with err (if it has not ended), releasing what it holds.
	Abort(err error)
}

// Result is the outcome of a Run: exactly one of Keygen, Signature, Presignature, Signatures or
// Err is set.
type Result struct {
	Keygen    *KeygenOutput
	Signature *Signature
	// Presignature is what a presign run (Presigner) ends with.
	Presignature Presignature
	// Signatures is what a batch of signing runs (NewBatch) ends with, in the runs' order.
	Signatures []*Signature
	Err        error
}

// KeygenOutput is what one party keeps after a distributed key generation.
type KeygenOutput struct {
	// PublicKey is the group public key (33-byte compressed SEC1 for secp256k1).
	PublicKey []byte
	// Share is the party's secret share, serialized by its engine. It must only ever be written
	// to a sealed store.
	Share []byte
}

// Signature is an ordinary signature under the group public key: R, S and RecoveryID for
// ECDSA; Encoded for every other scheme (a BLS signature's 96-byte compressed G2 point).
type Signature struct {
	R, S       [32]byte
	RecoveryID byte
	Encoded    []byte
}

// IsECDSA reports whether the signature is an ECDSA (r, s) pair.
func (s *Signature) IsECDSA() bool { return s.Encoded == nil }

// Bytes returns r||s for ECDSA, the encoded signature otherwise.
func (s *Signature) Bytes() []byte {
	if s.Encoded != nil {
		return slices.Clone(s.Encoded)
	}
	out := make([]byte, 0, 64)
	out = append(out, s.R[:]...)
	return append(out, s.S[:]...)
}

// Error is a protocol failure. Culprits names the parties whose messages caused it, when the
// engine can tell; an empty list means the fault could not be attributed.
type Error struct {
	Task     string // "keygen", "sign", "presign", "reshare" or "chaincode"
	Round    int
	Culprits []PartyID
	Cause    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed", e.Task)
	if e.Round > 0 {
		fmt.Fprintf(&b, " in round %d", e.Round)
	}
	if len(e.Culprits) > 0 {
		names := make([]string, len(e.Culprits))
		for i, c := range e.Culprits {
			names[i] = c.String()
		}
		fmt.Fprintf(&b, " (culprits: %s)", strings.Join(names, ", "))
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// Culprits returns the parties blamed by err, if err is or wraps an *Error.
func Culprits(err error) []PartyID {
	var pe *Error
	if errors.As(err, &pe) {
		return slices.Clone(pe.Culprits)
	}
	return nil
}

// Engine makes Runs for one scheme. The enclave holds one Engine per scheme it supports.
type Engine interface {
	Scheme() Scheme
	// NeedsPreParams reports whether Keygen wants expensive per-party pre-parameters, which the
	// enclave then generates ahead of time and keeps in a pool.
	NeedsPreParams() bool
	GeneratePreParams(ctx context.Context) ([]byte, error)
	Keygen(KeygenParams) (Run, error)
	Sign(SignParams) (Run, error)
	// PublicKey returns the group public key recorded in a share.
	PublicKey(share []byte) ([]byte, error)
}

// KeygenParams configures one party's side of a distributed key generation.
type KeygenParams struct {
	Self         PartyID
	Parties      []PartyID // all n parties
	Threshold    int       // signers needed (t)
	SessionNonce []byte    // 32 bytes, identical at every party, unique per run
	PreParams    []byte    // from GeneratePreParams, when NeedsPreParams
	// Import, when set, makes the run an import of an existing secret key instead of a fresh
	// key generation: the output (public key, share format) is the same as a keygen's, but the
	// group key is the imported one. Engines that cannot import refuse it.
	Import *ImportParams
}

// ImportParams turns a keygen run into the import of an existing secret key x, known to one
// party (the dealer) only: the dealer deals a verifiable t-of-n sharing of x and erases it, and
// every party ends with a share of x and the group public key x·G. Every party is given the
// same Dealer and PublicKey; only the dealer is given Secret.
type ImportParams struct {
	// Dealer is the party that knows the secret key; it must be one of the parties.
	Dealer PartyID
	// Secret is the secret key in the engine's encoding (32 big-endian bytes for BLS12-381),
	// set at the dealer and nil at every other party. The run copies it when it is created:
	// the caller wipes its own slice as soon as Keygen has returned.
	Secret []byte
	// PublicKey is the expected group public key, in the engine's encoding (48-byte compressed
	// G1 for BLS12-381), known to every party from the imported key's metadata. The dealer
	// refuses a Secret that does not match it; every other party blames the dealer if the
	// dealt sharing is not of the key with this public key.
	PublicKey []byte
}

// String describes the import without its secret.
func (p ImportParams) String() string {
	return fmt.Sprintf("protocol.ImportParams{Dealer: %s, Secret: (%d bytes, redacted), PublicKey: %x}", p.Dealer, len(p.Secret), p.PublicKey)
}

// GoString is String, so that %#v does not print the secret either.
func (p ImportParams) GoString() string { return p.String() }

// SignParams configures one signer's side of a signing run.
type SignParams struct {
	Self    PartyID
	Signers []PartyID // exactly Threshold parties
	Share   []byte
	Digest  [32]byte
	// Message, when set, is a whole message to sign instead of Digest, for schemes that hash
	// the message themselves (Ed25519's PureEdDSA: Solana, Aptos, CKM_EDDSA). Engines whose
	// scheme signs a 32-byte digest refuse it.
	Message      []byte
	SessionNonce []byte // 32 bytes, identical at every signer, unique per run
	// Derivation, when set, signs with a non-hardened child of the share's key instead of the
	// key itself. Only engines that implement Deriver accept it; the enclave refuses it for
	// every other scheme.
	Derivation *Derivation
}

// MaxDerivationDepth bounds a derivation path; BIP32 serializes the depth in one byte.
const MaxDerivationDepth = 255

// Derivation names a BIP32-style non-hardened child of a key: the key's secret, jointly
// generated chain code and the path below the key (each index below 2^31).
type Derivation struct {
	ChainCode [32]byte
	Path      []uint32
}

// String describes the derivation without its chain code, which stays inside the enclaves
// unless an operator exports an extended public key.
func (d Derivation) String() string { return fmt.Sprintf("protocol.Derivation{Path: %v}", d.Path) }

// GoString is String, so that %#v does not print the chain code either.
func (d Derivation) GoString() string { return d.String() }

// Deriver is an Engine that can sign with derived keys (SignParams.Derivation) and tell the
// child public key of a derivation from the parent's public key alone.
type Deriver interface {
	DerivePublicKey(publicKey []byte, d Derivation) ([]byte, error)
}

// MaxMessageBytes caps SignParams.Message: room for the largest Aptos signing message (a
// 64 KiB transaction after a 32-byte prefix), well within one protocol frame. It equals
// host/api.MaxMessageBytes.
const MaxMessageBytes = 80 << 10

// DigestOnly returns an error when p carries a Message, for engines whose scheme signs a
// 32-byte digest: signing a message there would need a hash the scheme does not define.
func (p SignParams) DigestOnly(s Scheme) error {
	if p.Message != nil {
		return fmt.Errorf("%s signs a 32-byte digest, not a message: hash the message first", s)
	}
	return nil
}

// SignedBytes is what an Ed25519 signing run signs: Message when set, else the 32 bytes of
// Digest (signed as a message).
func (p SignParams) SignedBytes() []byte {
	if p.Message != nil {
		return slices.Clone(p.Message)
	}
	return slices.Clone(p.Digest[:])
}

// Resharer is an Engine that can move a key to fresh shares without changing its public key:
// a refresh (the same parties, new shares) or a committee change (other parties, or another
// threshold). After a reshare the old shares are useless together with the new ones, so a
// party that kept an old share cannot take part in signing.
type Resharer interface {
	Reshare(ReshareParams) (Run, error)
}

// ReshareParams configures one party's side of a reshare. A party can be in OldParties, in
// NewParties, or in both; every participant (the union) receives the same values except Share
// and PreParams.
type ReshareParams struct {
	Self PartyID
	// OldParties are the current holders that deal: exactly OldThreshold of them, ascending.
	OldParties   []PartyID
	OldThreshold int
	// NewParties receive the new shares, ascending; NewThreshold of them sign afterwards.
	NewParties   []PartyID
	NewThreshold int
	// Share is Self's current share when Self is in OldParties, else nil.
	Share []byte
	// PublicKey is the group public key, in the engine's encoding (KeygenOutput.PublicKey),
	// which the new shares must still sign for.
	PublicKey    []byte
	SessionNonce []byte // 32 bytes, identical at every participant, unique per run
	// PreParams is what GeneratePreParams made, at a party in NewParties of an engine that
	// NeedsPreParams.
	PreParams []byte
}

// Participants returns the parties of a reshare run: OldParties and NewParties, ascending.
func (p ReshareParams) Participants() []PartyID {
	all := append(slices.Clone(p.OldParties), p.NewParties...)
	slices.Sort(all)
	return slices.Compact(all)
}

// CheckReshare checks what every engine's Reshare needs of its parameters, so that engines
// refuse the same mistakes with the same words.
func CheckReshare(p ReshareParams) error {
	for name, ps := range map[string][]PartyID{"old parties": p.OldParties, "new parties": p.NewParties} {
		if err := CheckPartyList(ps); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !slices.IsSorted(ps) || len(ps) == 0 {
			return fmt.Errorf("%s %v must be a non-empty ascending list", name, ps)
		}
	}
	if len(p.OldParties) != p.OldThreshold {
		return fmt.Errorf("a reshare is dealt by exactly the old threshold (%d) of old parties, got %d", p.OldThreshold, len(p.OldParties))
	}
	if p.NewThreshold < 1 || p.NewThreshold > len(p.NewParties) {
		return fmt.Errorf("new threshold %d must be between 1 and the %d new parties", p.NewThreshold, len(p.NewParties))
	}
	if !slices.Contains(p.OldParties, p.Self) && !slices.Contains(p.NewParties, p.Self) {
		return fmt.Errorf("%s is neither an old nor a new party of this reshare", p.Self)
	}
	if slices.Contains(p.OldParties, p.Self) != (p.Share != nil) {
		return fmt.Errorf("%s must have a share exactly when it is an old party", p.Self)
	}
	if len(p.SessionNonce) != 32 {
		return fmt.Errorf("session nonce must be 32 bytes, got %d", len(p.SessionNonce))
	}
	if len(p.PublicKey) == 0 {
		return errors.New("the group public key is missing")
	}
	return nil
}

// String describes the reshare without the share or the pre-parameters.
func (p ReshareParams) String() string {
	return fmt.Sprintf("protocol.ReshareParams{Self: %s, Old: %d of %v, New: %d of %v, Share: (%d bytes, redacted), PreParams: (%d bytes, redacted), PublicKey: %x}",
		p.Self, p.OldThreshold, p.OldParties, p.NewThreshold, p.NewParties, len(p.Share), len(p.PreParams), p.PublicKey)
}

// GoString is String, so that %#v does not print the share either.
func (p ReshareParams) GoString() string { return p.String() }
