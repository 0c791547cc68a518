package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"

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
			if tc.scheme == "bip340" {
				checkInternalKey(t, key)
				// A digest-only scheme refuses a whole message, with a clear status.
				status, apiErr := rawRequest(t, "POST", d.info.API+"/v1/keys/"+key.ID+"/sign", d.token(t), `{"message":"68656c6c6f"}`)
				if status != 400 || !strings.Contains(apiErr.Message, "only Ed25519 keys sign a whole message") {
					t.Fatalf("a message to a bip340 key: %d %+v", status, apiErr)
				}
				return
			}
			// Ed25519 signs whole messages (PureEdDSA), as Solana and CKM_EDDSA need: one of
			// 1232 bytes (Solana's packet limit), from a file, and one given in hex.
			msg := make([]byte, 1232)
			for i := range msg {
				msg[i] = byte(i)
			}
			file := filepath.Join(t.TempDir(), "msg")
			if err := os.WriteFile(file, msg, 0o600); err != nil {
				t.Fatal(err)
			}
			var sig api.SignResponse
			d.cliJSON(t, &sig, "sign", "--key", key.ID, "--message-file", file)
			s, _ := hex.DecodeString(sig.Signature)
			tc.verify(t, pub, msg, s)
			d.cliJSON(t, &sig, "sign", "--key", key.ID, "--message", "68656c6c6f")
			s, _ = hex.DecodeString(sig.Signature)
			tc.verify(t, pub, []byte("hello"), s)
		})
	}
}

// checkInternalKey checks that a BIP340 key's internal key tweaks, by BIP86, to its public
// (output) key, with btcd's taproot code.
func checkInternalKey(t *testing.T, key api.Key) {
	t.Helper()
	internal, err := hex.DecodeString(key.InternalKey)
	if err != nil || len(internal) != 32 {
		t.Fatalf("bip340 key without a 32-byte internal key: %+v", key)
	}
	p, err := schnorr.ParsePubKey(internal)
	if err != nil {
		t.Fatalf("internal key %x: %v", internal, err)
	}
	if got := hex.EncodeToString(schnorr.SerializePubKey(txscript.ComputeTaprootKeyNoScript(p))); got != key.PublicKey {
		t.Fatalf("internal key %s tweaks to %s, not to the public key %s", key.InternalKey, got, key.PublicKey)
	}
}
