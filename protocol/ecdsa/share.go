package ecdsa

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/bnb-chain/tss-lib/v3/common"
	"github.com/bnb-chain/tss-lib/v3/crypto"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// ShareVersion is the version of the share serialization written by this package.
	ShareVersion = 1

	// maxShareSize bounds a serialized share (about 40 KiB for n = 3).
	maxShareSize = 1 << 20
)

// Share is one party's decoded key share. It holds secrets: it prints without them, but it
// must not be kept longer than needed.
type Share struct {
	curve     *curve
	threshold int
	parties   []protocol.PartyID
	self      protocol.PartyID
	publicKey []byte // 33-byte compressed SEC1
	save      keygen.LocalPartySaveData
}

// shareJSON is the serialized form of a Share:
//
//	{"version":1,"curve":"secp256k1" or "P-256","threshold":t,"parties":[1,2,3],"self":p,
//	 "public_key":"<hex of the 33-byte compressed group key>","save":<tss-lib LocalPartySaveData>}
type shareJSON struct {
	Version   int                `json:"version"`
	Curve     string             `json:"curve"`
	Threshold int                `json:"threshold"`
	Parties   []protocol.PartyID `json:"parties"`
	Self      protocol.PartyID   `json:"self"`
	PublicKey string             `json:"public_key"`
	Save      json.RawMessage    `json:"save"`
}

// DecodeShare decodes and validates a share produced by a keygen run. Decoding is strict:
// unknown fields, trailing data, another version or curve are errors. Validation checks the
// share's structure and consistency (party list, own index, key data for every party, points
// on the curve, the own secret matching the own public share, and the public shares
// interpolating to the group key).
func DecodeShare(b []byte) (*Share, error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: invalid share: %w", err)
	}
	return s, nil
}

// PublicKeyFromShare returns the 33-byte compressed group public key of a serialized share.
func PublicKeyFromShare(b []byte) ([]byte, error) {
	s, err := DecodeShare(b)
	if err != nil {
		return nil, err
	}
	return s.PublicKey(), nil
}

// PublicKey returns the 33-byte compressed SEC1 group public key.
func (s *Share) PublicKey() []byte { return slices.Clone(s.publicKey) }

// Threshold returns t, the number of parties needed to sign.
func (s *Share) Threshold() int { return s.threshold }

// Parties returns all n parties of the key, in ascending order.
func (s *Share) Parties() []protocol.PartyID { return slices.Clone(s.parties) }

// Self returns the party this share belongs to.
func (s *Share) Self() protocol.PartyID { return s.self }

// String describes the share without any secret.
func (s Share) String() string {
	return fmt.Sprintf("ecdsa.Share{%s of %v, threshold %d, public key %x}", s.self, s.parties, s.threshold, s.publicKey)
}

// GoString is String, so that %#v does not print secrets either.
func (s Share) GoString() string { return s.String() }

