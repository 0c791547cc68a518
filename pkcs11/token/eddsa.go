package token

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Ed25519 in PKCS#11 (3.0): keys are CKK_EC_EDWARDS with the curve in CKA_EC_PARAMS and the
// 32-byte public key in CKA_EC_POINT (a DER OCTET STRING, as for ECDSA keys); the signing
// mechanism is CKM_EDDSA. The module offers plain Ed25519 only (PureEdDSA, RFC 8032 5.1): the
// host signs the whole message, so CKM_EDDSA buffers it, up to api.MaxMessageBytes, instead of
// hashing it as CKM_ECDSA_SHA256 does. Ed25519ph and Ed25519ctx are refused.

// wordLen is the size of a CK_ULONG, and of a pointer, on the supported Unix platforms.
const wordLen = strconv.IntSize / 8

// eddsaParamsLen is sizeof(CK_EDDSA_PARAMS) in the C layout: a CK_BBOOL phFlag padded to the
// alignment of the CK_ULONG ulContextDataLen that follows, then the CK_BYTE_PTR pContextData.
const eddsaParamsLen = 3 * wordLen

// checkEdDSAParams accepts the parameter block of CKM_EDDSA when it asks for plain Ed25519:
// none at all, or a CK_EDDSA_PARAMS with phFlag false and an empty context (pContextData is not
// read then). The padding after phFlag is not looked at: C leaves it uninitialized.
func checkEdDSAParams(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) != eddsaParamsLen {
		return ckr(CKR_MECHANISM_PARAM_INVALID, "CKM_EDDSA takes no parameter or a CK_EDDSA_PARAMS of %d bytes, not %d bytes", eddsaParamsLen, len(p))
	}
	ctxLen, _ := ulongValue(p[wordLen : 2*wordLen])
	switch {
	case p[0] != 0:
		return ckr(CKR_MECHANISM_PARAM_INVALID, "Ed25519ph (phFlag true) is not supported: the cluster signs plain Ed25519")
	case ctxLen != 0:
		return ckr(CKR_MECHANISM_PARAM_INVALID, "Ed25519ctx (a context of %d bytes) is not supported: the cluster signs plain Ed25519", ctxLen)
	}
	return nil
}

// ed25519Point decodes the API's hex Ed25519 public key: 32 bytes that encode a curve point.
func ed25519Point(pubHex string) ([]byte, error) {
	raw, err := hex.DecodeString(pubHex)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key is not %d bytes of hex", errBackend, ed25519.PublicKeySize)
	}
	if _, err := new(edwards25519.Point).SetBytes(raw); err != nil {
		return nil, fmt.Errorf("%w: public key is not an Ed25519 point", errBackend)
	}
	return raw, nil
}

// checkMessageLen refuses a CKM_EDDSA message longer than the host signs.
func checkMessageLen(n int) error {
	if n > api.MaxMessageBytes {
		return ckr(CKR_DATA_LEN_RANGE, "an Ed25519 message is at most %d bytes, this one is %d", api.MaxMessageBytes, n)
	}
	return nil
}

// checkSignable refuses what the host cannot be asked to sign with a key. The API marks "no
// message" with an empty one, so an empty Ed25519 message cannot be sent (it still verifies
// locally).
func checkSignable(k *keyObject, payload []byte) error {
	if k.curve == Ed25519 && len(payload) == 0 {
		return ckr(CKR_DATA_LEN_RANGE, "the host cannot sign an empty Ed25519 message")
	}
	return nil
}
