package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestSchnorrEndToEnd creates FROST Ed25519 and BIP340 keys on a devnet and signs with every
// pair of signers; the signatures are checked with crypto/ed25519 and btcec's schnorr, neither of
// which shares code with the engines.
func TestSchnorrEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	for _, tc := range []struct {
		scheme string
		verify func(t *testing.T, pub, msg, sig []byte)
	}{
		{"ed25519", func(t *testing.T, pub, msg, sig []byte) {
			if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
				t.Fatalf("crypto/ed25519 rejects the signature %x under %x", sig, pub)
			}
		}},
		{"bip340", func(t *testing.T, pub, msg, sig []byte) {
			pk, err := schnorr.ParsePubKey(pub)
			if err != nil {
				t.Fatalf("x-only key %x: %v", pub, err)
			}
			s, err := schnorr.ParseSignature(sig)
			if err != nil || !s.Verify(msg, pk) {
				t.Fatalf("btcec rejects the BIP340 signature %x (%v)", sig, err)
			}
		}},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			var key api.Key
			d.cliJSON(t, &key, "key", "create", "--scheme", tc.scheme, "--label", "k-"+tc.scheme)
			pub, err := hex.DecodeString(key.PublicKey)
			if err != nil || len(pub) != 32 || key.Scheme != tc.scheme {
				t.Fatalf("key create printed %+v", key)
			}
			for _, parties := range []string{"1,2", "1,3", "2,3"} {
				digest := randomHex32()
				var sig api.SignResponse
				d.cliJSON(t, &sig, "sign", "--key", key.ID, "--digest", digest, "--parties", parties)
				if sig.RecoveryID != nil {
					t.Fatalf("a %s signature came with a recovery id", tc.scheme)
				}
				msg, _ := hex.DecodeString(digest)
				s, _ := hex.DecodeString(sig.Signature)
				tc.verify(t, pub, msg, s)
			}
		})
	}
}
