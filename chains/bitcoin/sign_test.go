package bitcoin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

type secpScalar = btcec.ModNScalar

var errBackend = errors.New("backend down")

// mixed is a transaction spending, from one previous transaction, a P2WPKH output of
// alice (ECDSA), a P2TR output of bob (BIP340) and a P2WPKH output of carol, who is not
// among the signing keys. Every input carries the full previous transaction.
type mixed struct {
	alice, bob, carol *chaintest.Signer
	prev              *wire.MsgTx
	pkt               *psbt.Packet
}

func newMixed(t *testing.T) *mixed {
	m := &mixed{alice: chaintest.Secp256k1("alice"), bob: chaintest.BIP340("bob"), carol: chaintest.Secp256k1("carol")}
	m.prev = fundingTx(1,
		wire.NewTxOut(50_000, outputFor(t, m.alice)),
		wire.NewTxOut(60_000, outputFor(t, m.bob)),
		wire.NewTxOut(70_000, outputFor(t, m.carol)))
	m.pkt = spendPSBT(t, m.prev, 0, 1, 2)
	for i := range m.pkt.Inputs {
		m.pkt.Inputs[i].NonWitnessUtxo = m.prev
	}
	return m
}

func (m *mixed) keys() []Key {
	return []Key{{ID: "alice", Signer: m.alice}, {ID: "bob", Signer: m.bob, InternalKey: m.bob.InternalKey()}}
}

