package bls

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// shareVersion is the version of the share serialization written by this package.
	shareVersion = 1

	// maxShareSize bounds a serialized share (about 17 KiB for the largest cluster).
	maxShareSize = 64 << 10
)

// share is one party's decoded key share. It holds a secret: it prints without it, and
// callers zeroize it (wipe) once done.
type share struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	secret       *blst.Scalar // x_self
	publicKey    *blst.P1Affine
	publicShares []*blst.P1Affine // PK_m, aligned with parties
}

// shareJSON is the serialized form of a share (byte strings in standard base64):
//
//	{"version":1,"scheme":"bls12-381","threshold":t,"parties":[1,2,3],"self":p,
//	 "secret":<32-byte big-endian x_p>,"public_key":<48-byte compressed group key>,
//	 "public_shares":[<48-byte compressed PK_m>, ... one per party, in the order of parties]}
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
	return fmt.Sprintf("bls.share{%s of %v, threshold %d, public key %x}", s.self, s.parties, s.threshold, s.publicKey.Compress())
}

// GoString is String, so that %#v does not print the secret either.
func (s share) GoString() string { return s.String() }

// PublicShares returns the 48-byte compressed group public key recorded in a serialized share
// and every party's public share PK_m = x_m·G1, which is what a partial signature of party m
// verifies against.
func PublicShares(b []byte) (groupKey []byte, byParty map[protocol.PartyID][]byte, err error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, nil, err
	}
	defer s.wipe()
	byParty = make(map[protocol.PartyID][]byte, len(s.parties))
	for i, p := range s.parties {
		byParty[p] = s.publicShares[i].Compress()
	}
	return s.publicKey.Compress(), byParty, nil
}

// publicShare returns PK_p, or nil if p holds no share of the key.
func (s *share) publicShare(p protocol.PartyID) *blst.P1Affine {
	i, ok := slices.BinarySearch(s.parties, p)
	if !ok {
		return nil
	}
	return s.publicShares[i]
}

// wipe zeroizes the secret.
func (s *share) wipe() {
	if s.secret != nil {
		s.secret.Zeroize()
	}
}

// encode serializes the share; s must be valid.
func (s *share) encode() ([]byte, error) {
	sj := shareJSON{
		Version:   shareVersion,
		Scheme:    protocol.SchemeBLS12381,
		Threshold: s.threshold,
		Parties:   s.parties,
		Self:      s.self,
		Secret:    s.secret.Serialize(),
		PublicKey: s.publicKey.Compress(),
	}
	defer clear(sj.Secret)
	for _, pk := range s.publicShares {
		sj.PublicShares = append(sj.PublicShares, pk.Compress())
	}
	return json.Marshal(sj)
}

// decodeShare decodes and validates a serialized share. Decoding is strict: unknown fields,
// trailing data, another version or scheme are errors. Its errors never quote the secret.
func decodeShare(b []byte) (*share, error) {
	s, err := parseShare(b)
	if err != nil {
		return nil, fmt.Errorf("bls: invalid share: %w", err)
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
	if sj.Scheme != protocol.SchemeBLS12381 {
		return nil, fmt.Errorf("scheme %q (want %s)", sj.Scheme, protocol.SchemeBLS12381)
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

// decodeKeys decodes the secret and the points of sj into s.
func (s *share) decodeKeys(sj shareJSON) error {
	var err error
	if s.secret, err = decodeScalar(sj.Secret); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	if s.publicKey, err = decodeG1(sj.PublicKey); err != nil {
		return fmt.Errorf("public_key: %w", err)
	}
	if len(sj.PublicShares) != len(s.parties) {
		return fmt.Errorf("%d public shares for %d parties", len(sj.PublicShares), len(s.parties))
	}
	s.publicShares = make([]*blst.P1Affine, len(sj.PublicShares))
	for i, b := range sj.PublicShares {
		if s.publicShares[i], err = decodeG1(b); err != nil {
			return fmt.Errorf("public share of %s: %w", s.parties[i], err)
		}
	}
	return nil
}

// check verifies that the secret matches the own public share and that all public shares lie
// on one polynomial of degree t-1 whose value at 0 is the group key.
func (s *share) check() error {
	if !g1Mul(s.secret).ToAffine().Equals(s.publicShare(s.self)) {
		return errors.New("secret does not match the own public share")
	}
	t := s.threshold
	base, basePoints := s.parties[:t], s.publicShares[:t]
	pk, err := interpolateG1(base, basePoints, nil)
	if err != nil || !pk.Equals(s.publicKey) {
		return errors.New("public shares do not interpolate to the group key")
	}
	for i := t; i < len(s.parties); i++ {
		p, err := interpolateG1(base, basePoints, indexScalar(s.parties[i]))
		if err != nil || !p.Equals(s.publicShares[i]) {
			return fmt.Errorf("public share of %s is inconsistent with the others", s.parties[i])
		}
	}
	return nil
}
