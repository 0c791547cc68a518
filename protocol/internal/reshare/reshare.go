// Package reshare is the resharing run the Shamir-share engines (ed25519, bls, taproot) have in
// common: it moves a key to fresh shares without changing its public key, for the same parties
// (a refresh) or for another committee and threshold, by Feldman resharing. It is written once,
// over a small prime-order group interface (Group) that each engine implements with its own
// curve library, and each engine wraps it in its Reshare method: the engine decodes the old
// share, checks the group key in its own terms and encodes the new share in its own format.
//
// The protocol (G the group's generator, t' the new threshold):
//
//  1. Every old party i (exactly the old threshold of them, the dealers) computes
//     w_i = λ_i·x_i, its Lagrange coefficient at 0 over the dealers times its share, draws a
//     random polynomial f_i of degree t'-1 with f_i(0) = w_i, broadcasts the Feldman
//     commitments C_ik = a_ik·G and sends f_i(j) to every other new party j privately.
//  2. Every new party checks each dealer's subshare against its commitments
//     (f_i(j)·G = Σ_k j^k·C_ik); every party holding an old share checks C_i0 = λ_i·X_i against
//     the dealer's old public share X_i; every party checks that Σ_i C_i0 is the group key (the
//     engine says what that means: for taproot, the even-y internal key whose BIP86 tweak is
//     the output key the parameters name). The sender of anything that fails is blamed.
//  3. The transport does not promise that a dealer showed everyone the same commitments, so
//     every new party, once its checks pass, broadcasts a SHA-256 digest of the transcript (the
//     parameters, the session nonce and every dealer's commitments as it received them), and
//     every participant (old-only parties too) ends only when every new party's digest equals
//     its own. A mismatch fails the run everywhere: no party keeps a new share. Nobody is
//     blamed for it, since without signed broadcasts a dealer that equivocated and a party
//     that misreports cannot be told apart.
//  4. A new party j ends with x'_j = Σ_i f_i(j), threshold t', and every new party's public
//     share X'_m = Σ_k m^k·Σ_i C_ik; an old-only party ends with the public key and no share,
//     and the enclave then erases its old share. Since Σ_i w_i is the old secret, the new
//     shares are a t'-of-n' sharing of the same key, and independent of the old ones: an old
//     share and a new one together interpolate to nothing useful.
//
// The x-coordinate of a party in a sharing is the engine's (the party number for bls and
// taproot, the position in the ascending party list for ed25519): Old.Index and
// Config.NewIndex give it.
//
// What it must never do: log, print or quote in an error an old share, a polynomial
// coefficient, a subshare or a new share (subshares leave the run only in point-to-point
// payloads, which the enclave's channel layer encrypts, and the new share only as
// KeygenOutput.Share); keep a secret after the run has ended (every scalar it allocated is
// wiped, as is the old share it was given); or end with a share before every check of every
// participant's view has passed. Payloads have a strict, versioned, size-capped encoding
// (wire.go); decoding never panics.
package reshare

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Group is a group of prime order as the run computes in it: scalars S modulo the group order
// and points P, with G the scheme's generator. S and P are pointer types; operations return
// new values and leave their arguments alone. Implementations hold no state.
type Group[S, P any] interface {
	// ScalarSize and PointSize are the sizes of the encodings, fixed for the group.
	ScalarSize() int
	PointSize() int

	// Small returns the integer v, at least 1, as a scalar (a Shamir x-coordinate or 1).
	Small(v uint16) S
	// RandomScalar draws a uniformly random non-zero scalar from a cryptographic source.
	RandomScalar() (S, error)
	Add(a, b S) S
	Sub(a, b S) S
	Mul(a, b S) S
	// Invert returns 1/a for a non-zero a; it only ever sees public values.
	Invert(a S) S
	// Wipe zeroizes a in place.
	Wipe(a S)
	// EncodeScalar returns the ScalarSize-byte encoding of a.
	EncodeScalar(a S) []byte
	// DecodeScalar decodes the canonical encoding of a non-zero scalar below the group order.
	// Its errors never quote b, which may be secret.
	DecodeScalar(b []byte) (S, error)

	// BaseMul returns a·G; a may be secret.
	BaseMul(a S) P
	// ScalarMul returns a·p for a public a and p (variable time is acceptable).
	ScalarMul(p P, a S) P
	AddPoints(p, q P) P
	Equal(p, q P) bool
	// EncodePoint returns the PointSize-byte canonical encoding of p (never the identity).
	EncodePoint(p P) []byte
	// DecodePoint decodes a canonical encoding of a point of the prime-order group, refusing
	// the identity. Its errors never quote b.
	DecodePoint(b []byte) (P, error)
}

// Old is what a dealer's engine decoded from its old share.
type Old[S, P any] struct {
	Threshold int
	Parties   []protocol.PartyID // the holders of the old key, ascending
	Self      protocol.PartyID
	// Secret is x_self. The run owns it from New on (also when New fails) and wipes it.
	Secret S
	// PublicKey is the group key in the engine's encoding, as ReshareParams.PublicKey names it.
	PublicKey []byte
	// PublicShares holds X_m = x_m·G of every holder of the old key.
	PublicShares map[protocol.PartyID]P
	// Index returns the x-coordinate of a holder of the old key in the old sharing.
	Index func(protocol.PartyID) uint16
}

