package taproot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// shareVersion is the version of the share serialization written by this package.
	shareVersion = 1

	// maxShareSize bounds a serialized share (about 12 KiB for the largest cluster).
	maxShareSize = 64 << 10
)

// share is one party's decoded key share. It holds a secret: it prints without it, and
// callers zeroize it (wipe) once done.
type share struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	secret       *btcec.ModNScalar // x_self, a share of the internal key's secret (even-y P)
	internalKey  []byte            // x(P), 32 bytes
	outputKey    []byte            // x(Q), Q = P + H_TapTweak(x(P))·G, 32 bytes
	publicShares []*btcec.JacobianPoint

	// Set by check: the BIP86 tweak t and the output key Q (full point).
	tweak  *btcec.ModNScalar
	output *btcec.JacobianPoint
}

// shareJSON is the serialized form of a share (byte strings in standard base64):
//
//	{"version":1,"scheme":"bip340","threshold":t,"parties":[1,2,3],"self":p,
//	 "secret":<32-byte big-endian x_p>,
//	 "internal_key":<32-byte x-only internal key P>,"output_key":<32-byte x-only BIP86 output key Q>,
//	 "public_shares":[<33-byte compressed x_m·G>, ... one per party, in the order of parties]}
//
// The shares are Shamir shares, at x = the party number, of the secret key of P with its even
// y. They are untweaked: signing adds the tweak (so the share can also serve other tweaks).
type shareJSON struct {
	Version      int                `json:"version"`
	Scheme       protocol.Scheme    `json:"scheme"`
	Threshold    int                `json:"threshold"`
	Parties      []protocol.PartyID `json:"parties"`
	Self         protocol.PartyID   `json:"self"`
	Secret       []byte             `json:"secret"`
	InternalKey  []byte             `json:"internal_key"`
	OutputKey    []byte             `json:"output_key"`
	PublicShares [][]byte           `json:"public_shares"`
}

// String describes the share without its secret.
func (s share) String() string {
	return fmt.Sprintf("bip340.share{%s of %v, threshold %d, output key %x}", s.self, s.parties, s.threshold, s.outputKey)
}

// GoString is String, so that %#v does not print the secret either.
func (s share) GoString() string { return s.String() }

// InternalKey returns the 32-byte x-only BIP341 internal key recorded in a serialized share:
// the key whose BIP86 tweak is the output key (Engine.PublicKey). A PSBT's
// PSBT_IN_TAP_INTERNAL_KEY carries it.
func InternalKey(b []byte) ([]byte, error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	return bytes.Clone(s.internalKey), nil
}

func (s *share) outputKeyBytes() []byte { return bytes.Clone(s.outputKey) }

// publicShare returns x_p·G, or nil if p holds no share of the key.
func (s *share) publicShare(p protocol.PartyID) *btcec.JacobianPoint {
	i, ok := slices.BinarySearch(s.parties, p)
	if !ok {
		return nil
	}
	return s.publicShares[i]
}

// wipe zeroizes the secret.
func (s *share) wipe() {
	if s.secret != nil {
		s.secret.Zero()
	}
}

// newShare builds and checks the share of party self from what keygen produced.
func newShare(threshold int, parties []protocol.PartyID, self protocol.PartyID, out *keygenOutput) (*share, error) {
	sj := shareJSON{Threshold: threshold, Parties: parties, Self: self, Secret: out.secret, InternalKey: out.internalKey}
	if len(out.publicShares) != len(parties) {
		return nil, fmt.Errorf("%d public shares for %d parties", len(out.publicShares), len(parties))
	}
	for _, p := range parties {
		y, ok := out.publicShares[p]
		if !ok {
			return nil, fmt.Errorf("no public share of %s", p)
		}
		sj.PublicShares = append(sj.PublicShares, y)
	}
	var err error
	if sj.OutputKey, err = outputKey(out.internalKey); err != nil {
		return nil, err
	}
	s := &share{threshold: threshold, parties: parties, self: self}
	if err := s.decodeKeys(sj); err != nil {
		s.wipe()
		return nil, err
	}
	if err := s.check(); err != nil {
		s.wipe()
		return nil, err
	}
	return s, nil
}

// encode serializes the share; s must be valid.
func (s *share) encode() ([]byte, error) {
	secret := s.secret.Bytes()
	defer clear(secret[:])
	sj := shareJSON{
		Version:     shareVersion,
		Scheme:      protocol.SchemeBIP340,
		Threshold:   s.threshold,
		Parties:     s.parties,
		Self:        s.self,
		Secret:      secret[:],
		InternalKey: s.internalKey,
		OutputKey:   s.outputKey,
	}
	for _, y := range s.publicShares {
		sj.PublicShares = append(sj.PublicShares, encodePoint(y))
	}
	return json.Marshal(sj)
}

// decodeShare decodes and validates a serialized share. Decoding is strict: unknown fields,
// trailing data, another version or scheme are errors. Its errors never quote the secret.
func decodeShare(b []byte) (*share, error) {
	s, err := parseShare(b)
	if err != nil {
		return nil, fmt.Errorf("bip340: invalid share: %w", err)
	}
	return s, nil
}