func decodeShare(b []byte) (*Share, error) {
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
	if sj.Version != ShareVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d)", sj.Version, ShareVersion)
	}
	c, err := curveByName(sj.Curve)
	if err != nil || sj.Curve == "" {
		return nil, fmt.Errorf("unsupported curve %q (want %s or %s)", sj.Curve, CurveSecp256k1, CurveP256)
	}
	if len(sj.Save) == 0 || string(sj.Save) == "null" {
		return nil, errors.New("save data missing")
	}
	s := &Share{curve: c, threshold: sj.Threshold, parties: sj.Parties, self: sj.Self}
	if err := protocol.DecodeSecretJSON(sj.Save, &s.save); err != nil {
		return nil, fmt.Errorf("save data: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	pub, err := hex.DecodeString(sj.PublicKey)
	if err != nil || !slices.Equal(pub, s.publicKey) {
		return nil, errors.New("public_key does not match the key in the save data")
	}
	return s, nil
}

// encode serializes the share; s must have passed check.
func (s *Share) encode() ([]byte, error) {
	save, err := json.Marshal(&s.save)
	if err != nil {
		return nil, err
	}
	return json.Marshal(shareJSON{
		Version:   ShareVersion,
		Curve:     s.curve.name,
		Threshold: s.threshold,
		Parties:   s.parties,
		Self:      s.self,
		PublicKey: hex.EncodeToString(s.publicKey),
		Save:      save,
	})
}

// check validates the share and sets s.publicKey from the save data. Its errors never
// include secret values.
func (s *Share) check() error {
	n := len(s.parties)
	if err := checkPartyList("parties", s.parties); err != nil {
		return err
	}
	if !slices.IsSorted(s.parties) {
		return errors.New("parties are not in ascending order")
	}
	if n < 2 {
		return fmt.Errorf("%d parties; at least 2 needed", n)
	}
	if s.threshold < 2 || s.threshold > n {
		return fmt.Errorf("threshold %d out of range [2, %d]", s.threshold, n)
	}
	selfIdx := slices.Index(s.parties, s.self)
	if selfIdx < 0 {
		return fmt.Errorf("self (%s) is not one of the parties", s.self)
	}

	sd := &s.save
	c := s.curve
	curveN := c.ec.Params().N
	if sd.Xi == nil || sd.Xi.Sign() <= 0 || sd.Xi.Cmp(curveN) >= 0 {
		return errors.New("save data: secret share missing or out of range")
	}
	if sd.ShareID == nil || sd.ShareID.Cmp(big.NewInt(int64(s.self))) != 0 {
		return errors.New("save data: share id does not match self")
	}
	for _, l := range []struct {
		name string
		n    int
	}{
		{"Ks", len(sd.Ks)}, {"NTildej", len(sd.NTildej)}, {"H1j", len(sd.H1j)}, {"H2j", len(sd.H2j)},
		{"BigXj", len(sd.BigXj)}, {"PaillierPKs", len(sd.PaillierPKs)},
	} {
		if l.n != n {
			return fmt.Errorf("save data: %s has %d entries for %d parties", l.name, l.n, n)
		}
	}
	for j, p := range s.parties {
		if sd.Ks[j] == nil || sd.Ks[j].Cmp(big.NewInt(int64(p))) != 0 {
			return fmt.Errorf("save data: Ks[%d] does not name %s", j, p)
		}
		if !positive(sd.NTildej[j]) || !positive(sd.H1j[j]) || !positive(sd.H2j[j]) {
			return fmt.Errorf("save data: NTilde, h1 or h2 of %s missing", p)
		}
		if sd.PaillierPKs[j] == nil || !positive(sd.PaillierPKs[j].N) {
			return fmt.Errorf("save data: Paillier key of %s missing", p)
		}
		if !c.onCurve(sd.BigXj[j]) {
			return fmt.Errorf("save data: public share of %s missing or not on %s", p, c.name)
		}
	}
	if !c.onCurve(sd.ECDSAPub) {
		return fmt.Errorf("save data: group public key missing or not on %s", c.name)
	}

	// Own pre-params: complete and consistent with what the others hold about us. (No
	// primality tests here: they would cost every signing ~100 ms; keygen checked them.)
	pp := sd.LocalPreParams
	if !pp.ValidateWithProof() || !positive(pp.PaillierSK.N) || !positive(pp.PaillierSK.LambdaN) ||
		!positive(pp.PaillierSK.PhiN) || !positive(pp.NTildei) || !positive(pp.H1i) || !positive(pp.H2i) {
		return errors.New("save data: own pre-params incomplete")
	}
	if new(big.Int).Mul(pp.PaillierSK.P, pp.PaillierSK.Q).Cmp(pp.PaillierSK.N) != 0 ||
		pp.PaillierSK.N.Cmp(sd.PaillierPKs[selfIdx].N) != 0 ||
		pp.NTildei.Cmp(sd.NTildej[selfIdx]) != 0 || pp.H1i.Cmp(sd.H1j[selfIdx]) != 0 || pp.H2i.Cmp(sd.H2j[selfIdx]) != 0 {
		return errors.New("save data: own pre-params inconsistent with the party data")
	}

	// x_i * G must be our public share, and the public shares of the first t parties must
	// interpolate to the group key.
	if !crypto.ScalarBaseMult(c.ec, sd.Xi).Equals(sd.BigXj[selfIdx]) {
		return errors.New("save data: secret share does not match own public share")
	}
	y, err := interpolate(curveN, sd.Ks[:s.threshold], sd.BigXj[:s.threshold])
	if err != nil || !y.Equals(sd.ECDSAPub) {
		return errors.New("save data: public shares do not interpolate to the group key")
	}

	pub, err := c.compress(sd.ECDSAPub)
	if err != nil {
		return fmt.Errorf("save data: group public key: %w", err)
	}
	s.publicKey = pub
	return nil
}

// interpolate returns sum_j lambda_j * X_j, with lambda_j the Lagrange coefficient at 0 of
// index ks[j] among ks.
func interpolate(n *big.Int, ks []*big.Int, xs []*crypto.ECPoint) (*crypto.ECPoint, error) {
	modN := common.ModInt(n)
	var sum *crypto.ECPoint
	for j := range ks {
		lambda := big.NewInt(1)
		for m := range ks {
			if m == j {
				continue
			}
			den := modN.Sub(ks[m], ks[j])
			if den.Sign() == 0 {
				return nil, errors.New("repeated index")
			}
			lambda = modN.Mul(lambda, modN.Mul(ks[m], modN.ModInverse(den)))
		}
		term := xs[j].ScalarMult(lambda)
		if sum == nil {
			sum = term
			continue
		}
		var err error
		if sum, err = sum.Add(term); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

func positive(v *big.Int) bool { return v != nil && v.Sign() > 0 }
