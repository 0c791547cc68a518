package bls

import (
	"errors"
	"fmt"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare"
)

// This file is the engine's reshare (protocol.Resharer): the Feldman resharing of package
// reshare in G1, with scalars of Fr. A party's x-coordinate in a sharing is its party number,
// as in keygen.

var _ protocol.Resharer = Engine{}

// Reshare returns the run of p.Self in a reshare of the key p.PublicKey (48-byte compressed
// G1, as KeygenOutput.PublicKey): a refresh of its shares, or their move to p.NewParties with
// threshold p.NewThreshold. p.Share is the party's current share exactly when it is one of
// p.OldParties. A new party's run ends with a share in this package's format, which Sign,
// PublicKey and PublicShares take as they take a keygen's; an old-only party's ends with the
// public key and no share. p.PreParams must be empty.
func (Engine) Reshare(p protocol.ReshareParams) (protocol.Run, error) {
	if err := reshare.CheckParams("bls", maxParties, p); err != nil {
		return nil, err
	}
	key, err := decodeG1(p.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("bls: reshare: the group public key: %w", err)
	}
	cfg := reshare.Config[*blst.Scalar, *blst.P1]{
		Engine:     "bls",
		Group:      g1Group{},
		MaxParties: maxParties,
		ErrEnded:   ErrEnded,
		Params:     p,
		NewIndex:   func(q protocol.PartyID) uint16 { return uint16(q) },
		CheckKey: func(sum *blst.P1) error {
			if !sum.ToAffine().Equals(key) {
				return errors.New("their constant terms do not add up to the group public key")
			}
			return nil
		},
		Share: reshareShare,
	}
	if p.Share != nil {
		s, err := decodeShare(p.Share)
		if err != nil {
			return nil, err
		}
		cfg.Old = oldShare(s)
	}
	r, err := reshare.New(cfg)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// oldShare turns a decoded share into what a dealer deals from; the result takes over s's
// secret.
func oldShare(s *share) *reshare.Old[*blst.Scalar, *blst.P1] {
	old := &reshare.Old[*blst.Scalar, *blst.P1]{
		Threshold:    s.threshold,
		Parties:      s.parties,
		Self:         s.self,
		Secret:       s.secret,
		PublicKey:    s.publicKey.Compress(),
		PublicShares: make(map[protocol.PartyID]*blst.P1, len(s.parties)),
		Index:        func(q protocol.PartyID) uint16 { return uint16(q) },
	}
	for i, q := range s.parties {
		var y blst.P1
		y.FromAffine(s.publicShares[i])
		old.PublicShares[q] = &y
	}
	return old
}

// reshareShare builds, checks and encodes a new party's share as keygen does.
func reshareShare(ns reshare.NewShare[*blst.Scalar, *blst.P1]) (*protocol.KeygenOutput, error) {
	x := *ns.Secret
	s := &share{threshold: ns.Threshold, parties: ns.Parties, self: ns.Self, secret: &x, publicKey: ns.GroupKey.ToAffine()}
	defer s.wipe()
	for _, y := range ns.PublicShares {
		s.publicShares = append(s.publicShares, y.ToAffine())
	}
	if !s.secret.Valid() || !s.publicKey.KeyValidate() {
		return nil, errors.New("a zero secret or group key")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	b, err := s.encode()
	if err != nil {
		return nil, fmt.Errorf("encoding the share: %w", err)
	}
	return &protocol.KeygenOutput{PublicKey: s.publicKey.Compress(), Share: b}, nil
}

// g1Group is G1 of BLS12-381 with scalars of Fr, for package reshare, on blst.
type g1Group struct{}

func (g1Group) ScalarSize() int                               { return scalarSize }
func (g1Group) PointSize() int                                { return PublicKeySize }
func (g1Group) Small(v uint16) *blst.Scalar                   { return indexScalar(protocol.PartyID(v)) }
func (g1Group) RandomScalar() (*blst.Scalar, error)           { return randomScalar(defaultRand) }
func (g1Group) Add(a, b *blst.Scalar) *blst.Scalar            { return add(a, b) }
func (g1Group) Mul(a, b *blst.Scalar) *blst.Scalar            { return mul(a, b) }
func (g1Group) Invert(a *blst.Scalar) *blst.Scalar            { return a.Inverse() }
func (g1Group) Wipe(a *blst.Scalar)                           { a.Zeroize() }
func (g1Group) EncodeScalar(a *blst.Scalar) []byte            { return a.Serialize() }
func (g1Group) DecodeScalar(b []byte) (*blst.Scalar, error)   { return decodeScalar(b) }
func (g1Group) BaseMul(a *blst.Scalar) *blst.P1               { return g1Mul(a) }
func (g1Group) ScalarMul(p *blst.P1, a *blst.Scalar) *blst.P1 { return p.Mult(a) }
func (g1Group) AddPoints(p, q *blst.P1) *blst.P1              { return p.Add(q) }
func (g1Group) Equal(p, q *blst.P1) bool                      { return p.Equals(q) }
func (g1Group) EncodePoint(p *blst.P1) []byte                 { return p.Compress() }

// Sub returns a-b; blst reports a zero difference as !ok, but computes it all the same.
func (g1Group) Sub(a, b *blst.Scalar) *blst.Scalar {
	s, _ := a.Sub(b)
	return s
}

func (g1Group) DecodePoint(b []byte) (*blst.P1, error) {
	a, err := decodeG1(b)
	if err != nil {
		return nil, err
	}
	var p blst.P1
	p.FromAffine(a)
	return &p, nil
}
