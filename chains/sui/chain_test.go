package sui

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"
	"golang.org/x/crypto/blake2b"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// A transaction signed by Sui tooling, transcribed from sui-go-sdk v1.1.2 sui/sui_test.go
// (TestOnWriteTransactionToSui, sui_executeTransactionBlock): its TxBytes and its serialized
// Ed25519 signature.
const (
	vectorTxBytes   = "AAACAQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABQEAAAAAAAAAAQEAjgDW4hJZlqvw654RGR3SdndKkdjoC0pzXQLxja/NUahLowQAAAAAACBEQGwClI9RQX68dzbN7PN29/Pw/Sc1hbtZwNAny7wZ+wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMKc3VpX3N5c3RlbRZyZXF1ZXN0X3dpdGhkcmF3X3N0YWtlAAIBAAABAQC3+Y0yfxn2dDR+HkBkFAglMULW5+UJOnyW7ajN/X2btQEqzrI5x8BMQ6LjmCSgAykfjisdYCcyTfW79nyzDB/PvtZBpwAAAAAAIAm+IREDziwoZLm7lc4ZKegZ2J5viEgoss9zgrFkHLh6t/mNMn8Z9nQ0fh5AZBQIJTFC1uflCTp8lu2ozf19m7XoAwAAAAAAAFDhjyoAAAAAAA=="
	vectorSignature = "ALISOTYXKlmBvQ1Uc4UrlWieczU9cGwkyT0Mg65Y2r6VvriElBGB63JDjqg1714Z8B0m84g3S4yrJIIws+leugKOjKY5Wf3dV/la/GVL26whJPWy7WsrWUH2wtmlmcgN6w=="
)

// TestSignedVector checks the address, the sender and the signing digest against a
// transaction that Sui tooling signed: the signer's address is the transaction's sender, and
// its signature verifies over this package's digest.
func TestSignedVector(t *testing.T) {
	tx, _ := base64.StdEncoding.DecodeString(vectorTxBytes)
	sig, _ := base64.StdEncoding.DecodeString(vectorSignature)
	if len(sig) != 1+SignatureSize+KeySize || sig[0] != ed25519Flag {
		t.Fatalf("vector signature is not an Ed25519 serialized signature: %x", sig)
	}
	pub := sig[1+SignatureSize:]
	data, err := DecodeTransactionData(tx)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := Chain().Address(protocol.SchemeEd25519, pub, "")
	if err != nil || addr != "0x"+hex.EncodeToString(data.Sender[:]) {
		t.Fatalf("address %s (%v), sender 0x%x", addr, err, data.Sender)
	}
	if addr != "0xb7f98d327f19f674347e1e40641408253142d6e7e5093a7c96eda8cdfd7d9bb5" { // the test's Signer
		t.Fatalf("address %s", addr)
	}
	digest := SigningDigest(tx)
	if !ed25519.Verify(pub, digest[:], sig[1:1+SignatureSize]) {
		t.Fatal("the vector's signature does not verify over SigningDigest")
	}
	want := []Command{{Kind: MoveCall, Target: "0x0000000000000000000000000000000000000000000000000000000000000003::sui_system::request_withdraw_stake"}}
	if data.Inputs != 2 || len(data.Commands) != 1 || data.Commands[0] != want[0] || data.GasOwner != data.Sender {
		t.Fatalf("decoded %+v", data)
	}
}

func TestAddressRefuses(t *testing.T) {
	chaintest.AddressRefusals(t, Chain(), make([]byte, 32), "betanet")
}

func keyAddress(s *chaintest.Signer) [AddressSize]byte {
	return blake2b.Sum256(append([]byte{0}, s.PublicKey()...))
}

func TestSign(t *testing.T) {
	s := chaintest.Ed25519("sui")
	for name, tx := range map[string]testTx{
		"transfer SUI":       {sender: keyAddress(s), ptb: transferSui},
		"every command kind": {sender: keyAddress(s), ptb: everyCommand, expiry: func(w *chaintest.BCS) { w.ULEB(1).U64(400) }},
	} {
		t.Run(name, func(t *testing.T) {
			signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: tx.base64(), Network: "testnet"})
			if err != nil {
				t.Fatal(err)
			}
			if signed.Transaction != tx.base64() {
				t.Fatal("the signed transaction is not the unsigned one")
			}
			serialized, err := hex.DecodeString(signed.Signature)
			if err != nil || len(serialized) != 97 || serialized[0] != 0 || string(serialized[65:]) != string(s.PublicKey()) {
				t.Fatalf("Signature %s is not flag || signature || public key", signed.Signature)
			}
			intentMsg := append([]byte{0, 0, 0}, tx.encode()...)
			digest := blake2b.Sum256(intentMsg)
			if !ed25519.Verify(s.PublicKey(), digest[:], serialized[1:65]) {
				t.Fatal("the signature does not verify over blake2b(intent message)")
			}
			id := blake2b.Sum256(append([]byte("TransactionData::"), tx.encode()...))
			if signed.TxID != base58.Encode(id[:]) {
				t.Fatalf("TxID %s", signed.TxID)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := chaintest.Ed25519("sui")
	mine := testTx{sender: keyAddress(s), ptb: transferSui}
	theirs := testTx{sender: blake2b.Sum256([]byte("someone else")), ptb: transferSui}
	for name, req := range map[string]chains.SignRequest{
		"sender is another address": {Transaction: theirs.base64()},
		"unknown network":           {Transaction: mine.base64(), Network: "betanet"},
		"garbage":                   {Transaction: base64.StdEncoding.EncodeToString([]byte("garbage"))},
		"empty":                     {Transaction: ""},
		"trailing bytes":            {Transaction: base64.StdEncoding.EncodeToString(append(mine.encode(), 0))},
		"not base64":                {Transaction: "!!!!"},
		"unpadded base64":           {Transaction: strings.TrimRight(base64.StdEncoding.EncodeToString(append(mine.encode(), 0)), "=")},
		"larger than any text":      {Transaction: strings.Repeat("A", chains.MaxTransactionBytes+4)},
	} {
		t.Run(name, func(t *testing.T) { chaintest.SignRefused(t, Chain(), s, req) })
	}
	t.Run("secp256k1 key", func(t *testing.T) {
		chaintest.SignRefused(t, Chain(), chaintest.Secp256k1("sui"), chains.SignRequest{Transaction: mine.base64()}, "does not use")
	})
	t.Run("tampered signature", func(t *testing.T) {
		chaintest.SignTampered(t, Chain(), chaintest.Ed25519("sui"), chains.SignRequest{Transaction: mine.base64()})
	})
}
