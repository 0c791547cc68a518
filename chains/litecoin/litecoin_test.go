package litecoin

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/bitcoin"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestChain(t *testing.T) {
	c := Chain()
	if c.Name() != "litecoin" || !reflect.DeepEqual(c.Networks(), []string{"mainnet", "testnet", "regtest"}) {
		t.Fatalf("%s %v", c.Name(), c.Networks())
	}
	if !reflect.DeepEqual(c.Schemes(), []protocol.Scheme{protocol.SchemeECDSASecp256k1, protocol.SchemeBIP340}) {
		t.Fatalf("schemes %v", c.Schemes())
	}
	if n, err := c.Network(""); err != nil || n != Mainnet {
		t.Fatalf("default network %v, %v", n, err)
	}
	if _, err := c.Network("signet"); !errors.Is(err, chains.ErrInvalid) {
		t.Fatalf("signet: %v", err)
	}
	if _, err := chains.NewRegistry(bitcoin.Bitcoin(), c); err != nil {
		t.Fatal(err)
	}
}

// Address vectors from other implementations:
//   - andkom/php-bitcoin-address tests/P2wpkhTest.php: the P2WPKH output of hash160
//     751e76e8...3bd6 (the key 0279be66...1798) on Litecoin main and test networks;
//   - andkom/php-bitcoin-address tests/P2trTest.php: the P2TR output of BIP86's first output
//     key a60869f0...684c on Litecoin main and test networks;
//   - trustwallet/trust-core Tests/Litecoin/LitecoinTests.swift: the bech32 address of the
//     key of the mainnet WIF T5w6v6Rp...f2xA.
func TestAddressVectors(t *testing.T) {
	g := chaintest.MustHex(t, "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	bip86 := chaintest.MustHex(t, "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c")
	cases := []struct {
		scheme  protocol.Scheme
		pub     []byte
		network string
		want    string
	}{
		{protocol.SchemeECDSASecp256k1, g, "mainnet", "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9"},
		{protocol.SchemeECDSASecp256k1, g, "testnet", "tltc1qw508d6qejxtdg4y5r3zarvary0c5xw7klfsuq0"},
		{protocol.SchemeBIP340, bip86, "mainnet", "ltc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxq4arnzx"},
		{protocol.SchemeBIP340, bip86, "testnet", "tltc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxq7j8dan"},
	}
	for _, c := range cases {
		got, err := Chain().Address(c.scheme, c.pub, c.network)
		if err != nil || got != c.want {
			t.Errorf("%s %s: %s, %v; want %s", c.scheme, c.network, got, err, c.want)
		}
	}

	wif, err := btcutil.DecodeWIF("T5w6v6RpidKc8JMMcRDi6f6xTaEVV52LG2W73mCVesA4ZGWef2xA")
	if err != nil {
		t.Fatal(err)
	}
	if !wif.IsForNet(Mainnet.Params()) {
		t.Fatal("a Litecoin mainnet WIF is not for the mainnet parameters: PrivateKeyID is wrong")
	}
	got, err := Chain().Address(protocol.SchemeECDSASecp256k1, wif.SerializePubKey(), "")
	if err != nil || got != "ltc1qytnqzjknvv03jwfgrsmzt0ycmwqgl0asjnaxwu" {
		t.Fatalf("Trust Wallet vector: %s, %v", got, err)
	}
}

// TestRegtestAddresses: no published regtest vector was found, so the expected addresses
// are built here directly with btcutil/bech32 from the witness program and Litecoin Core's
// regtest prefix "rltc" (bech32 for version 0, bech32m for version 1).
func TestRegtestAddresses(t *testing.T) {
	ec, tap := chaintest.Secp256k1("ltc"), chaintest.BIP340("ltc")
	want := func(version byte, program []byte, enc func(string, []byte) (string, error)) string {
		conv, err := bech32.ConvertBits(program, 8, 5, true)
		if err != nil {
			t.Fatal(err)
		}
		s, err := enc("rltc", append([]byte{version}, conv...))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	got, err := Chain().Address(protocol.SchemeECDSASecp256k1, ec.PublicKey(), "regtest")
	if w := want(0, btcutil.Hash160(ec.PublicKey()), bech32.Encode); err != nil || got != w {
		t.Errorf("P2WPKH: %s, %v; want %s", got, err, w)
	}
	got, err = Chain().Address(protocol.SchemeBIP340, tap.PublicKey(), "regtest")
	if w := want(1, tap.PublicKey(), bech32.EncodeM); err != nil || got != w {
		t.Errorf("P2TR: %s, %v; want %s", got, err, w)
	}
}

// TestSign signs a Litecoin regtest PSBT spending P2WPKH and P2TR outputs through the
// chains.Chain and through bitcoin.SignPSBT, and runs the spends through txscript's engine.
func TestSign(t *testing.T) {
	alice, bob := chaintest.Secp256k1("alice"), chaintest.BIP340("bob")
	aliceSPK, err := bitcoin.P2WPKHScript(alice.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	bobSPK, err := bitcoin.P2TRScript(bob.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	prev := wire.NewMsgTx(2)
	prev.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{1}, 0), []byte{0x51}, nil))
	prev.AddTxOut(wire.NewTxOut(40_000, aliceSPK))
	prev.AddTxOut(wire.NewTxOut(60_000, bobSPK))
	h := prev.TxHash()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&h, 0), nil, nil))
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&h, 1), nil, nil))
	tx.AddTxOut(wire.NewTxOut(99_000, aliceSPK))
	pkt, err := psbt.NewFromUnsignedTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	pkt.Inputs[0].NonWitnessUtxo = prev
	pkt.Inputs[1].NonWitnessUtxo = prev
	var raw bytes.Buffer
	if err := pkt.Serialize(&raw); err != nil {
		t.Fatal(err)
	}

	// Alice through the chains.Chain: her input only; not complete yet.
	signed, err := Chain().Sign(context.Background(), alice, chains.SignRequest{Transaction: base64.StdEncoding.EncodeToString(raw.Bytes()), Network: "regtest"})
	if err != nil {
		t.Fatal(err)
	}
	if signed.TxID != "" {
		t.Fatalf("TxID %q for an incomplete transaction", signed.TxID)
	}
	half, err := bitcoin.DecodePSBT(signed.Transaction)
	if err != nil {
		t.Fatal(err)
	}
	// Bob through SignPSBT, finalizing: complete.
	res, err := bitcoin.SignPSBT(context.Background(), Regtest, []bitcoin.Key{{ID: "bob", Signer: bob, InternalKey: bob.InternalKey()}}, half, bitcoin.SignOptions{Finalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Tx == nil {
		t.Fatalf("complete %v", res.Complete)
	}
	final := new(wire.MsgTx)
	if err := final.Deserialize(bytes.NewReader(res.Tx)); err != nil {
		t.Fatal(err)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(map[wire.OutPoint]*wire.TxOut{
		*wire.NewOutPoint(&h, 0): prev.TxOut[0],
		*wire.NewOutPoint(&h, 1): prev.TxOut[1],
	})
	hashes := txscript.NewTxSigHashes(final, fetcher)
	for i := range final.TxIn {
		out := prev.TxOut[i]
		vm, err := txscript.NewEngine(out.PkScript, final, i, txscript.StandardVerifyFlags, nil, hashes, out.Value, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
}
