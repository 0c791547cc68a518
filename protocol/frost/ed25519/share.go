package ed25519

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"filippo.io/edwards25519"
	"github.com/bytemare/ecc"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// shareVersion is the version of the share serialization written by this package.
	shareVersion = 1

	// maxShareSize bounds a serialized share (about 12 KiB for the largest cluster).
	maxShareSize = 64 << 10
)

// share is one party's key share in bytemare/ecc's form, as keygen makes it and encodes it.
// It holds a secret: it prints without it, and callers zeroize it (wipe) once done. Signing
// decodes shares into signingKey instead.
type share struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	secret       *ecc.Scalar // x_self
	publicKey    *ecc.Element
	publicShares []*ecc.Element // PK_m = x_m·B, aligned with parties
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
	k, err := decodeSigningKey(b)
	if err != nil {
		return nil, nil, err
	}
	defer k.wipe()
	byParty = make(map[protocol.PartyID][]byte, len(k.parties))
	for i, p := range k.parties {
		byParty[p] = k.publicShares[i].Bytes()
	}
	return slices.Clone(k.groupKey[:]), byParty, nil
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

// decodeShare decodes and validates a serialized share into bytemare/ecc's form (for keygen's
// round trip and for tests); it checks exactly what decodeSigningKey checks.
func decodeShare(b []byte) (*share, error) {
	k, err := decodeSigningKey(b)
	if err != nil {
		return nil, err
	}
	defer k.wipe()
	s, err := k.eccShare()
	if err != nil {
		return nil, fmt.Errorf("ed25519: invalid share: %w", err) // unreachable: the encodings were checked
	}
	return s, nil
}

// eccShare converts k to bytemare/ecc's form; the result has its own copy of the secret.
func (k *signingKey) eccShare() (*share, error) {
	s := &share{threshold: k.threshold, parties: k.parties, self: k.self, secret: group.NewScalar(), publicKey: group.NewElement()}
	enc := k.secret.s.Bytes()
	err := s.secret.Decode(enc)
	clear(enc)
	if err != nil {
		return nil, errors.New("secret not below the group order")
	}
	if err := s.publicKey.Decode(k.groupKey[:]); err != nil {
		s.wipe()
		return nil, errors.New("public_key: not a point")
	}
	for i, p := range k.publicShares {
		e := group.NewElement()
		if err := e.Decode(p.Bytes()); err != nil {
			s.wipe()
			return nil, fmt.Errorf("public share of %s: not a point", k.parties[i])
		}
		s.publicShares = append(s.publicShares, e)
	}
	return s, nil
}

// decodeSigningKey decodes and validates a serialized share. Decoding is strict: unknown
// fields, trailing data, another version or scheme are errors, and the secret and the public
// data must agree (see checkKey). Its errors never quote the secret.
func decodeSigningKey(b []byte) (*signingKey, error) {
	k, err := parseSigningKey(b)
	if err != nil {
		return nil, fmt.Errorf("ed25519: invalid share: %w", err)
	}
	return k, nil
}

func parseSigningKey(b []byte) (*signingKey, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	if len(b) > maxShareSize {
		return nil, fmt.Errorf("too large (%d bytes, limit %d)", len(b), maxShareSize)
	}
	var sj shareJSON
	err := protocol.DecodeSecretJSON(b, &sj)
	defer clear(sj.Secret)
	if err != nil {
		return nil, err
	}
	if sj.Version != shareVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d)", sj.Version, shareVersion)
	}
	if sj.Scheme != protocol.SchemeEd25519 {
		return nil, fmt.Errorf("scheme %q (want %s)", sj.Scheme, protocol.SchemeEd25519)
	}
	if err := protocol.CheckCluster(sj.Parties, sj.Threshold, sj.Self, maxParties); err != nil {
		return nil, err
	}
	if !slices.IsSorted(sj.Parties) {
		return nil, errors.New("parties are not in ascending order")
	}
	k := &signingKey{threshold: sj.Threshold, parties: sj.Parties, self: sj.Self, secret: &secretScalar{}}
	groupKey, err := k.decodeKeys(sj)
	if err == nil {
		err = checkKey(k.threshold, k.parties, k.self, k.secret, groupKey, k.publicShares)
	}
	if err != nil {
		k.wipe()
		return nil, err
	}
	return k, nil
}

