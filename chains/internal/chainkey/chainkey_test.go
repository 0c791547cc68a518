package chainkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/chains"
)

// libsecp256k1Signature signs digest with go-ethereum's binding of libsecp256k1, an
// implementation independent of the btcec code this package verifies with, and returns the
// compressed key and the low-s r||s.
func libsecp256k1Signature(t *testing.T, digest [32]byte) (pub, sig []byte) {
	t.Helper()
	seed := sha256.Sum256([]byte("chainkey test"))
	key, err := crypto.ToECDSA(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	rsv, err := crypto.Sign(digest[:], key)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.CompressPubkey(&key.PublicKey), rsv[:64]
}

// highS is sig with s replaced by n - s: the same signature, malleated.
func highS(sig []byte) []byte {
	s := new(big.Int).SetBytes(sig[32:])
	out := bytes.Clone(sig)
	new(big.Int).Sub(crypto.S256().Params().N, s).FillBytes(out[32:])
	return out
}

func TestSecp256k1(t *testing.T) {
	digest := sha256.Sum256([]byte("message"))
	pub, sig := libsecp256k1Signature(t, digest)
	key, err := ParseSecp256k1("test", pub)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := VerifySecp256k1("test", key, digest, sig)
	if err != nil {
		t.Fatal(err)
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(parsed.Serialize(), &rs); err != nil || len(rest) != 0 {
		t.Fatalf("the parsed signature's DER does not decode: %v", err)
	}
	if rs.R.Cmp(new(big.Int).SetBytes(sig[:32])) != 0 || rs.S.Cmp(new(big.Int).SetBytes(sig[32:])) != 0 {
		t.Fatalf("parsed signature (%v, %v) is not %x", rs.R, rs.S, sig)
	}
	other := sha256.Sum256([]byte("another message"))
	n := crypto.S256().Params().N.FillBytes(make([]byte, 32))
	for _, c := range []struct {
		name   string
		digest [32]byte
		sig    []byte
		want   string
	}{
		{"other digest", other, sig, "test: signer returned a signature that does not verify under the key"},
		{"high s", digest, highS(sig), "test: signer returned a high-s signature"},
		{"r is zero", digest, append(make([]byte, 32), sig[32:]...), "r or s out of range"},
		{"s is n", digest, append(bytes.Clone(sig[:32]), n...), "r or s out of range"},
		{"65 bytes", digest, append(bytes.Clone(sig), 0), "a 65-byte signature"},
		{"empty", digest, nil, "a 0-byte signature"},
	} {
		_, err := VerifySecp256k1("test", key, c.digest, c.sig)
		if !errors.Is(err, chains.ErrSignature) || errors.Is(err, chains.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrSignature containing %q", c.name, err, c.want)
		}
	}
}

func TestParseSecp256k1Refusals(t *testing.T) {
	pub, _ := libsecp256k1Signature(t, [32]byte{})
	notOnCurve := append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)
	for _, c := range []struct {
		name string
		pub  []byte
		want string
	}{
		{"uncompressed", append([]byte{4}, make([]byte, 64)...), "test: public key is 65 bytes, want a 33-byte compressed secp256k1 key"},
		{"prefix 0xed", append([]byte{0xed}, pub[1:]...), "want a 33-byte compressed"},
		{"x-only", pub[1:], "public key is 32 bytes"},
		{"not on the curve", notOnCurve, "test: public key is not a secp256k1 point"},
	} {
		_, err := ParseSecp256k1("test", c.pub)
		if !errors.Is(err, chains.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrInvalid containing %q", c.name, err, c.want)
		}
	}
}

// TestEd25519Vector verifies RFC 8032 section 7.1, TEST 2 (a one-byte message).
func TestEd25519Vector(t *testing.T) {
	pub, _ := hex.DecodeString("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
	sig, _ := hex.DecodeString("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
		"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
	msg := []byte{0x72}
	if err := VerifyEd25519("test", pub, msg, sig); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name          string
		pub, msg, sig []byte
		want          error
		text          string
	}{
		{"other message", pub, []byte{0x73}, sig, chains.ErrSignature, "test: signer returned a signature that does not verify under the key"},
		{"flipped bit", pub, msg, append(bytes.Clone(sig[:63]), sig[63]^1), chains.ErrSignature, "does not verify"},
		{"short signature", pub, msg, sig[:63], chains.ErrSignature, "test: signer returned a 63-byte signature, want 64"},
		{"short key", pub[:31], msg, sig, chains.ErrInvalid, "test: public key is 31 bytes, want 32"},
		{"no key", nil, msg, sig, chains.ErrInvalid, "public key is 0 bytes"},
	} {
		err := VerifyEd25519("test", c.pub, c.msg, c.sig)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: err = %v, want %v containing %q", c.name, err, c.want, c.text)
		}
	}
}

// FuzzParseSecp256k1 checks that ParseSecp256k1 never panics, refuses with chains.ErrInvalid,
// and accepts only the compressed encoding of a point.
func FuzzParseSecp256k1(f *testing.F) {
	f.Add(append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...))
	f.Add(append([]byte{3}, make([]byte, 32)...))
	f.Add([]byte{4})
	f.Fuzz(func(t *testing.T, pub []byte) {
		key, err := ParseSecp256k1("fuzz", pub)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !bytes.Equal(key.SerializeCompressed(), pub) {
			t.Fatalf("accepted %x, which is not the compressed encoding of its point", pub)
		}
	})
}

// FuzzVerify checks that neither verifier panics on any signature, and that each refuses
// what the signer returned with chains.ErrSignature unless it is a valid signature.
func FuzzVerify(f *testing.F) {
	edKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	k1Key, _ := ParseSecp256k1("fuzz", crypto.CompressPubkey(&mustKey(f).PublicKey))
	f.Add([]byte("message"), ed25519.Sign(edKey, []byte("message")))
	f.Add([]byte{}, make([]byte, 64))
	f.Add([]byte{1}, []byte{1})
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		if err := VerifyEd25519("fuzz", edKey.Public().(ed25519.PublicKey), msg, sig); err != nil && !errors.Is(err, chains.ErrSignature) {
			t.Fatalf("Ed25519 refusal does not wrap ErrSignature: %v", err)
		} else if err == nil && !ed25519.Verify(edKey.Public().(ed25519.PublicKey), msg, sig) {
			t.Fatal("accepted an Ed25519 signature crypto/ed25519 refuses")
		}
		digest := sha256.Sum256(msg)
		if _, err := VerifySecp256k1("fuzz", k1Key, digest, sig); err != nil && !errors.Is(err, chains.ErrSignature) {
			t.Fatalf("secp256k1 refusal does not wrap ErrSignature: %v", err)
		} else if err == nil && !crypto.VerifySignature(k1Key.SerializeCompressed(), digest[:], sig) {
			t.Fatal("accepted a secp256k1 signature libsecp256k1 refuses")
		}
	})
}

func mustKey(f *testing.F) *ecdsa.PrivateKey {
	seed := sha256.Sum256([]byte("chainkey fuzz"))
	key, err := crypto.ToECDSA(seed[:])
	if err != nil {
		f.Fatal(err)
	}
	return key
}
