package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// Each single-key signer's signatures verify, and a changed message, signature or key does
// not. (The signers and the verifiers are different libraries only for P-256 and BLS; the
// point here is the encodings and the wiring, and that a wrong answer is caught.)
func TestVerifySingleKeySigners(t *testing.T) {
	for _, scheme := range NativeSchemes {
		t.Run(scheme, func(t *testing.T) {
			signer, err := NewLocalSigner(scheme)
			if err != nil {
				t.Fatal(err)
			}
			other, _ := NewLocalSigner(scheme)
			w, _ := NewSingleKey(signer).NewWorker(context.Background(), 0, 1)
			s, err := w.Sign(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(s); err != nil {
				t.Fatalf("a good signature: %v", err)
			}
			bad := map[string]Signed{}
			m := s
			m.Message = bytes.Clone(s.Message)
			m.Message[0] ^= 1
			bad["changed message"] = m
			g := s
			g.Signature = bytes.Clone(s.Signature)
			g.Signature[len(g.Signature)-1] ^= 1
			bad["changed signature"] = g
			k := s
			k.PublicKey = other.PublicKey()
			bad["other key"] = k
			short := s
			short.Signature = s.Signature[:len(s.Signature)-1]
			bad["short signature"] = short
			for name, b := range bad {
				if err := Verify(b); err == nil {
					t.Errorf("%s: verified", name)
				}
			}
		})
	}
}

func TestVerifyRecoveryID(t *testing.T) {
	k, _ := btcec.NewPrivateKey()
	digest := bytes.Repeat([]byte{7}, 32)
	compact := btcecdsa.SignCompact(k, digest, true)
	v := int(compact[0]-27) & 3
	s := Signed{Scheme: SchemeSecp256k1, PublicKey: k.PubKey().SerializeCompressed(), Message: digest, Signature: compact[1:], RecoveryID: &v}
	if err := Verify(s); err != nil {
		t.Fatalf("right recovery id: %v", err)
	}
	wrong := v ^ 1
	s.RecoveryID = &wrong
	if err := Verify(s); err == nil || !strings.Contains(err.Error(), "recover") {
		t.Fatalf("wrong recovery id: %v", err)
	}
	out := 4
	s.RecoveryID = &out
	if err := Verify(s); err == nil {
		t.Fatal("recovery id 4 accepted")
	}
	// An uncompressed public key is the same key.
	s.RecoveryID = &v
	s.PublicKey = k.PubKey().SerializeUncompressed()
	if err := Verify(s); err != nil {
		t.Fatalf("uncompressed key: %v", err)
	}
}

func TestVerifyRefusesMalformedInput(t *testing.T) {
	for name, s := range map[string]Signed{
		"unknown scheme":           {Scheme: "rsa", PublicKey: make([]byte, 32), Message: make([]byte, 32), Signature: make([]byte, 64)},
		"secp256k1 zero r, s":      {Scheme: SchemeSecp256k1, PublicKey: mustKey(t).PubKey().SerializeCompressed(), Message: make([]byte, 32), Signature: make([]byte, 64)},
		"secp256k1 s over order":   {Scheme: SchemeSecp256k1, PublicKey: mustKey(t).PubKey().SerializeCompressed(), Message: make([]byte, 32), Signature: append(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{0xff}, 32)...)},
		"secp256k1 long digest":    {Scheme: SchemeSecp256k1, PublicKey: mustKey(t).PubKey().SerializeCompressed(), Message: make([]byte, 33), Signature: make([]byte, 64)},
		"p256 off-curve key":       {Scheme: SchemeP256, PublicKey: append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...), Message: make([]byte, 32), Signature: make([]byte, 64)},
		"p256 key of 34 bytes":     {Scheme: SchemeP256, PublicKey: make([]byte, 34), Message: make([]byte, 32), Signature: make([]byte, 64)},
		"ed25519 short key":        {Scheme: SchemeEd25519, PublicKey: make([]byte, 31), Message: nil, Signature: make([]byte, 64)},
		"bip340 bad key":           {Scheme: SchemeBIP340, PublicKey: bytes.Repeat([]byte{0xff}, 32), Message: make([]byte, 32), Signature: make([]byte, 64)},
		"bls wrong sizes":          {Scheme: SchemeBLS, PublicKey: make([]byte, 47), Message: make([]byte, 32), Signature: make([]byte, 96)},
		"bls key not on the curve": {Scheme: SchemeBLS, PublicKey: append([]byte{0x9f}, bytes.Repeat([]byte{0xff}, 47)...), Message: make([]byte, 32), Signature: make([]byte, 96)},
		// The compressed point at infinity (0xc0 then zeros) is refused as a key.
		"bls key at infinity": {Scheme: SchemeBLS, PublicKey: append([]byte{0xc0}, make([]byte, 47)...), Message: make([]byte, 32), Signature: append([]byte{0xc0}, make([]byte, 95)...)},
	} {
		if err := Verify(s); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func mustKey(t *testing.T) *btcec.PrivateKey {
	k, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzVerify(f *testing.F) {
	// A fixed key: fuzzing runs this function in several processes, which must agree on it.
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	msg := make([]byte, 32)
	f.Add(uint8(2), []byte(pub), msg, ed25519.Sign(key, msg))
	f.Add(uint8(4), make([]byte, 48), msg, make([]byte, 96))
	f.Fuzz(func(t *testing.T, which uint8, pubIn, msg, sig []byte) {
		scheme := Schemes[int(which)%len(Schemes)]
		if err := Verify(Signed{Scheme: scheme, PublicKey: pubIn, Message: msg, Signature: sig}); err == nil {
			// Only the seeded valid signature can verify.
			if scheme != SchemeEd25519 || !bytes.Equal(pubIn, pub) {
				t.Fatalf("%s: random input verified", scheme)
			}
		}
	})
}
