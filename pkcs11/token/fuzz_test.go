package token

import (
	"encoding/binary"
	"testing"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// decodeTemplate turns fuzz bytes into an attribute template: repeated
// [type: 4 bytes big-endian][length: 1 byte][value], as a client's CK_ATTRIBUTE array would
// carry them after the C layer has copied them in.
func decodeTemplate(b []byte) []Attribute {
	var out []Attribute
	for len(b) >= 5 && len(out) < 64 {
		typ := uint(binary.BigEndian.Uint32(b))
		n := int(b[4])
		b = b[5:]
		if n > len(b) {
			n = len(b)
		}
		out = append(out, Attribute{Type: typ, Value: b[:n]})
		b = b[n:]
	}
	return out
}

func encodeAttr(typ uint, v []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(typ))
	out = append(out, byte(len(v)))
	return append(out, v...)
}

// FuzzTemplates feeds arbitrary templates to what interprets them: key generation requests
// and object matching. Neither may panic; a generation request that is accepted must name a
// supported scheme.
func FuzzTemplates(f *testing.F) {
	p256 := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	f.Add(append(encodeAttr(CKA_EC_PARAMS, p256), encodeAttr(CKA_LABEL, []byte("k"))...), encodeAttr(CKA_SIGN, []byte{1}))
	f.Add(encodeAttr(CKA_CLASS, []byte{3, 0, 0, 0, 0, 0, 0, 0}), encodeAttr(CKA_EXTRACTABLE, []byte{1}))
	f.Add([]byte{}, []byte{0, 0, 1, 0x80, 3, 1, 2})
	obj, ok, err := newKeyObject(api.Key{ID: "0123456789abcdef0123456789abcdef", Label: "k", Scheme: "ecdsa-p256",
		PublicKey: "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"})
	if err != nil || !ok {
		f.Fatalf("fixture key: %v", err)
	}
	edObj, ok, err := newKeyObject(api.Key{ID: "e", Label: "e", Scheme: "ed25519",
		PublicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"})
	if err != nil || !ok {
		f.Fatalf("fixture Ed25519 key: %v", err)
	}
	f.Fuzz(func(t *testing.T, pubT, privT []byte) {
		pub, priv := decodeTemplate(pubT), decodeTemplate(privT)
		if req, err := keygenRequest(pub, priv); err == nil {
			if req.Scheme != "ecdsa-secp256k1" && req.Scheme != "ecdsa-p256" {
				t.Fatalf("accepted a generation request for scheme %q", req.Scheme)
			}
			if n := len(req.PKCS11ID); n != 0 && (n < 2 || n > 2*api.MaxPKCS11IDBytes) {
				t.Fatalf("accepted a CKA_ID of %d hex digits", n)
			}
		}
		for _, class := range []uint{CKO_PUBLIC_KEY, CKO_PRIVATE_KEY} {
			_ = (object{obj, class}).matches(pub)
			_ = (object{edObj, class}).matches(pub)
		}
	})
}

// FuzzMechanismParams feeds arbitrary parameter blocks to CKM_EDDSA and CKM_ECDSA. Nothing may
// panic; CKM_ECDSA accepts only none, and CKM_EDDSA accepts only none or a CK_EDDSA_PARAMS of
// the C size with phFlag false and no context.
func FuzzMechanismParams(f *testing.F) {
	f.Add([]byte{})
	f.Add(eddsaParams(false, 0, 0))
	f.Add(eddsaParams(true, 0, 0))
	f.Add(eddsaParams(false, 7, 1))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, p []byte) {
		if checkMechanismParam(Mechanism{Type: CKM_ECDSA, Param: p}) == nil && len(p) != 0 {
			t.Fatalf("CKM_ECDSA accepted parameter %x", p)
		}
		err := checkMechanismParam(Mechanism{Type: CKM_EDDSA, Param: p})
		if err != nil {
			if ToCKR(OpOther, err) != CKR_MECHANISM_PARAM_INVALID {
				t.Fatalf("CKM_EDDSA parameter %x: %v", p, err)
			}
			return
		}
		if len(p) == 0 {
			return
		}
		ctxLen, _ := ulongValue(p[wordLen : 2*wordLen])
		if len(p) != eddsaParamsLen || p[0] != 0 || ctxLen != 0 {
			t.Fatalf("CKM_EDDSA accepted parameter %x", p)
		}
	})
}

// FuzzKeyObject feeds arbitrary public keys and application ids from the host to the key
// decoder: no panic, and an accepted key yields the CKA_EC_POINT content of its curve's size
// and a CKA_ID of 1 to 64 bytes.
func FuzzKeyObject(f *testing.F) {
	f.Add("ed25519", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "")
	f.Add("ecdsa-p256", "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", "0a0b")
	f.Add("ecdsa-secp256k1", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", "zz")
	f.Add("bip340", "00", "")
	f.Fuzz(func(t *testing.T, scheme, pubHex, pkcs11ID string) {
		ko, ok, err := newKeyObject(api.Key{ID: "k", Scheme: scheme, PublicKey: pubHex, PKCS11ID: pkcs11ID})
		if err != nil || !ok {
			return
		}
		if len(ko.ckaID) == 0 || len(ko.ckaID) > api.MaxPKCS11IDBytes {
			t.Fatalf("pkcs11_id %q gave a CKA_ID of %d bytes", pkcs11ID, len(ko.ckaID))
		}
		want := 65
		if ko.curve == Ed25519 {
			want = 32
		}
		if len(ko.point) != want {
			t.Fatalf("%s key %q gave a %d-byte point", scheme, pubHex, len(ko.point))
		}
	})
}
