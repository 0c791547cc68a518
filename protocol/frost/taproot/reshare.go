package taproot

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare"
)

// This file is the engine's reshare (protocol.Resharer): the Feldman resharing of package
// reshare on secp256k1, with btcec (the wrapped library plays no part). What is reshared is
// what a share holds: untweaked Shamir shares, at x = the party number, of the secret of the
// internal key P with its even y. The parameters name the output key Q, so a party that holds
// no old share checks the dealt sharing's constant term in those terms: Σ_i C_i0 must be a
// point with an even y whose BIP86 tweak is Q. (As the package comment says of the share
// check, btcec multiplies by the generator in variable time, here on the dealer's secret
// polynomial too.)

var _ protocol.Resharer = Engine{}

// Reshare returns the run of p.Self in a reshare of the key whose x-only BIP86 output key is
// p.PublicKey (as KeygenOutput.PublicKey): a refresh of its shares, or their move to
// p.NewParties with threshold p.NewThreshold. The internal key, and so the output key and the
// address, stay the same. p.Share is the party's current share exactly when it is one of
// p.OldParties. A new party's run ends with a share in this package's format, which Sign,
// PublicKey and InternalKey take as they take a keygen's; an old-only party's ends with the
// output key and no share. p.PreParams must be empty.
func (Engine) Reshare(p protocol.ReshareParams) (protocol.Run, error) {
	if err := reshare.CheckParams("bip340", maxParties, p); err != nil {
		return nil, err
	}
	if _, err := liftX(p.PublicKey); err != nil {
		return nil, fmt.Errorf("bip340: reshare: the output key: %w", err)
	}
	cfg := reshare.Config[*btcec.ModNScalar, *btcec.JacobianPoint]{
		Engine:     "bip340",
		Group:      secpGroup{},
		MaxParties: maxParties,
		ErrEnded:   ErrEnded,
		Params:     p,
		NewIndex:   func(q protocol.PartyID) uint16 { return uint16(q) },
		CheckKey:   func(sum *btcec.JacobianPoint) error { return checkInternalKey(sum, p.PublicKey) },
		Share:      reshareShare,
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

// checkInternalKey checks that p is an internal key (with an even y) whose BIP86 output key
// is the x-only outputKey.
func checkInternalKey(p *btcec.JacobianPoint, outputKeyX []byte) error {
	if isInfinity(p) {
		return errors.New("their constant terms add up to the point at infinity")
	}
	if !hasEvenY(p) {
		return errors.New("their constant terms add up to a point with an odd y, which is not an internal key")
	}
	q, err := outputKey(xOnly(p))
	if err != nil {
		return err
	}
	if !bytes.Equal(q, outputKeyX) {
		return errors.New("their constant terms add up to an internal key whose BIP86 output key is not the key of the reshare")
	}
	return nil
}

// oldShare turns a decoded share into what a dealer deals from; the result takes over s's
// secret.
func oldShare(s *share) *reshare.Old[*btcec.ModNScalar, *btcec.JacobianPoint] {
	old := &reshare.Old[*btcec.ModNScalar, *btcec.JacobianPoint]{
		Threshold:    s.threshold,
		Parties:      s.parties,
		Self:         s.self,
		Secret:       s.secret,
		PublicKey:    s.outputKeyBytes(),
		PublicShares: make(map[protocol.PartyID]*btcec.JacobianPoint, len(s.parties)),
		Index:        func(q protocol.PartyID) uint16 { return uint16(q) },
	}
	for i, q := range s.parties {
		old.PublicShares[q] = s.publicShares[i]
	}
	return old
}

// reshareShare builds, checks and encodes a new party's share as keygen does.
func reshareShare(ns reshare.NewShare[*btcec.ModNScalar, *btcec.JacobianPoint]) (*protocol.KeygenOutput, error) {
	secret := ns.Secret.Bytes()
	defer clear(secret[:])
	out := &keygenOutput{internalKey: xOnly(ns.GroupKey), secret: secret[:], threshold: ns.Threshold, publicShares: make(map[protocol.PartyID][]byte, len(ns.Parties))}
	for i, q := range ns.Parties {
		if isInfinity(ns.PublicShares[i]) {
			return nil, fmt.Errorf("the public share of %s is the point at infinity", q)
		}
		out.publicShares[q] = encodePoint(ns.PublicShares[i])
	}
	s, err := newShare(ns.Threshold, ns.Parties, ns.Self, out)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	b, err := s.encode()
	if err != nil {
		return nil, fmt.Errorf("encoding the share: %w", err)
	}
	return &protocol.KeygenOutput{PublicKey: s.outputKeyBytes(), Share: b}, nil
}

// secpGroup is secp256k1 for package reshare, on btcec.
type secpGroup struct{}

func (secpGroup) ScalarSize() int                  { return scalarSize }
func (secpGroup) PointSize() int                   { return pointSize }
func (secpGroup) Small(v uint16) *btcec.ModNScalar { return new(btcec.ModNScalar).SetInt(uint32(v)) }
func (secpGroup) Add(a, b *btcec.ModNScalar) *btcec.ModNScalar {
	return new(btcec.ModNScalar).Add2(a, b)
}
func (secpGroup) Mul(a, b *btcec.ModNScalar) *btcec.ModNScalar {
	return new(btcec.ModNScalar).Mul2(a, b)
}
func (secpGroup) Invert(a *btcec.ModNScalar) *btcec.ModNScalar {
	return new(btcec.ModNScalar).InverseValNonConst(a)
}
func (secpGroup) Wipe(a *btcec.ModNScalar)                                 { a.Zero() }
func (secpGroup) DecodeScalar(b []byte) (*btcec.ModNScalar, error)         { return decodeScalar(b) }
func (secpGroup) AddPoints(p, q *btcec.JacobianPoint) *btcec.JacobianPoint { return addPoints(p, q) }
func (secpGroup) Equal(p, q *btcec.JacobianPoint) bool                     { return pointsEqual(p, q) }
func (secpGroup) DecodePoint(b []byte) (*btcec.JacobianPoint, error)       { return decodePoint(b) }

func (secpGroup) Sub(a, b *btcec.ModNScalar) *btcec.ModNScalar {
	return new(btcec.ModNScalar).NegateVal(b).Add(a)
}

func (secpGroup) EncodeScalar(a *btcec.ModNScalar) []byte {
	b := a.Bytes()
	return b[:]
}

// BaseMul is constant-time: the run calls it with secrets (its polynomial's coefficients, the
// subshares it receives) and public values alike.
func (secpGroup) BaseMul(a *btcec.ModNScalar) *btcec.JacobianPoint { return mulBaseSecret(a) }

func (secpGroup) ScalarMul(p *btcec.JacobianPoint, a *btcec.ModNScalar) *btcec.JacobianPoint {
	return mulPoint(a, p)
}

// EncodePoint encodes p compressed. The run only encodes commitments a·G with a non-zero a,
// never the point at infinity, which has no compressed encoding: it gets 33 zero bytes, which
// every decoder refuses.
func (secpGroup) EncodePoint(p *btcec.JacobianPoint) []byte {
	if isInfinity(p) {
		return make([]byte, pointSize)
	}
	return encodePoint(p)
}

func (secpGroup) RandomScalar() (*btcec.ModNScalar, error) {
	var buf [scalarSize]byte
	defer clear(buf[:])
	for range 8 {
		if _, err := rand.Read(buf[:]); err != nil {
			return nil, fmt.Errorf("reading randomness: %w", err)
		}
		s := new(btcec.ModNScalar)
		if overflow := s.SetBytes(&buf); overflow == 0 && !s.IsZero() {
			return s, nil
		}
		s.Zero()
	}
	return nil, errors.New("random source returns no usable scalars")
}