func TestSignPSBTSignsOursAndLeavesOthers(t *testing.T) {
	m := newMixed(t)
	raw := rawPSBT(t, m.pkt)
	res, err := SignPSBT(context.Background(), Regtest, m.keys(), raw, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.SignedInputs, []int{0, 1}) || res.Complete || res.Tx != nil {
		t.Fatalf("signed %v, complete %v, tx %x", res.SignedInputs, res.Complete, res.Tx)
	}
	if m.alice.Calls != 1 || m.bob.Calls != 1 || m.carol.Calls != 0 {
		t.Fatalf("calls: alice %d, bob %d, carol %d", m.alice.Calls, m.bob.Calls, m.carol.Calls)
	}
	before, err := ParsePSBT(raw)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParsePSBT(res.PSBT)
	if err != nil {
		t.Fatalf("SignPSBT wrote a PSBT its own decoder refuses: %v", err)
	}
	if !reflect.DeepEqual(before.Inputs[2], after.Inputs[2]) {
		t.Fatalf("the foreign input changed:\nbefore %+v\nafter  %+v", before.Inputs[2], after.Inputs[2])
	}
	if !reflect.DeepEqual(before.UnsignedTx, after.UnsignedTx) || !reflect.DeepEqual(before.Outputs, after.Outputs) {
		t.Fatal("the unsigned transaction or the outputs changed")
	}

	// Input 0: a partial signature under alice's key, DER + SIGHASH_ALL, valid for the BIP143
	// digest txscript computes; witness_utxo filled in.
	in0 := after.Inputs[0]
	if len(in0.PartialSigs) != 1 || !bytes.Equal(in0.PartialSigs[0].PubKey, m.alice.PublicKey()) {
		t.Fatalf("input 0 partial sigs: %+v", in0.PartialSigs)
	}
	if in0.WitnessUtxo == nil || in0.WitnessUtxo.Value != 50_000 {
		t.Fatalf("input 0 witness_utxo: %+v", in0.WitnessUtxo)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(spentOutputs(m.prev))
	hashes := txscript.NewTxSigHashes(after.UnsignedTx, fetcher)
	der := in0.PartialSigs[0].Signature
	if der[len(der)-1] != byte(txscript.SigHashAll) {
		t.Fatalf("sighash byte %#x", der[len(der)-1])
	}
	digest, err := txscript.CalcWitnessSigHash(m.prev.TxOut[0].PkScript, hashes, txscript.SigHashAll, after.UnsignedTx, 0, 50_000)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ecdsa.ParseDERSignature(der[:len(der)-1])
	if err != nil || !sig.Verify(digest, m.alice.Secp256k1Key().PubKey()) {
		t.Fatalf("input 0 signature does not verify: %v", err)
	}
	if hex.EncodeToString(res.Signatures[0].Signature) != hex.EncodeToString(der) || res.Signatures[0].KeyID != "alice" {
		t.Fatalf("Result.Signatures[0] = %+v", res.Signatures[0])
	}

	// Input 1: a 64-byte key-path signature (SIGHASH_DEFAULT) under bob's output key, and
	// bob's internal key recorded.
	in1 := after.Inputs[1]
	if len(in1.TaprootKeySpendSig) != 64 || !bytes.Equal(in1.TaprootInternalKey, m.bob.InternalKey()) {
		t.Fatalf("input 1: key sig %x, internal key %x", in1.TaprootKeySpendSig, in1.TaprootInternalKey)
	}
	tdigest, err := txscript.CalcTaprootSignatureHash(hashes, txscript.SigHashDefault, after.UnsignedTx, 1, fetcher)
	if err != nil {
		t.Fatal(err)
	}
	ssig, err := schnorr.ParseSignature(in1.TaprootKeySpendSig)
	if err != nil || !ssig.Verify(tdigest, m.bob.Secp256k1Key().PubKey()) {
		t.Fatalf("input 1 signature does not verify: %v", err)
	}

	// Carol signs her input in a second round, finalizing: the transaction is complete and
	// every input executes.
	res2, err := SignPSBT(context.Background(), Regtest, []Key{{ID: "carol", Signer: m.carol}}, res.PSBT, SignOptions{Finalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res2.SignedInputs, []int{2}) || res2.Complete {
		t.Fatalf("round 2: signed %v, complete %v (inputs 0 and 1 are signed but not final)", res2.SignedInputs, res2.Complete)
	}
	final := finalizeAll(t, res2.PSBT)
	verifyInputs(t, final, spentOutputs(m.prev))
}

// finalizeAll finalizes and extracts a PSBT with btcd alone.
func finalizeAll(t *testing.T, raw []byte) *wire.MsgTx {
	t.Helper()
	pkt, err := psbt.NewFromRawBytes(bytes.NewReader(raw), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := psbt.MaybeFinalizeAll(pkt); err != nil {
		t.Fatal(err)
	}
	tx, err := psbt.Extract(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestSignPSBTFinalizes(t *testing.T) {
	m := newMixed(t)
	keys := append(m.keys(), Key{ID: "carol", Signer: m.carol})
	res, err := SignPSBT(context.Background(), Mainnet, keys, rawPSBT(t, m.pkt), SignOptions{Finalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Tx == nil {
		t.Fatalf("complete %v, tx %x", res.Complete, res.Tx)
	}
	tx := decodeTx(t, hex.EncodeToString(res.Tx))
	if tx.TxHash().String() != res.TxID {
		t.Fatalf("TxID %s, tx hashes to %s", res.TxID, tx.TxHash())
	}
	verifyInputs(t, tx, spentOutputs(m.prev))
	// The finalized PSBT extracts to the same transaction with btcd.
	pkt, err := psbt.NewFromRawBytes(bytes.NewReader(res.PSBT), false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := psbt.Extract(pkt)
	if err != nil || again.WitnessHash() != tx.WitnessHash() {
		t.Fatalf("PSBT extracts to another transaction: %v", err)
	}
	// Signing a complete PSBT again signs nothing and returns the same transaction.
	res2, err := SignPSBT(context.Background(), Mainnet, keys, res.PSBT, SignOptions{Finalize: true})
	if err != nil || len(res2.SignedInputs) != 0 || !bytes.Equal(res2.Tx, res.Tx) {
		t.Fatalf("re-signing a final PSBT: %v, signed %v", err, res2.SignedInputs)
	}
}

// TestSignPSBTTaprootWitnessUTXOs signs a taproot-only spend whose inputs carry only
// witness_utxo (enough for BIP341) and an explicit SIGHASH_ALL on one of them.
func TestSignPSBTTaprootWitnessUTXOs(t *testing.T) {
	bob, dave := chaintest.BIP340("bob"), chaintest.BIP340("dave")
	prev := fundingTx(2, wire.NewTxOut(10_000, outputFor(t, bob)), wire.NewTxOut(20_000, outputFor(t, dave)))
	pkt := spendPSBT(t, prev, 0, 1)
	pkt.Inputs[0].WitnessUtxo = prev.TxOut[0]
	pkt.Inputs[1].WitnessUtxo = prev.TxOut[1]
	pkt.Inputs[1].SighashType = txscript.SigHashAll
	keys := []Key{{ID: "bob", Signer: bob}, {ID: "dave", Signer: dave}} // internal keys unknown
	res, err := SignPSBT(context.Background(), Testnet, keys, rawPSBT(t, pkt), SignOptions{Finalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signatures[0].Signature) != 64 || len(res.Signatures[1].Signature) != 65 || res.Signatures[1].Signature[64] != byte(txscript.SigHashAll) {
		t.Fatalf("signature lengths %d, %d", len(res.Signatures[0].Signature), len(res.Signatures[1].Signature))
	}
	verifyInputs(t, decodeTx(t, hex.EncodeToString(res.Tx)), spentOutputs(prev))
}

func TestSignPSBTRefusals(t *testing.T) {
	alice, bob := chaintest.Secp256k1("alice"), chaintest.BIP340("bob")
	prev := fundingTx(3,
		wire.NewTxOut(50_000, outputFor(t, alice)),
		wire.NewTxOut(60_000, outputFor(t, bob)),
		wire.NewTxOut(70_000, outputFor(t, chaintest.Secp256k1("carol"))))
	other := fundingTx(4, wire.NewTxOut(1, []byte{txscript.OP_TRUE}))
	keys := []Key{{ID: "alice", Signer: alice}, {ID: "bob", Signer: bob, InternalKey: bob.InternalKey()}}

	cases := []struct {
		name      string
		build     func(t *testing.T) *psbt.Packet
		fragments []string
	}{
		{"P2WPKH without non_witness_utxo", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 0)
			p.Inputs[0].WitnessUtxo = prev.TxOut[0]
			return p
		}, []string{"input 0", "PSBT_IN_NON_WITNESS_UTXO", "CVE-2020-14199"}},
		{"non_witness_utxo of another transaction", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 0)
			p.Inputs[0].NonWitnessUtxo = other
			return p
		}, []string{"input 0", "PSBT_IN_NON_WITNESS_UTXO", "is not"}},
		{"witness_utxo disagreeing with non_witness_utxo", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 0)
			p.Inputs[0].NonWitnessUtxo = prev
			p.Inputs[0].WitnessUtxo = wire.NewTxOut(5_000_000, prev.TxOut[0].PkScript)
			return p
		}, []string{"input 0", "disagrees"}},
		{"taproot spend with another input's output unknown", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 1, 2)
			p.Inputs[0].WitnessUtxo = prev.TxOut[1]
			return p
		}, []string{"input 0", "input 1 has neither"}},
		{"P2WPKH with SIGHASH_SINGLE", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 0)
			p.Inputs[0].NonWitnessUtxo = prev
			p.Inputs[0].SighashType = txscript.SigHashSingle
			return p
		}, []string{"input 0", "PSBT_IN_SIGHASH_TYPE 0x3"}},
		{"taproot with SIGHASH_ALL|ANYONECANPAY", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 1)
			p.Inputs[0].WitnessUtxo = prev.TxOut[1]
			p.Inputs[0].SighashType = txscript.SigHashAll | txscript.SigHashAnyOneCanPay
			return p
		}, []string{"input 0", "PSBT_IN_SIGHASH_TYPE 0x81"}},
		{"taproot with a merkle root", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 1)
			p.Inputs[0].WitnessUtxo = prev.TxOut[1]
			p.Inputs[0].TaprootMerkleRoot = make([]byte, 32)
			return p
		}, []string{"input 0", "PSBT_IN_TAP_MERKLE_ROOT"}},
		{"taproot with another internal key", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 1)
			p.Inputs[0].WitnessUtxo = prev.TxOut[1]
			p.Inputs[0].TaprootInternalKey = chaintest.BIP340("mallory").InternalKey()
			return p
		}, []string{"input 0", "PSBT_IN_TAP_INTERNAL_KEY", "tweaks"}},
		{"input naming our key with no UTXO", func(t *testing.T) *psbt.Packet {
			p := spendPSBT(t, prev, 0)
			p.Inputs[0].Bip32Derivation = []*psbt.Bip32Derivation{{PubKey: alice.PublicKey(), MasterKeyFingerprint: 1}}
			return p
		}, []string{"input 0", "names key \"alice\"", "neither"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alice.Calls, bob.Calls = 0, 0
			res, err := SignPSBT(context.Background(), Mainnet, keys, rawPSBT(t, c.build(t)), SignOptions{Finalize: true})
			if res != nil {
				t.Fatalf("returned a result with the error %v", err)
			}
			chaintest.WantInvalid(t, err, c.fragments...)
			if alice.Calls+bob.Calls != 0 {
				t.Fatalf("the signer was asked %d times for a PSBT that is refused", alice.Calls+bob.Calls)
			}
		})
	}
}

