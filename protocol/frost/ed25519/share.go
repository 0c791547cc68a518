package ed25519

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"filippo.io/edwards25519"
	"github.com/bytemare/ecc"
	"github.com/bytemare/secret-sharing/keys"

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
	secret       *ecc.Scalar // x_self
	publicKey    *ecc.Element
	publicShares []*ecc.Element // PK_m = x_m·B, aligned with parties

	// The same public points as filippo.io/edwards25519 points, for check; set by decodeKeys
	// (check converts them otherwise).
	curveKey    *edwards25519.Point
	curveShares []*edwards25519.Point
}

// shareJSON is the serialized form of a share (byte strings in standard base64):
//
//	{"version":1,"scheme":"ed25519","threshold":t,"parties":[1,2,3],"self":p,
//	 "secret":<32-byte little-endian x_p>,"public_key":<32-byte RFC 8032 group key>,
//	 "public_shares":[<32-byte PK_m>, ... one per party, in the order of parties]}
//
// The FROST identifier of parties[i] is i+1.
type shareJSON struct {
	Version      int                `json:"version"`
	Scheme       protocol.Scheme    `json:"scheme"`
	Threshold    int                `json:"threshold"`
	Parties      []protocol.PartyID `json:"parties"`
	Self         protocol.PartyID   `json:"self"`
	Secret       []byte             `json:"secret"`
	PublicKey    []byte             `json:"public_key"`
	PublicShares [][]byte           `json:"public_shares"`
}

// String describes the share without its secret.
func (s share) String() string {
	return fmt.Sprintf("ed25519.share{%s of %v, threshold %d, public key %x}", s.self, s.parties, s.threshold, s.publicKey.Encode())
}

// GoString is String, so that %#v does not print the secret either.
func (s share) GoString() string { return s.String() }

// PublicShares returns the 32-byte group public key recorded in a serialized share and every
// party's public share PK_m = x_m·B, which is what a signature share of party m verifies
// against.
func PublicShares(b []byte) (groupKey []byte, byParty map[protocol.PartyID][]byte, err error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, nil, err
	}
	defer s.wipe()
	byParty = make(map[protocol.PartyID][]byte, len(s.parties))
	for i, p := range s.parties {
		byParty[p] = s.publicShares[i].Encode()
	}
	return s.publicKey.Encode(), byParty, nil
}

// publicShare returns PK_p, or nil if p holds no share of the key.
func (s *share) publicShare(p protocol.PartyID) *ecc.Element {
	i, ok := slices.BinarySearch(s.parties, p)
	if !ok {
		return nil
	}
	return s.publicShares[i]
}

// id returns the FROST identifier of p, which must hold a share.
func (s *share) id(p protocol.PartyID) uint16 { return identifier(s.parties, p) }

// keyShare returns the share in bytemare's form. It shares s's secret scalar, so wiping s
// wipes it too.
func (s *share) keyShare() *keys.KeyShare {
	return &keys.KeyShare{
		Secret:          s.secret,
		VerificationKey: s.publicKey,
		PublicKeyShare: keys.PublicKeyShare{
			PublicKey: s.publicShare(s.self),
			ID:        s.id(s.self),
			Group:     group,
		},
	}
}

// wipe zeroizes the secret.
func (s *share) wipe() {
	if s.secret != nil {
		s.secret.Zero()
	}
}

// encode serializes the share; s must be valid.
func (s *share) encode() ([]byte, error) {
	sj := shareJSON{
		Version:   shareVersion,
		Scheme:    protocol.SchemeEd25519,
		Threshold: s.threshold,
		Parties:   s.parties,
		Self:      s.self,
		Secret:    s.secret.Encode(),
		PublicKey: s.publicKey.Encode(),
	}
	defer clear(sj.Secret)
	for _, pk := range s.publicShares {
		sj.PublicShares = append(sj.PublicShares, pk.Encode())
	}
	return json.Marshal(sj)
}

