package taproot

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"os"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBIP340Vectors runs BIP340's own test vectors (testdata/bip340-vectors.csv) through the
// verification path every signature of this package takes (verifyBIP340, which is btcec's
// verifier plus an explicit s < n check), and, for the rows with a secret key, checks that
// btcec's signer reproduces the signature from the secret key and aux_rand.
func TestBIP340Vectors(t *testing.T) {
	f, err := os.Open("testdata/bip340-vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 16 || rows[0][0] != "index" {
		t.Fatalf("unexpected vector file: %d rows", len(rows))
	}
	for _, row := range rows[1:] {
		index, sk, pk, aux, msg, sig, want, comment := row[0], row[1], row[2], row[3], row[4], row[5], row[6] == "TRUE", row[7]
		t.Run(index, func(t *testing.T) {
			err := verifyBIP340(unhex(t, pk), unhex(t, msg), unhex(t, sig))
			if (err == nil) != want {
				t.Fatalf("verify = %v, want valid %t (%s)", err, want, comment)
			}
			if sk == "" {
				return
			}
			priv, pub := btcec.PrivKeyFromBytes(unhex(t, sk))
			if got := schnorr.SerializePubKey(pub); !bytes.Equal(got, unhex(t, pk)) {
				t.Fatalf("public key %x, want %s", got, pk)
			}
			s, err := schnorr.Sign(priv, unhex(t, msg), schnorr.CustomNonce([32]byte(unhex(t, aux))))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.Serialize(), unhex(t, sig)) {
				t.Fatalf("signature %x, want %s", s.Serialize(), sig)
			}
		})
	}
}

// TestBIP340RejectsUnreducedS checks the one rule verifyBIP340 adds to btcec: s must be below
// the group order (btcec's ParseSignature reduces it instead).
func TestBIP340RejectsUnreducedS(t *testing.T) {
	// Vector 0's key, message and signature, with s replaced by s + n (which fits in 32 bytes
	// only when s < 2^256 - n; a vector-0-like signature with such a small s would be needed
	// to make it verify, so check the rejection at the encoding level with s = n + 1).
	pk := unhex(t, "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9")
	msg := make([]byte, 32)
	sig := unhex(t, "067E337AD551B2276EC705E43F0920926A9CE08AC68159F9D258C9BBA412781C"+"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364142")
	if err := verifyBIP340(pk, msg, sig); err == nil || !bytes.Contains([]byte(err.Error()), []byte("group order")) {
		t.Fatalf("verify = %v, want an s-range error", err)
	}
}

// TestBIP86Vectors checks the tweak (the package's and the tests' own) against BIP86's test
// vectors: internal key -> output key.
func TestBIP86Vectors(t *testing.T) {
	for _, v := range []struct{ internal, output string }{
		{"cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115", "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"},
		{"83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145", "a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb"},
		{"399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef", "882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc"},
	} {
		got, err := outputKey(unhex(t, v.internal))
		if err != nil || hex.EncodeToString(got) != v.output {
			t.Fatalf("outputKey(%s) = %x, %v; want %s", v.internal, got, err, v.output)
		}
		if byHand := bip86ByHand(t, unhex(t, v.internal)); hex.EncodeToString(byHand) != v.output {
			t.Fatalf("bip86ByHand(%s) = %x; want %s", v.internal, byHand, v.output)
		}
	}
}