// TestSignPSBTInputWithoutUTXOLeftAlone: an input that gives no UTXO and names no key of
// ours is someone else's, and is left alone.
func TestSignPSBTInputWithoutUTXOLeftAlone(t *testing.T) {
	alice := chaintest.Secp256k1("alice")
	prev := fundingTx(5, wire.NewTxOut(50_000, outputFor(t, alice)), wire.NewTxOut(1, outputFor(t, chaintest.Secp256k1("carol"))))
	p := spendPSBT(t, prev, 0, 1)
	p.Inputs[0].NonWitnessUtxo = prev
	res, err := SignPSBT(context.Background(), Mainnet, []Key{{ID: "alice", Signer: alice}}, rawPSBT(t, p), SignOptions{Finalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.SignedInputs, []int{0}) || res.Complete {
		t.Fatalf("signed %v, complete %v", res.SignedInputs, res.Complete)
	}
}

// TestSignPSBTBadSignatures: whatever is wrong with what a Signer returns, SignPSBT returns
// an error wrapping ErrSignature and no PSBT.
func TestSignPSBTBadSignatures(t *testing.T) {
	alice, bob := chaintest.Secp256k1("alice"), chaintest.BIP340("bob")
	prev := fundingTx(6, wire.NewTxOut(50_000, outputFor(t, alice)), wire.NewTxOut(60_000, outputFor(t, bob)))
	p := spendPSBT(t, prev, 0, 1)
	p.Inputs[0].NonWitnessUtxo = prev
	p.Inputs[1].NonWitnessUtxo = prev
	raw := rawPSBT(t, p)

	tamperedECDSA, tamperedBIP340 := chaintest.Secp256k1("alice"), chaintest.BIP340("bob")
	tamperedECDSA.Tamper, tamperedBIP340.Tamper = true, true
	cases := map[string][]Key{
		"tampered ECDSA":  {{ID: "alice", Signer: tamperedECDSA}, {ID: "bob", Signer: bob}},
		"tampered BIP340": {{ID: "alice", Signer: alice}, {ID: "bob", Signer: tamperedBIP340}},
		"high-S ECDSA":    {{ID: "alice", Signer: highS{alice}}},
		"wrong key":       {{ID: "alice", Signer: impostor{Signer: chaintest.Secp256k1("mallory"), pub: alice.PublicKey()}}},
	}
	for name, keys := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := SignPSBT(context.Background(), Mainnet, keys, raw, SignOptions{Finalize: true})
			if res != nil || !errors.Is(err, ErrSignature) {
				t.Fatalf("res %v, err %v; want no result and ErrSignature", res, err)
			}
			if errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("a misbehaving signer is reported as bad input: %v", err)
			}
		})
	}
	_, err := SignPSBT(context.Background(), Mainnet, []Key{{ID: "alice", Signer: failing{alice}}}, raw, SignOptions{})
	if !errors.Is(err, errBackend) {
		t.Fatalf("backend error lost: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SignPSBT(ctx, Mainnet, []Key{{ID: "alice", Signer: alice}}, raw, SignOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// impostor claims pub but signs with another key.
type impostor struct {
	*chaintest.Signer
	pub []byte
}

func (i impostor) PublicKey() []byte { return i.pub }

func TestSignPSBTKeyRefusals(t *testing.T) {
	raw := rawPSBT(t, newMixed(t).pkt)
	bob := chaintest.BIP340("bob")
	cases := map[string]struct {
		keys      []Key
		fragments []string
	}{
		"no keys":            {nil, []string{"no keys"}},
		"no signer":          {[]Key{{ID: "x"}}, []string{"no signer"}},
		"Ed25519 key":        {[]Key{{ID: "ed", Signer: chaintest.Ed25519("ed")}}, []string{"key \"ed\"", "scheme ed25519"}},
		"same key twice":     {[]Key{{ID: "a", Signer: bob}, {ID: "b", Signer: bob}}, []string{"same key"}},
		"wrong internal key": {[]Key{{ID: "bob", Signer: bob, InternalKey: chaintest.BIP340("eve").InternalKey()}}, []string{"key \"bob\"", "tweaks"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := SignPSBT(context.Background(), Mainnet, c.keys, raw, SignOptions{})
			chaintest.WantInvalid(t, err, c.fragments...)
		})
	}
	if _, err := SignPSBT(context.Background(), nil, []Key{{ID: "bob", Signer: bob}}, raw, SignOptions{}); err == nil {
		t.Fatal("nil network accepted")
	}
}

func TestSignPSBTGarbage(t *testing.T) {
	keys := []Key{{ID: "alice", Signer: chaintest.Secp256k1("alice")}}
	for name, raw := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("hello, world"),
		"oversized": append(append([]byte(nil), psbtMagic...), make([]byte, MaxPSBTBytes)...),
		"truncated": rawPSBT(t, newMixed(t).pkt)[:100],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := SignPSBT(context.Background(), Mainnet, keys, raw, SignOptions{})
			chaintest.WantInvalid(t, err)
		})
	}
}

