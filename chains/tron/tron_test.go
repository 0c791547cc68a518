package tron

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// TestAddressVectors checks addresses against Trust Wallet's wallet-core
// (tests/chains/Tron/AddressTests.cpp, TronAddress.FromPublicKey).
func TestAddressVectors(t *testing.T) {
	for _, v := range []struct{ priv, want string }{
		{"2d8f68944bdbfbc0769542fba8fc2d2a3de67393334471624364c7006da2aa54", "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"},
		{"BE88DF1D0BF30A923CB39C3BB953178BAAF3726E8D3CE81E7C8462E046E0D835", "THRF3GuPnvvPzKoaT8pJex5XHmo8NNbCb3"},
	} {
		b, _ := hex.DecodeString(v.priv)
		_, pub := btcec.PrivKeyFromBytes(b)
		for _, network := range []string{"", "mainnet", "nile"} {
			got, err := Chain().Address(protocol.SchemeECDSASecp256k1, pub.SerializeCompressed(), network)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.want {
				t.Fatalf("address %s, want %s", got, v.want)
			}
		}
	}
}

func TestAddressRefusals(t *testing.T) {
	pub := chaintest.Secp256k1("tron").PublicKey()
	_, err := Chain().Address(protocol.SchemeEd25519, make([]byte, 32), "")
	chaintest.WantInvalid(t, err, "does not use ed25519 keys")
	_, err = Chain().Address(protocol.SchemeECDSASecp256k1, pub[1:], "")
	chaintest.WantInvalid(t, err, "want a 33-byte compressed")
	_, err = Chain().Address(protocol.SchemeECDSASecp256k1, pub, "testnet")
	chaintest.WantInvalid(t, err, "no network \"testnet\"")
}

// ownerOf is the 21-byte address of a signer's key.
func ownerOf(t *testing.T, s *chaintest.Signer) []byte {
	t.Helper()
	key, err := btcec.ParsePubKey(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return addressBytes(key)
}

// TestSign signs a transfer and checks the signed Transaction, the id, and the signature by
// recovering its signer with go-ethereum's libsecp256k1 binding (independent of btcec) and
// comparing with the owner address.
func TestSign(t *testing.T) {
	s := chaintest.Secp256k1("tron")
	owner := ownerOf(t, s)
	r := raw(contract(1, param("TransferContract", transfer(owner))))
	signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: hex.EncodeToString(transaction(r)), Network: "shasta"})
	if err != nil {
		t.Fatal(err)
	}
	txid := sha256.Sum256(r)
	if signed.TxID != hex.EncodeToString(txid[:]) {
		t.Fatalf("TxID %s, want SHA-256 of raw_data %x", signed.TxID, txid)
	}
	rsv, _ := hex.DecodeString(signed.Signature)
	if len(rsv) != 65 || rsv[64] > 1 {
		t.Fatalf("signature %x: want r||s||v with v 0 or 1", rsv)
	}
	want := chaintest.Cat(chaintest.PBBytes(1, r), chaintest.PBBytes(2, rsv))
	if signed.Transaction != hex.EncodeToString(want) {
		t.Fatalf("signed transaction %s, want raw_data then the signature: %x", signed.Transaction, want)
	}
	pub, err := crypto.SigToPub(txid[:], rsv)
	if err != nil {
		t.Fatal(err)
	}
	if got := crypto.PubkeyToAddress(*pub); !bytes.Equal(got[:], owner[1:]) {
		t.Fatalf("signature recovers to %x, not the owner %x", got, owner)
	}
	if !crypto.VerifySignature(s.PublicKey(), txid[:], rsv[:64]) {
		t.Fatal("libsecp256k1: signature does not verify (or is high-s)")
	}
}

// TestSignContractTypes signs one contract of each shape: owner at field 1 or 2, type 0
// written by leaving the type out.
func TestSignContractTypes(t *testing.T) {
	s := chaintest.Secp256k1("tron")
	owner := ownerOf(t, s)
	for _, tc := range []struct {
		typ   uint64
		name  string
		value []byte
	}{
		{0, "AccountCreateContract", chaintest.Cat(chaintest.PBBytes(1, owner), chaintest.PBBytes(2, recipient))},
		{2, "TransferAssetContract", chaintest.Cat(chaintest.PBBytes(1, []byte("1000959")), chaintest.PBBytes(2, owner), chaintest.PBVarint(4, 4))},
		{31, "TriggerSmartContract", chaintest.Cat(chaintest.PBBytes(1, owner), chaintest.PBBytes(2, owner), chaintest.PBBytes(4, []byte{0xa9, 0x05, 0x9c, 0xbb}))},
		{54, "FreezeBalanceV2Contract", chaintest.Cat(chaintest.PBBytes(1, owner), chaintest.PBVarint(2, 5_000_000), chaintest.PBVarint(3, 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := raw(contract(tc.typ, param(tc.name, tc.value)))
			signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: hex.EncodeToString(transaction(r))})
			if err != nil {
				t.Fatal(err)
			}
			txid := sha256.Sum256(r)
			rsv, _ := hex.DecodeString(signed.Signature)
			pub, err := crypto.SigToPub(txid[:], rsv)
			if err != nil || !bytes.Equal(crypto.PubkeyToAddress(*pub).Bytes(), owner[1:]) {
				t.Fatalf("signature does not recover to the owner: %v", err)
			}
		})
	}
}