// decodeKeys decodes the secret and the points of sj into k and returns the group key as a
// point. Only canonical encodings of points other than the identity pass here: checkKey then
// proves the points are in the prime-order subgroup.
func (k *signingKey) decodeKeys(sj shareJSON) (*edwards25519.Point, error) {
	if len(sj.Secret) != scalarSize {
		return nil, fmt.Errorf("secret: scalar of %d bytes (want %d)", len(sj.Secret), scalarSize)
	}
	if _, err := k.secret.s.SetCanonicalBytes(sj.Secret); err != nil {
		return nil, errors.New("secret: scalar not below the group order")
	}
	if k.secret.IsZero() {
		return nil, errors.New("secret: zero scalar")
	}
	groupKey, err := decodeCurvePoint(sj.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public_key: %w", err)
	}
	copy(k.groupKey[:], sj.PublicKey)
	if len(sj.PublicShares) != len(k.parties) {
		return nil, fmt.Errorf("%d public shares for %d parties", len(sj.PublicShares), len(k.parties))
	}
	k.publicShares = make([]*edwards25519.Point, len(sj.PublicShares))
	for i, b := range sj.PublicShares {
		if k.publicShares[i], err = decodeCurvePoint(b); err != nil {
			return nil, fmt.Errorf("public share of %s: %w", k.parties[i], err)
		}
	}
	return groupKey, nil
}

// check verifies a share keygen made (see checkKey).
func (s *share) check() error {
	key, err := new(edwards25519.Point).SetBytes(s.publicKey.Encode())
	if err != nil {
		return errors.New("public_key: not a point")
	}
	points := make([]*edwards25519.Point, len(s.publicShares))
	for i, e := range s.publicShares {
		if points[i], err = new(edwards25519.Point).SetBytes(e.Encode()); err != nil {
			return fmt.Errorf("public share of %s: not a point", s.parties[i])
		}
	}
	var x secretScalar
	defer x.wipe()
	enc := s.secret.Encode()
	_, err = x.s.SetCanonicalBytes(enc)
	clear(enc)
	if err != nil {
		return errors.New("secret not below the group order")
	}
	return checkKey(s.threshold, s.parties, s.self, &x, key, points)
}

// checkKey verifies that the secret x matches the own public share, that the first t public
// shares are in the prime-order subgroup, and that all public shares lie on one polynomial of
// degree t-1 whose value at 0 is the group key (which puts the group key and the other public
// shares in the subgroup too, as combinations of the first t). Signing relies on the last
// property: it makes the group key the Lagrange combination of any t public shares. (Only the
// public points are computed on in variable time.)
func checkKey(threshold int, parties []protocol.PartyID, self protocol.PartyID, x *secretScalar, key *edwards25519.Point, points []*edwards25519.Point) error {
	own := new(edwards25519.Point).ScalarBaseMult(&x.s)
	if own.Equal(points[slices.Index(parties, self)]) != 1 {
		return errors.New("secret does not match the own public share")
	}
	t := threshold
	ids := make([]uint16, t)
	for i := range ids {
		ids[i] = uint16(i + 1)
	}
	base := points[:t]
	for i, p := range base {
		if !inPrimeOrderSubgroup(p) {
			return fmt.Errorf("public share of %s: point outside the prime-order subgroup", parties[i])
		}
	}
	is := func(x uint16, want *edwards25519.Point) bool {
		return new(edwards25519.Point).VarTimeMultiScalarMult(lagrangeAt(ids, x), base).Equal(want) == 1
	}
	if !is(0, key) {
		return errors.New("public shares do not interpolate to the group key")
	}
	for i := t; i < len(parties); i++ {
		if !is(uint16(i+1), points[i]) {
			return fmt.Errorf("public share of %s is inconsistent with the others", parties[i])
		}
	}
	return nil
}
