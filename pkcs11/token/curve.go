package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Curve is a curve the module exposes, with the API scheme that uses it, the slot that shows
// its keys and what PKCS#11 says about them.
type Curve struct {
	Scheme   string
	Name     string
	ECParams []byte // the value of CKA_EC_PARAMS (a DER OBJECT IDENTIFIER)
	KeyType  uint   // CKA_KEY_TYPE: CKK_EC or CKK_EC_EDWARDS
	Slot     uint   // the one slot whose sessions see keys on this curve

	keyGen     uint   // CKA_KEY_GEN_MECHANISM
	mechanisms []uint // CKA_ALLOWED_MECHANISMS: what its keys sign and verify with
}

// The supported curves. Ed25519 keys live in a slot of their own (see SlotEdDSA).
//
// Ed25519's CKA_EC_PARAMS is the RFC 8410 object identifier id-Ed25519 (1.3.101.112), not the
// PrintableString "edwards25519" that PKCS#11 3.0 also allows: it is the identifier X.509 and
// OpenSSL use for the key, SoftHSM2 and most tokens store it, pkcs11-provider (since 1.2)
// generates keys with it and reads both, and pkcs11-tool (0.23 and later) reads both but only
// prints the OID form correctly.
var (
	Secp256k1 = &Curve{Scheme: "ecdsa-secp256k1", Name: "secp256k1", ECParams: []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a},
		KeyType: CKK_EC, Slot: SlotECDSA, keyGen: CKM_EC_KEY_PAIR_GEN, mechanisms: ecdsaSignMechanisms}
	P256 = &Curve{Scheme: "ecdsa-p256", Name: "P-256", ECParams: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07},
		KeyType: CKK_EC, Slot: SlotECDSA, keyGen: CKM_EC_KEY_PAIR_GEN, mechanisms: ecdsaSignMechanisms}
	Ed25519 = &Curve{Scheme: "ed25519", Name: "Ed25519", ECParams: []byte{0x06, 0x03, 0x2b, 0x65, 0x70},
		KeyType: CKK_EC_EDWARDS, Slot: SlotEdDSA, keyGen: CKM_EC_EDWARDS_KEY_PAIR_GEN, mechanisms: []uint{CKM_EDDSA}}

	ecdsaSignMechanisms = []uint{CKM_ECDSA, CKM_ECDSA_SHA256}
	// keygenCurves are the curves C_GenerateKeyPair can ask the host for (slot 0 only).
	keygenCurves = []*Curve{Secp256k1, P256}
	curves       = []*Curve{Secp256k1, P256, Ed25519}
)

// curveByScheme finds the curve of an API scheme (nil for schemes no slot shows).
func curveByScheme(scheme string) *Curve {
	for _, c := range curves {
		if c.Scheme == scheme {
			return c
		}
	}
	return nil
}

// keygenCurveByParams finds the curve named by a CKA_EC_PARAMS value among those
// C_GenerateKeyPair supports.
func keygenCurveByParams(params []byte) *Curve {
	for _, c := range keygenCurves {
		if bytes.Equal(c.ECParams, params) {
			return c
		}
	}
	return nil
}

// allows reports whether the curve's keys sign and verify with a mechanism.
func (c *Curve) allows(mech uint) bool { return slices.Contains(c.mechanisms, mech) }

// SignatureLen is the length of every signature the module makes: a raw r||s ECDSA signature
// on the 256-bit curves, and an Ed25519 signature (R||S).
const SignatureLen = 64

// publicPoint decodes the API's hex public key into the bytes of CKA_EC_POINT's OCTET STRING,
// checking that the point is on the curve: 04||X||Y from a 33-byte compressed ECDSA key, the
// 32-byte encoding itself for Ed25519.
func (c *Curve) publicPoint(pubHex string) ([]byte, error) {
	if c == Ed25519 {
		return ed25519Point(pubHex)
	}
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

// verify checks a signature under a public point (as publicPoint returns it) of what the host
// signs for this curve: a 32-byte digest for ECDSA, the whole message for Ed25519.
func (c *Curve) verify(point, payload, sig []byte) bool {
	if len(sig) != SignatureLen {
		return false
	}
	switch c {
	case Secp256k1:
		if len(payload) != 32 {
			return false
		}
		pk, err := btcec.ParsePubKey(point)
		if err != nil {
			return false
		}
		var r, s btcec.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
			return false
		}
		return becdsa.NewSignature(&r, &s).Verify(payload, pk)
	case P256:
		if len(payload) != 32 {
			return false
		}
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return false
		}
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pk, payload, r, s)
	case Ed25519:
		return len(point) == ed25519.PublicKeySize && ed25519.Verify(point, payload, sig)
	}
	return false
}

// signRequest is the API request that signs a payload with a key on this curve: Ed25519 keys
// sign the whole message (PureEdDSA hashes it inside the signature), ECDSA keys a digest.
func (c *Curve) signRequest(payload []byte) api.SignRequest {
	if c == Ed25519 {
		return api.SignRequest{Message: hex.EncodeToString(payload)}
	}
	return api.SignRequest{Digest: hex.EncodeToString(payload)}
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
