package ed25519

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare"
)

// This file is the engine's reshare (protocol.Resharer): the Feldman resharing of package
// reshare over edwards25519's prime-order subgroup. As everywhere in this package, a party's
// x-coordinate in a sharing is its FROST identifier, its 1-based position in the key's
// ascending party list: the dealers' Lagrange coefficients are taken over their identifiers
// in the old key, and the new shares are dealt at the identifiers of the new parties.

var _ protocol.Resharer = Engine{}

// Reshare returns the run of p.Self in a reshare of the key p.PublicKey (32 bytes, as
// KeygenOutput.PublicKey): a refresh of its shares, or their move to p.NewParties with
// threshold p.NewThreshold. p.Share is the party's current share exactly when it is one of
// p.OldParties. A new party's run ends with a share in this package's format, which Sign and
// PublicKey take as they take a keygen's; an old-only party's ends with the public key and no
// share. p.PreParams must be empty.
func (Engine) Reshare(p protocol.ReshareParams) (protocol.Run, error) {
	if err := reshare.CheckParams("ed25519", maxParties, p); err != nil {
		return nil, err
	}
	key, err := decodePoint(p.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ed25519: reshare: the group public key: %w", err)
	}
	cfg := reshare.Config[*edwards25519.Scalar, *edwards25519.Point]{
		Engine:     "ed25519",
		Group:      edGroup{},
		MaxParties: maxParties,
		ErrEnded:   ErrEnded,
		Params:     p,
		NewIndex:   func(q protocol.PartyID) uint16 { return identifier(p.NewParties, q) },
		CheckKey: func(sum *edwards25519.Point) error {
			if sum.Equal(key) != 1 {
				return errors.New("their constant terms do not add up to the group public key")
			}
			return nil
		},
		Share: reshareShare,
	}
	if p.Share != nil {
		k, err := decodeSigningKey(p.Share)
		if err != nil {
			return nil, err
		}
		cfg.Old = oldShare(k)
	}
	r, err := reshare.New(cfg)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// oldShare turns a decoded share into what a dealer deals from; it moves k's secret into the
// result and wipes k.
func oldShare(k *signingKey) *reshare.Old[*edwards25519.Scalar, *edwards25519.Point] {
	defer k.wipe()
	old := &reshare.Old[*edwards25519.Scalar, *edwards25519.Point]{
		Threshold:    k.threshold,
		Parties:      k.parties,
		Self:         k.self,
		Secret:       new(edwards25519.Scalar).Set(&k.secret.s),
		PublicKey:    slices.Clone(k.groupKey[:]),
		PublicShares: make(map[protocol.PartyID]*edwards25519.Point, len(k.parties)),
		Index:        func(q protocol.PartyID) uint16 { return identifier(k.parties, q) },
	}
	for i, q := range k.parties {
		old.PublicShares[q] = k.publicShares[i]
	}
	return old
}

// reshareShare builds, checks and encodes a new party's share as keygen does.
func reshareShare(ns reshare.NewShare[*edwards25519.Scalar, *edwards25519.Point]) (*protocol.KeygenOutput, error) {
	s := &share{threshold: ns.Threshold, parties: ns.Parties, self: ns.Self, secret: group.NewScalar(), publicKey: group.NewElement()}
	defer s.wipe()
	enc := ns.Secret.Bytes()
	err := s.secret.Decode(enc)
	clear(enc)
	if err != nil {
		return nil, errors.New("secret not below the group order")
	}
	if err := s.publicKey.Decode(ns.GroupKey.Bytes()); err != nil {
		return nil, errors.New("group key: not a point")
	}
	for i, y := range ns.PublicShares {
		e := group.NewElement()
		if err := e.Decode(y.Bytes()); err != nil {
			return nil, fmt.Errorf("public share of %s: not a point", ns.Parties[i])
		}
		s.publicShares = append(s.publicShares, e)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	b, err := s.encode()
	if err != nil {
		return nil, fmt.Errorf("encoding the share: %w", err)
	}
	k, err := decodeSigningKey(b) // the share must be one that signing accepts
	if err != nil {
		clear(b)
		return nil, err
	}
	k.wipe()
	return &protocol.KeygenOutput{PublicKey: s.publicKey.Encode(), Share: b}, nil
}

// edGroup is edwards25519's prime-order subgroup for package reshare, on
// filippo.io/edwards25519: constant-time arithmetic on scalars and in BaseMul, variable time
// only where the points and scalars are public (ScalarMul).
type edGroup struct{}

func (edGroup) ScalarSize() int                            { return scalarSize }
func (edGroup) PointSize() int                             { return elementSize }
func (edGroup) Small(v uint16) *edwards25519.Scalar        { return smallScalar(v) }
func (edGroup) Wipe(a *edwards25519.Scalar)                { *a = edwards25519.Scalar{} }
func (edGroup) EncodeScalar(a *edwards25519.Scalar) []byte { return a.Bytes() }
func (edGroup) EncodePoint(p *edwards25519.Point) []byte   { return p.Bytes() }
func (edGroup) Equal(p, q *edwards25519.Point) bool        { return p.Equal(q) == 1 }

func (edGroup) RandomScalar() (*edwards25519.Scalar, error) {
	var buf [64]byte
	defer clear(buf[:])
	for range 8 {
		if _, err := rand.Read(buf[:]); err != nil {
			return nil, fmt.Errorf("reading randomness: %w", err)
		}
		s, err := edwards25519.NewScalar().SetUniformBytes(buf[:])
		if err != nil {
			return nil, err // unreachable: the input is 64 bytes
		}
		if s.Equal(edwards25519.NewScalar()) == 0 {
			return s, nil
		}
	}
	return nil, errors.New("random source returns only zero scalars")
}

func (edGroup) Add(a, b *edwards25519.Scalar) *edwards25519.Scalar {
	return edwards25519.NewScalar().Add(a, b)
}

func (edGroup) Sub(a, b *edwards25519.Scalar) *edwards25519.Scalar {
	return edwards25519.NewScalar().Subtract(a, b)
}

func (edGroup) Mul(a, b *edwards25519.Scalar) *edwards25519.Scalar {
	return edwards25519.NewScalar().Multiply(a, b)
}

func (edGroup) Invert(a *edwards25519.Scalar) *edwards25519.Scalar {
	return edwards25519.NewScalar().Invert(a)
}

func (edGroup) DecodeScalar(b []byte) (*edwards25519.Scalar, error) {
	if len(b) != scalarSize {
		return nil, fmt.Errorf("scalar of %d bytes (want %d)", len(b), scalarSize)
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b)
	if err != nil {
		return nil, errors.New("scalar not below the group order")
	}
	if s.Equal(edwards25519.NewScalar()) == 1 {
		return nil, errors.New("zero scalar")
	}
	return s, nil
}

func (edGroup) BaseMul(a *edwards25519.Scalar) *edwards25519.Point {
	return new(edwards25519.Point).ScalarBaseMult(a)
}

func (edGroup) ScalarMul(p *edwards25519.Point, a *edwards25519.Scalar) *edwards25519.Point {
	return new(edwards25519.Point).VarTimeMultiScalarMult([]*edwards25519.Scalar{a}, []*edwards25519.Point{p})
}

func (edGroup) AddPoints(p, q *edwards25519.Point) *edwards25519.Point {
	return new(edwards25519.Point).Add(p, q)
}

func (edGroup) DecodePoint(b []byte) (*edwards25519.Point, error) { return decodePoint(b) }
