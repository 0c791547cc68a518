package ecdsa

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"

	"github.com/bnb-chain/tss-lib/v3/crypto"
	"github.com/bnb-chain/tss-lib/v3/tss"
	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Curve names as shares record them.
const (
	CurveSecp256k1 = "secp256k1"
	CurveP256      = "P-256"
)

// tssP256 is the name P-256 is registered under in tss-lib's curve registry, which its
// ECPoint JSON uses to find the curve of a stored point.
const tssP256 = tss.CurveName("nist256p1")

func init() { tss.RegisterCurve(tssP256, elliptic.P256()) }

// curve is what the engine needs to know of one curve: what tss-lib computes on, and how to
// check a signature without tss-lib.
type curve struct {
	name   string
	scheme protocol.Scheme
	ec     elliptic.Curve
	// parse checks a 33-byte compressed public key.
	parse func(compressed []byte) error
	// verify checks (r, s) for digest under the compressed key with an implementation that
	// shares no code with tss-lib, and returns the recovery id.
	verify func(compressed []byte, digest [32]byte, r, s *big.Int) (byte, error)
}

var (
	secp256k1Curve = &curve{name: CurveSecp256k1, scheme: protocol.SchemeECDSASecp256k1, ec: tss.S256(), parse: parseK1, verify: verifyK1}
	p256Curve      = &curve{name: CurveP256, scheme: protocol.SchemeECDSAP256, ec: elliptic.P256(), parse: parseP256, verify: verifyP256}
)

// curveByName returns the curve a share names; "" is secp256k1 (shares and configs written
// before P-256 existed).
func curveByName(name string) (*curve, error) {
	switch name {
	case CurveSecp256k1, "":
		return secp256k1Curve, nil
	case CurveP256:
		return p256Curve, nil
	}
	return nil, fmt.Errorf("unsupported curve %q (want %s or %s)", name, CurveSecp256k1, CurveP256)
}

// onCurve reports whether p is a valid point of c.
func (c *curve) onCurve(p *crypto.ECPoint) bool {
	return p != nil && p.Curve() != nil && tss.SameCurve(p.Curve(), c.ec) && p.ValidateBasic()
}

// compress returns the 33-byte compressed SEC1 encoding of p, checked by the curve's parser.
func (c *curve) compress(p *crypto.ECPoint) ([]byte, error) {
	out := make([]byte, 33)
	out[0] = 2 + byte(p.Y().Bit(0))
	p.X().FillBytes(out[1:])
	if err := c.parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseK1(b []byte) error {
	_, err := btcec.ParsePubKey(b)
	return err
}

func verifyK1(compressed []byte, digest [32]byte, r, s *big.Int) (byte, error) {
	pub, err := btcec.ParsePubKey(compressed)
	if err != nil {
		return 0, err
	}
	var rs, ss btcec.ModNScalar
	if rs.SetByteSlice(r.Bytes()) || ss.SetByteSlice(s.Bytes()) {
		return 0, errors.New("r or s out of range")
	}
	if !btcecdsa.NewSignature(&rs, &ss).Verify(digest[:], pub) {
		return 0, errors.New("signature does not verify against the group public key")
	}
	var compact [65]byte
	r.FillBytes(compact[1:33])
	s.FillBytes(compact[33:])
	for id := byte(0); id < 4; id++ {
		compact[0] = 27 + 4 + id // 27: compact-signature magic; +4: compressed key
		got, _, err := btcecdsa.RecoverCompact(compact[:], digest[:])
		if err == nil && got.IsEqual(pub) {
			return id, nil
		}
	}
	return 0, errors.New("no recovery id recovers the group public key")
}

func parseP256(b []byte) error {
	if x, _ := elliptic.UnmarshalCompressed(elliptic.P256(), b); x == nil {
		return errors.New("not a compressed P-256 point")
	}
	return nil
}

// verifyP256 checks with Go's crypto/ecdsa (tss-lib's own final check uses it too; the tests
// verify every P-256 signature with OpenSSL as well) and finds the recovery id by recovering
// the key with plain big-integer arithmetic.
func verifyP256(compressed []byte, digest [32]byte, r, s *big.Int) (byte, error) {
	c := elliptic.P256()
	x, y := elliptic.UnmarshalCompressed(c, compressed)
	if x == nil {
		return 0, errors.New("not a compressed P-256 point")
	}
	if !ecdsa.Verify(&ecdsa.PublicKey{Curve: c, X: x, Y: y}, digest[:], r, s) {
		return 0, errors.New("signature does not verify against the group public key")
	}
	for id := byte(0); id < 4; id++ {
		qx, qy, ok := recoverP256(r, s, digest, id)
		if ok && qx.Cmp(x) == 0 && qy.Cmp(y) == 0 {
			return id, nil
		}
	}
	return 0, errors.New("no recovery id recovers the group public key")
}

// recoverP256 computes Q = r^-1 (s R - e G), where R is the point with x = r + (id>>1) N and
// the y parity id&1 (SEC 1, 4.1.6).
func recoverP256(r, s *big.Int, digest [32]byte, id byte) (*big.Int, *big.Int, bool) {
	c := elliptic.P256()
	params := c.Params()
	x := new(big.Int).Set(r)
	if id>>1 == 1 {
		x.Add(x, params.N)
	}
	if x.Cmp(params.P) >= 0 {
		return nil, nil, false
	}
	// y^2 = x^3 - 3x + b; P-256's p is 3 mod 4, so a root is (y^2)^((p+1)/4).
	y2 := new(big.Int).Exp(x, big.NewInt(3), params.P)
	y2.Sub(y2, new(big.Int).Mul(big.NewInt(3), x))
	y2.Add(y2, params.B)
	y2.Mod(y2, params.P)
	y := new(big.Int).Exp(y2, new(big.Int).Rsh(new(big.Int).Add(params.P, big.NewInt(1)), 2), params.P)
	if new(big.Int).Exp(y, big.NewInt(2), params.P).Cmp(y2) != 0 {
		return nil, nil, false
	}
	if y.Bit(0) != uint(id&1) {
		y.Sub(params.P, y)
	}
	rInv := new(big.Int).ModInverse(r, params.N)
	if rInv == nil {
		return nil, nil, false
	}
	e := new(big.Int).SetBytes(digest[:])
	sRx, sRy := c.ScalarMult(x, y, s.Bytes())
	eGx, eGy := c.ScalarBaseMult(new(big.Int).Mod(e, params.N).Bytes())
	negEGy := new(big.Int).Sub(params.P, eGy)
	sumX, sumY := c.Add(sRx, sRy, eGx, negEGy)
	qx, qy := c.ScalarMult(sumX, sumY, rInv.Bytes())
	return qx, qy, c.IsOnCurve(qx, qy)
}