func TestChainSign(t *testing.T) {
	alice := chaintest.Secp256k1("alice")
	prev := fundingTx(7, wire.NewTxOut(50_000, outputFor(t, alice)))
	p := spendPSBT(t, prev, 0)
	p.Inputs[0].NonWitnessUtxo = prev
	req := chains.SignRequest{Transaction: base64.StdEncoding.EncodeToString(rawPSBT(t, p)), Network: "regtest"}
	signed, err := Bitcoin().Sign(context.Background(), alice, req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(signed.Transaction)
	if err != nil {
		t.Fatal(err)
	}
	tx := finalizeAll(t, raw) // already final: extraction only
	verifyInputs(t, tx, spentOutputs(prev))
	if signed.TxID != tx.TxHash().String() {
		t.Fatalf("TxID %s, want %s", signed.TxID, tx.TxHash())
	}
	if want := hex.EncodeToString(tx.TxIn[0].Witness[0]); signed.Signature != want {
		t.Fatalf("Signature %s, want the witness signature %s", signed.Signature, want)
	}

	// A PSBT that does not spend the key's address is refused.
	_, err = Bitcoin().Sign(context.Background(), chaintest.Secp256k1("bob"), req)
	chaintest.WantInvalid(t, err, "no input")
	_, err = Bitcoin().Sign(context.Background(), chaintest.Ed25519("ed"), req)
	chaintest.WantInvalid(t, err, "does not use")
	req.Network = "litecoin"
	_, err = Bitcoin().Sign(context.Background(), alice, req)
	chaintest.WantInvalid(t, err, "no network")
	_, err = Bitcoin().Sign(context.Background(), alice, chains.SignRequest{Transaction: string(make([]byte, chains.MaxTransactionBytes+1))})
	chaintest.WantInvalid(t, err, "limit")
}

func TestChainSchemes(t *testing.T) {
	got := Bitcoin().Schemes()
	if !reflect.DeepEqual(got, []protocol.Scheme{protocol.SchemeECDSASecp256k1, protocol.SchemeBIP340}) || Bitcoin().Name() != "bitcoin" {
		t.Fatalf("%s: %v", Bitcoin().Name(), got)
	}
	if _, err := chains.NewRegistry(Bitcoin()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewChain("x"); err == nil {
		t.Fatal("chain without networks accepted")
	}
	if _, err := NewChain("x", Mainnet, Mainnet); err == nil {
		t.Fatal("duplicate network accepted")
	}
}
