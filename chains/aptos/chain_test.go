package aptos

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestAddressVector(t *testing.T) {
	// aptos-go-sdk v1.11.0, crypto/ed25519_test.go (testEd25519PublicKey, testEd25519Address).
	pub, _ := hex.DecodeString("de19e5d1880cac87d57484ce9ed2e84cf0f9599f12e7cc3a52e4e7657a763f2c")
	const want = "0x978c213990c4833df71548df7ce49d54c759d6b6d932de22b24d56060b7af2aa"
	for _, network := range []string{"", "mainnet", "devnet"} {
		got, err := Chain().Address(protocol.SchemeEd25519, pub, network)
		if err != nil || got != want {
			t.Errorf("network %q: Address = %q, %v; want %q", network, got, err, want)
		}
	}
	chaintest.AddressRefusals(t, Chain(), pub, "betanet")
}

// keyAddress derives the address in the test, from the formula in the Aptos docs.
func keyAddress(s *chaintest.Signer) [AddressSize]byte {
	return sha3.Sum256(append(s.PublicKey(), 0))
}

func TestSign(t *testing.T) {
	s := chaintest.Ed25519("aptos")
	for _, c := range []struct {
		name    string
		chainID uint8
		network string
	}{
		{"no network", 1, ""},
		{"mainnet", 1, "mainnet"},
		{"testnet", 2, "testnet"},
		{"devnet", 147, "devnet"},
		{"localnet", 4, "localnet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := testTx{sender: keyAddress(s), chainID: c.chainID, payload: transferPayload}.encode()
			signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: hex.EncodeToString(raw), Network: c.network})
			if err != nil {
				t.Fatal(err)
			}
			got, err := hex.DecodeString(strings.TrimPrefix(signed.Transaction, "0x"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, raw) || len(got) != len(raw)+1+1+32+1+64 {
				t.Fatalf("signed transaction is not raw || authenticator: %x", got)
			}
			auth := got[len(raw):]
			if auth[0] != 0 || auth[1] != 32 || !bytes.Equal(auth[2:34], s.PublicKey()) || auth[34] != 64 {
				t.Fatalf("authenticator is not Ed25519 {public_key, signature}: %x", auth)
			}
			prefix := sha3.Sum256([]byte("APTOS::RawTransaction"))
			if !ed25519.Verify(s.PublicKey(), append(prefix[:], raw...), auth[35:]) {
				t.Fatal("the signature does not verify over the signing message")
			}
			txPrefix := sha3.Sum256([]byte("APTOS::Transaction"))
			hash := sha3.Sum256(append(append(txPrefix[:], 0), got...))
			if signed.TxID != "0x"+hex.EncodeToString(hash[:]) || signed.Signature != hex.EncodeToString(auth[35:]) {
				t.Fatalf("TxID %s, Signature %s", signed.TxID, signed.Signature)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := chaintest.Ed25519("aptos")
	mine := testTx{sender: keyAddress(s), chainID: 1, payload: transferPayload}
	theirs := mine
	theirs.sender = sha3.Sum256([]byte("someone else"))
	for name, req := range map[string]chains.SignRequest{
		"sender is another account":   {Transaction: theirs.hex()},
		"chain id is not the network": {Transaction: mine.hex(), Network: "testnet"},
		"mainnet id on devnet":        {Transaction: mine.hex(), Network: "devnet"},
		"unknown network":             {Transaction: mine.hex(), Network: "betanet"},
		"garbage":                     {Transaction: "0xdeadbeef"},
		"empty":                       {Transaction: ""},
		"trailing bytes":              {Transaction: mine.hex() + "00"},
		"not hex":                     {Transaction: "0xnothex"},
		"odd-length hex":              {Transaction: mine.hex() + "0"},
		"larger than any text":        {Transaction: strings.Repeat("0", chains.MaxTransactionBytes+2)},
	} {
		t.Run(name, func(t *testing.T) { chaintest.SignRefused(t, Chain(), s, req) })
	}
	t.Run("secp256k1 key", func(t *testing.T) {
		chaintest.SignRefused(t, Chain(), chaintest.Secp256k1("aptos"), chains.SignRequest{Transaction: mine.hex()}, "does not use")
	})
	t.Run("tampered signature", func(t *testing.T) {
		chaintest.SignTampered(t, Chain(), chaintest.Ed25519("aptos"), chains.SignRequest{Transaction: mine.hex()})
	})
}
