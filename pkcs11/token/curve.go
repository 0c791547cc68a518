package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// Curve is an ECDSA curve the module exposes, with the API scheme that uses it.
type Curve struct {
	Scheme   string
	Name     string
	ECParams []byte // DER OBJECT IDENTIFIER, the value of CKA_EC_PARAMS
}

// The supported curves.
var (
	Secp256k1 = &Curve{Scheme: "ecdsa-secp256k1", Name: "secp256k1", ECParams: []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a}}
	P256      = &Curve{Scheme: "ecdsa-p256", Name: "P-256", ECParams: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}
	curves    = []*Curve{Secp256k1, P256}
)

// curveByScheme finds the curve of an API scheme (nil for schemes slot 0 does not show).
func curveByScheme(scheme string) *Curve {
	for _, c := range curves {
		if c.Scheme == scheme {
			return c
		}
	}
	return nil
}

// curveByParams finds the curve named by a CKA_EC_PARAMS value.
func curveByParams(params []byte) *Curve {
	for _, c := range curves {
		if bytes.Equal(c.ECParams, params) {
			return c
		}
	}
	return nil
}

// SignatureLen is the length of a raw r||s signature on the 256-bit curves.
const SignatureLen = 64

// uncompressedPoint decodes the API's hex 33-byte compressed public key into 04||X||Y,
// checking that the point is on the curve.
func (c *Curve) uncompressedPoint(pubHex string) ([]byte, error) {
	raw, err := hex.DecodeString(pubHex)
	if err != nil || len(raw) != 33 {
		return nil, fmt.Errorf("%w: public key is not 33 bytes of hex", errBackend)
	}
	switch c {
	case Secp256k1:
		pk, err := btcec.ParsePubKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBackend, err)
		}
		return pk.SerializeUncompressed(), nil
	case P256:
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), raw)
		if x == nil {
			return nil, fmt.Errorf("%w: public key is not a P-256 point", errBackend)
		}
		out := make([]byte, 65)
		out[0] = 4
		x.FillBytes(out[1:33])
		y.FillBytes(out[33:])
		return out, nil
	}
	return nil, fmt.Errorf("unsupported curve %s", c.Name)
}

// verify checks a raw r||s signature of a 32-byte digest under an uncompressed point.
func (c *Curve) verify(point, digest, sig []byte) bool {
	if len(sig) != SignatureLen || len(digest) != 32 {
		return false
	}
	switch c {
	case Secp256k1:
		pk, err := btcec.ParsePubKey(point)
		if err != nil {
			return false
		}
		var r, s btcec.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
			return false
		}
		return becdsa.NewSignature(&r, &s).Verify(digest, pk)
	case P256:
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return false
		}
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pk, digest, r, s)
	}
	return false
}

// ecdsaDigest turns CKM_ECDSA input (a hash of any length) into the 32-byte value signed on a
// 256-bit curve: the leftmost 32 bytes of a longer input, a shorter one left-padded with zeros.
func ecdsaDigest(data []byte) []byte {
	d := make([]byte, 32)
	if len(data) >= 32 {
		copy(d, data[:32])
	} else {
		copy(d[32-len(data):], data)
	}
	return d
}

// derOctetString wraps b in a DER OCTET STRING (the encoding of CKA_EC_POINT).
func derOctetString(b []byte) []byte {
	if len(b) < 128 {
		return append([]byte{0x04, byte(len(b))}, b...)
	}
	return append([]byte{0x04, 0x81, byte(len(b))}, b...)
}