func parseShare(b []byte) (*share, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	if len(b) > maxShareSize {
		return nil, fmt.Errorf("too large (%d bytes, limit %d)", len(b), maxShareSize)
	}
	var sj shareJSON
	if err := protocol.DecodeSecretJSON(b, &sj); err != nil {
		return nil, err
	}
	defer clear(sj.Secret)
	if sj.Version != shareVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d)", sj.Version, shareVersion)
	}
	if sj.Scheme != protocol.SchemeBIP340 {
		return nil, fmt.Errorf("scheme %q (want %s)", sj.Scheme, protocol.SchemeBIP340)
	}
	if err := protocol.CheckCluster(sj.Parties, sj.Threshold, sj.Self, maxParties); err != nil {
		return nil, err
	}
	if !slices.IsSorted(sj.Parties) {
		return nil, errors.New("parties are not in ascending order")
	}
	s := &share{threshold: sj.Threshold, parties: sj.Parties, self: sj.Self}
	if err := s.decodeKeys(sj); err != nil {
		s.wipe()
		return nil, err
	}
	if err := s.check(); err != nil {
		s.wipe()
		return nil, err
	}
	return s, nil
}

// decodeKeys decodes the secret, the keys and the public shares of sj into s.
func (s *share) decodeKeys(sj shareJSON) error {
	var err error
	if s.secret, err = decodeScalar(sj.Secret); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	if _, err := liftX(sj.InternalKey); err != nil {
		return fmt.Errorf("internal_key: %w", err)
	}
	if _, err := liftX(sj.OutputKey); err != nil {
		return fmt.Errorf("output_key: %w", err)
	}
	s.internalKey, s.outputKey = bytes.Clone(sj.InternalKey), bytes.Clone(sj.OutputKey)
	if len(sj.PublicShares) != len(s.parties) {
		return fmt.Errorf("%d public shares for %d parties", len(sj.PublicShares), len(s.parties))
	}
	s.publicShares = make([]*btcec.JacobianPoint, len(sj.PublicShares))
	for i, b := range sj.PublicShares {
		if s.publicShares[i], err = decodePoint(b); err != nil {
			return fmt.Errorf("public share of %s: %w", s.parties[i], err)
		}
	}
	return nil
}

// check verifies that the secret matches the own public share, that all public shares lie on
// one polynomial of degree t-1 whose value at 0 is the internal key with an even y, and that
// the output key is the internal key's BIP86 tweak.
func (s *share) check() error {
	if !pointsEqual(mulBaseSecret(s.secret), s.publicShare(s.self)) {
		return errors.New("secret does not match the own public share")
	}
	p, err := liftX(s.internalKey)
	if err != nil {
		return err
	}
	t := s.threshold
	base, basePoints := s.parties[:t], s.publicShares[:t]
	if at0, err := interpolate(base, basePoints, nil); err != nil || !pointsEqual(at0, p) {
		return errors.New("public shares do not interpolate to the internal key (with an even y)")
	}
	for i := t; i < len(s.parties); i++ {
		y, err := interpolate(base, basePoints, indexScalar(s.parties[i]))
		if err != nil || !pointsEqual(y, s.publicShares[i]) {
			return fmt.Errorf("public share of %s is inconsistent with the others", s.parties[i])
		}
	}
	tweak, q, err := tapTweak(s.internalKey)
	if err != nil {
		return err
	}
	if !bytes.Equal(xOnly(q), s.outputKey) {
		return errors.New("output key is not the BIP86 tweak of the internal key")
	}
	s.tweak, s.output = tweak, q
	return nil
}

// tweaked returns what signing under the output key Q needs of the share: this party's share
// of Q's secret key (with Q's even y) and every holder's public share of it. With
// t = H_TapTweak(x(P)), the shares of q = x + t are x_m + t (the Lagrange coefficients at 0
// add up to 1), negated when Q has an odd y. s must have been checked (check sets the tweak).
func (s *share) tweaked() (*tweakedKey, error) {
	t, q := s.tweak, s.output
	if t == nil || q == nil {
		return nil, errors.New("share not checked")
	}
	negate := !hasEvenY(q)
	tG := mulBase(t)
	publicShares := make([]*btcec.JacobianPoint, len(s.parties))
	for i, p := range s.parties {
		y := addPoints(s.publicShares[i], tG)
		if isInfinity(y) {
			return nil, fmt.Errorf("the tweaked public share of %s is the point at infinity", p)
		}
		if negate {
			y = negatePoint(y)
		}
		a := affine(y) // additions with Z = 1 are the cheaper ones
		publicShares[i] = &a
	}
	outputPub, err := schnorr.ParsePubKey(s.outputKey)
	if err != nil {
		return nil, errors.New("output key is not the x-coordinate of a point on secp256k1")
	}
	qi := new(btcec.ModNScalar).Set(s.secret).Add(t)
	if negate {
		qi.Negate()
	}
	return &tweakedKey{
		threshold:    s.threshold,
		parties:      slices.Clone(s.parties),
		self:         s.self,
		outputKey:    bytes.Clone(s.outputKey),
		outputPub:    outputPub,
		secret:       qi,
		publicShares: publicShares,
	}, nil
}
