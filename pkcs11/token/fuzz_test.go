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
	f.Fuzz(func(t *testing.T, pubT, privT []byte) {
		pub, priv := decodeTemplate(pubT), decodeTemplate(privT)
		if req, err := keygenRequest(pub, priv); err == nil && req.Scheme != "ecdsa-secp256k1" && req.Scheme != "ecdsa-p256" {
			t.Fatalf("accepted a generation request for scheme %q", req.Scheme)
		}
		for _, class := range []uint{CKO_PUBLIC_KEY, CKO_PRIVATE_KEY} {
			_ = (object{obj, class}).matches(pub)
		}
	})
}