// decodeShare decodes and validates a serialized share. Decoding is strict: unknown fields,
// trailing data, another version or scheme are errors. Its errors never quote the secret.
func decodeShare(b []byte) (*share, error) {
	s, err := parseShare(b)
	if err != nil {
		return nil, fmt.Errorf("ed25519: invalid share: %w", err)
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
	if sj.Scheme != protocol.SchemeEd25519 {
		return nil, fmt.Errorf("scheme %q (want %s)", sj.Scheme, protocol.SchemeEd25519)
	}
	if err := checkCluster(sj.Parties, sj.Threshold, sj.Self); err != nil {
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

// decodeKeys decodes the secret and the points of sj into s.
func (s *share) decodeKeys(sj shareJSON) error {
	var err error
	if s.secret, err = decodeScalar(sj.Secret, true); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	// Only canonical encodings of points other than the identity here: check proves the
	// points are in the prime-order subgroup.
	if s.publicKey, s.curveKey, err = decodeCurveElement(sj.PublicKey); err != nil {
		return fmt.Errorf("public_key: %w", err)
	}
	if len(sj.PublicShares) != len(s.parties) {
		return fmt.Errorf("%d public shares for %d parties", len(sj.PublicShares), len(s.parties))
	}
	s.publicShares = make([]*ecc.Element, len(sj.PublicShares))
	s.curveShares = make([]*edwards25519.Point, len(sj.PublicShares))
	for i, b := range sj.PublicShares {
		if s.publicShares[i], s.curveShares[i], err = decodeCurveElement(b); err != nil {
			return fmt.Errorf("public share of %s: %w", s.parties[i], err)
		}
	}
	return nil
}

// decodeCurveElement is decodeElement without the subgroup check; it returns the point in
// both forms.
func decodeCurveElement(b []byte) (*ecc.Element, *edwards25519.Point, error) {
	p, err := decodeCurvePoint(b)
	if err != nil {
		return nil, nil, err
	}
	e := group.NewElement()
	if err := e.Decode(b); err != nil {
		return nil, nil, errors.New("not the encoding of a point") // unreachable: decodeCurvePoint accepted it
	}
	return e, p, nil
}

// curvePoints returns the group key and the public shares as filippo.io/edwards25519 points.
func (s *share) curvePoints() (*edwards25519.Point, []*edwards25519.Point, error) {
	if s.curveKey != nil && len(s.curveShares) == len(s.publicShares) {
		return s.curveKey, s.curveShares, nil
	}
	key, err := new(edwards25519.Point).SetBytes(s.publicKey.Encode())
	if err != nil {
		return nil, nil, errors.New("public_key: not a point")
	}
	points := make([]*edwards25519.Point, len(s.publicShares))
	for i, e := range s.publicShares {
		if points[i], err = new(edwards25519.Point).SetBytes(e.Encode()); err != nil {
			return nil, nil, fmt.Errorf("public share of %s: not a point", s.parties[i])
		}
	}
	return key, points, nil
}

// check verifies that the secret matches the own public share, that the first t public
// shares are in the prime-order subgroup, and that all public shares lie on one polynomial
// of degree t-1 whose value at 0 is the group key (which puts the group key and the other
// public shares in the subgroup too, as combinations of the first t). (It computes on
// filippo.io/edwards25519 directly, in variable time for the public points only: bytemare/ecc
// has no multi-scalar multiplication and no fixed-base fast path.)
func (s *share) check() error {
	key, points, err := s.curvePoints()
	if err != nil {
		return err
	}
	secret := s.secret.Encode()
	x, err := edwards25519.NewScalar().SetCanonicalBytes(secret)
	clear(secret)
	if err != nil {
		return errors.New("secret not below the group order")
	}
	own := new(edwards25519.Point).ScalarBaseMult(x)
	x.Set(edwards25519.NewScalar())
	if own.Equal(points[slices.Index(s.parties, s.self)]) != 1 {
		return errors.New("secret does not match the own public share")
	}
	t := s.threshold
	ids := make([]uint16, t)
	for i := range ids {
		ids[i] = uint16(i + 1)
	}
	base := points[:t]
	for i, p := range base {
		if !inPrimeOrderSubgroup(p) {
			return fmt.Errorf("public share of %s: point outside the prime-order subgroup", s.parties[i])
		}
	}
	is := func(x uint16, want *edwards25519.Point) bool {
		return new(edwards25519.Point).VarTimeMultiScalarMult(lagrangeAt(ids, x), base).Equal(want) == 1
	}
	if !is(0, key) {
		return errors.New("public shares do not interpolate to the group key")
	}
	for i := t; i < len(s.parties); i++ {
		if !is(uint16(i+1), points[i]) {
			return fmt.Errorf("public share of %s is inconsistent with the others", s.parties[i])
		}
	}
	return nil
}