// TestSignRefusals checks that transactions the key must not sign, or that nodes would hash
// differently, are refused before anything is signed.
func TestSignRefusals(t *testing.T) {
	s := chaintest.Secp256k1("tron")
	owner := ownerOf(t, s)
	other := ownerOf(t, chaintest.Secp256k1("someone else"))
	good := transferTx(owner)
	tc := func(name, tx, network, want string) struct{ name, tx, network, want string } {
		return struct{ name, tx, network, want string }{name, tx, network, want}
	}
	h := hex.EncodeToString
	for _, c := range []struct{ name, tx, network, want string }{
		tc("another owner", h(transferTx(other)), "", "not this key's address"),
		tc("owner at the wrong field", h(transaction(raw(contract(2, param("TransferAssetContract", transfer(owner)))))), "", "owner_address is T9yD14Nj9j7xAB4dbGeiX9h8unkL2ynyg7"),
		tc("short owner", h(transaction(raw(contract(1, param("TransferContract", chaintest.PBBytes(1, owner[:20])))))), "", "want 21 bytes starting 0x41"),
		tc("type URL of another type", h(transaction(raw(contract(1, param("TransferAssetContract", transfer(owner)))))), "", "does not match the contract type"),
		tc("unknown contract type", h(transaction(raw(contract(20, param("CustomContract", transfer(owner)))))), "", "contract type 20"),
		tc("two contracts", h(transaction(raw(contract(1, param("TransferContract", transfer(owner))), contract(1, param("TransferContract", transfer(owner)))))), "", "2 contracts"),
		tc("no contract", h(transaction(raw())), "", "0 contracts"),
		tc("permission id", h(transaction(raw(append(contract(1, param("TransferContract", transfer(owner))), chaintest.PBVarint(5, 2)...)))), "", "Permission_id"),
		tc("no parameter", h(transaction(raw(chaintest.PBVarint(1, 1)))), "", "no parameter"),
		tc("two owners", h(transaction(raw(contract(1, param("TransferContract", append(transfer(owner), chaintest.PBBytes(1, owner)...)))))), "", "appears twice"),
		tc("already signed", h(append(good, chaintest.PBBytes(2, make([]byte, 65))...)), "", "already signed"),
		tc("with ret", h(append(good, chaintest.PBBytes(5, nil)...)), "", "ret"),
		tc("auths", h(transaction(append(chaintest.PBBytes(9, nil), raw(contract(1, param("TransferContract", transfer(owner))))...))), "", "auths"),
		tc("raw fields out of order", h(transaction(chaintest.Cat(chaintest.PBVarint(8, 5), chaintest.PBBytes(1, []byte{1, 2}), chaintest.PBBytes(11, contract(1, param("TransferContract", transfer(owner))))))), "", "number order"),
		tc("zero expiration written", h(transaction(chaintest.Cat(chaintest.PBVarint(8, 0), chaintest.PBBytes(11, contract(1, param("TransferContract", transfer(owner))))))), "", "zero value"),
		tc("type 0 written", h(transaction(raw(append(chaintest.PBVarint(1, 0), chaintest.PBBytes(2, param("AccountCreateContract", transfer(owner)))...)))), "", "zero value"),
		tc("unknown raw field", h(transaction(append(raw(contract(1, param("TransferContract", transfer(owner)))), chaintest.PBVarint(19, 1)...))), "", "unknown field 19"),
		tc("two raw_data", h(append(good, good...)), "", "raw_data appears twice"),
		tc("trailing byte", h(append(good, 0x0a)), "", "field 1"),
		tc("non-minimal varint", h(transaction(chaintest.Cat(raw(contract(1, param("TransferContract", transfer(owner)))), []byte{0x90, 0x01, 0x81, 0x00}))), "", "non-minimal varint"),
		tc("group", h(append(good, 0x0b)), "", "group"),
		tc("empty", "", "", "no raw_data"),
		tc("0x prefix", "0x"+h(good), "", "not hex"),
		tc("too long", strings.Repeat("00", chains.MaxTransactionBytes), "", "more than"),
		tc("unknown network", h(good), "mainnet-beta", "no network"),
	} {
		t.Run(c.name, func(t *testing.T) {
			chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: c.tx, Network: c.network}, c.want)
		})
	}
}

// TestSignTampered checks that a wrong signature from the signer is never returned.
func TestSignTampered(t *testing.T) {
	s := chaintest.Secp256k1("tron")
	chaintest.SignTampered(t, Chain(), s, chains.SignRequest{Transaction: hex.EncodeToString(transferTx(ownerOf(t, s)))})
}

func TestSignWrongScheme(t *testing.T) {
	chaintest.SignRefused(t, Chain(), chaintest.Ed25519("tron"), chains.SignRequest{Transaction: "0a00"}, "does not use ed25519 keys")
}