// NewShare is what a new party's run hands its engine to encode as a share.
type NewShare[S, P any] struct {
	Threshold int
	Parties   []protocol.PartyID // the new parties, ascending
	Self      protocol.PartyID
	// Secret is x'_self; the run wipes it when the engine's Share returns.
	Secret S
	// GroupKey is Σ_i C_i0, which Config.CheckKey accepted.
	GroupKey P
	// PublicShares holds X'_m = x'_m·G of every new party, in the order of Parties.
	PublicShares []P
}

// Config is what an engine gives New.
type Config[S, P any] struct {
	// Engine names the engine in errors and in the transcript ("ed25519", "bls", "bip340").
	Engine     string
	Group      Group[S, P]
	MaxParties int
	// ErrEnded is the engine's sentinel for Start and Handle after the run has ended.
	ErrEnded error
	Params   protocol.ReshareParams
	// Old is Self's decoded old share: set exactly when Self is one of Params.OldParties.
	Old *Old[S, P]
	// NewIndex returns the x-coordinate of a new party in the new sharing.
	NewIndex func(protocol.PartyID) uint16
	// CheckKey checks that Σ_i C_i0, the constant term of the new sharing, is the key
	// Params.PublicKey names.
	CheckKey func(key P) error
	// Share builds, checks and encodes a new party's share. Its KeygenOutput.PublicKey must
	// equal Params.PublicKey.
	Share func(NewShare[S, P]) (*protocol.KeygenOutput, error)
}

// CheckParams checks what every engine's Reshare refuses before it looks at the share:
// protocol.CheckReshare's rules, pre-parameters (none of these engines takes any), and the
// bounds of a share (2 to maxParties parties, at least 2 signers).
func CheckParams(engine string, maxParties int, p protocol.ReshareParams) error {
	if err := protocol.CheckReshare(p); err != nil {
		return fmt.Errorf("%s: reshare: %w", engine, err)
	}
	if len(p.PreParams) != 0 {
		return fmt.Errorf("%s: reshare takes no pre-params", engine)
	}
	if n := len(p.OldParties); n > maxParties {
		return fmt.Errorf("%s: reshare: %d old parties (at most %d)", engine, n, maxParties)
	}
	if n := len(p.NewParties); n < 2 || n > maxParties {
		return fmt.Errorf("%s: reshare: %d new parties (want 2 to %d)", engine, n, maxParties)
	}
	if p.NewThreshold < 2 {
		return fmt.Errorf("%s: reshare: new threshold %d (a shared key needs at least 2 signers)", engine, p.NewThreshold)
	}
	return nil
}

// checkOld checks a dealer's old share against the parameters.
func checkOld[S, P any](p protocol.ReshareParams, old *Old[S, P]) error {
	isOld := slices.Contains(p.OldParties, p.Self)
	switch {
	case isOld && old == nil:
		return fmt.Errorf("%s is an old party but its share was not given", p.Self)
	case !isOld && old != nil:
		return fmt.Errorf("%s is not an old party but a share was given", p.Self)
	case old == nil:
		return nil
	case old.Self != p.Self:
		return fmt.Errorf("the share belongs to %s, not to %s", old.Self, p.Self)
	case old.Threshold != p.OldThreshold:
		return fmt.Errorf("the share is of a %d-of-%d key, but the reshare names an old threshold of %d", old.Threshold, len(old.Parties), p.OldThreshold)
	case !bytes.Equal(old.PublicKey, p.PublicKey):
		return fmt.Errorf("the share is of another key (public key %x; the reshare names %x)", old.PublicKey, p.PublicKey)
	}
	for _, q := range p.OldParties {
		if !slices.Contains(old.Parties, q) {
			return fmt.Errorf("%s is named an old party but holds no share of this key (its holders are %v)", q, old.Parties)
		}
	}
	return nil
}

// lagrangeAtZero returns λ_i = Π_{m≠i} x_m/(x_m - x_i) for the distinct, non-zero xs.
func lagrangeAtZero[S, P any](g Group[S, P], xs []uint16) ([]S, error) {
	out := make([]S, len(xs))
	for i, xi := range xs {
		num, den := g.Small(1), g.Small(1)
		for m, xm := range xs {
			if m == i {
				continue
			}
			if xm == xi {
				return nil, errors.New("two dealers have the same x-coordinate")
			}
			num = g.Mul(num, g.Small(xm))
			den = g.Mul(den, g.Sub(g.Small(xm), g.Small(xi)))
		}
		out[i] = g.Mul(num, g.Invert(den))
	}
	return out, nil
}

// evalPoly returns f(x) = Σ_k coeffs[k]·x^k by Horner's rule, wiping every intermediate value
// (the coefficients are secret).
func evalPoly[S, P any](g Group[S, P], coeffs []S, x S) S {
	acc := g.Mul(coeffs[len(coeffs)-1], g.Small(1))
	for k := len(coeffs) - 2; k >= 0; k-- {
		prod := g.Mul(acc, x)
		g.Wipe(acc)
		acc = g.Add(prod, coeffs[k])
		g.Wipe(prod)
	}
	return acc
}

// evalCommitments returns Σ_k x^k·cs[k], the public image of f(x) under Feldman commitments.
func evalCommitments[S, P any](g Group[S, P], cs []P, x S) P {
	acc := cs[len(cs)-1]
	for k := len(cs) - 2; k >= 0; k-- {
		acc = g.AddPoints(g.ScalarMul(acc, x), cs[k])
	}
	return acc
}
