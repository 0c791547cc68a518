package cosmos

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// FuzzDecodeSignDoc checks that decodeSignDoc never panics, that every refusal wraps
// chains.ErrInvalid, and that whatever it accepts is exactly its own canonical encoding.
func FuzzDecodeSignDoc(f *testing.F) {
	pub := chaintest.Secp256k1("cosmos").PublicKey()
	f.Add(directSignDoc(pub))
	f.Add(signDocBytes([]byte{1}, "c", 0))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeSignDoc(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !bytes.Equal(d.encode(), b) {
			t.Fatalf("accepted a SignDoc that is not its canonical encoding: %x", b)
		}
	})
}

// FuzzCheckSigner checks that checkSigner never panics, refuses with chains.ErrInvalid, and
// accepts only AuthInfos that carry the key.
func FuzzCheckSigner(f *testing.F) {
	pub := chaintest.Secp256k1("cosmos").PublicKey()
	f.Add(authInfo(signerInfo(pubKeyAny(pub), modeSingle(signModeDirect), 7)))
	f.Add(authInfo(signerInfo(pubKeyAny(pub), modeSingle(127), 7)))
	f.Add(authInfo())
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkSigner(b, pub)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !bytes.Contains(b, pub) {
			t.Fatalf("accepted an AuthInfo that does not hold the key: %x", b)
		}
	})
}

// FuzzPrefix checks that prefixFor never panics and that every prefix it accepts makes an
// address.
func FuzzPrefix(f *testing.F) {
	for _, p := range []string{"", "cosmos", "Cosmos", "a b", "!~", "\x00"} {
		f.Add(p)
	}
	pub := chaintest.Secp256k1("cosmos").PublicKey()
	f.Fuzz(func(t *testing.T, network string) {
		p, err := prefixFor(network)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if _, err := encodeAddress(p, pub); err != nil {
			t.Fatalf("accepted prefix %q makes no address: %v", p, err)
		}
	})
}
