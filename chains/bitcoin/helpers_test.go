package bitcoin

import (
	"bytes"
	"context"
	"testing"

	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// outputFor is the output script a test signer's key spends.
func outputFor(t testing.TB, s *chaintest.Signer) []byte {
	t.Helper()
	var spk []byte
	var err error
	switch s.Scheme() {
	case protocol.SchemeBIP340:
		spk, err = txscript.PayToTaprootScript(s.Secp256k1Key().PubKey())
	default:
		spk, err = P2WPKHScript(s.PublicKey())
	}
	if err != nil {
		t.Fatal(err)
	}
	return spk
}

// fundingTx is a previous transaction paying the given outputs. Its one input spends a
// made-up outpoint derived from tag, so that different funding transactions differ.
func fundingTx(tag byte, outs ...*wire.TxOut) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{tag, 0xaa}, 0), []byte{0x51}, nil))
	for _, o := range outs {
		tx.AddTxOut(o)
	}
	return tx
}

// spendPSBT is a PSBT spending the given outputs of prev to one P2WPKH output, with no UTXO
// fields yet.
func spendPSBT(t testing.TB, prev *wire.MsgTx, indices ...uint32) *psbt.Packet {
	t.Helper()
	tx := wire.NewMsgTx(2)
	var total int64
	for _, i := range indices {
		h := prev.TxHash()
		tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&h, i), nil, nil))
		total += prev.TxOut[i].Value
	}
	dest, _ := P2WPKHScript(chaintest.Secp256k1("destination").PublicKey())
	tx.AddTxOut(wire.NewTxOut(total-1000, dest))
	pkt, err := psbt.NewFromUnsignedTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

func rawPSBT(t testing.TB, pkt *psbt.Packet) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pkt.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// verifyInputs runs each input's script through txscript's engine with the standardness
// flags, with the spent outputs given independently of the code under test.
func verifyInputs(t *testing.T, tx *wire.MsgTx, spent map[wire.OutPoint]*wire.TxOut) {
	t.Helper()
	fetcher := txscript.NewMultiPrevOutFetcher(spent)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, in := range tx.TxIn {
		out := spent[in.PreviousOutPoint]
		vm, err := txscript.NewEngine(out.PkScript, tx, i, txscript.StandardVerifyFlags, nil, hashes, out.Value, fetcher)
		if err != nil {
			t.Fatalf("input %d: engine: %v", i, err)
		}
		if err := vm.Execute(); err != nil {
			t.Fatalf("input %d: script does not verify: %v", i, err)
		}
	}
}

// spentOutputs maps each output of prev to its outpoint.
func spentOutputs(prevs ...*wire.MsgTx) map[wire.OutPoint]*wire.TxOut {
	m := map[wire.OutPoint]*wire.TxOut{}
	for _, p := range prevs {
		h := p.TxHash()
		for i, o := range p.TxOut {
			m[*wire.NewOutPoint(&h, uint32(i))] = o
		}
	}
	return m
}

// highS is a Signer that answers with the other valid form of an ECDSA signature, s
// replaced by n - s: valid by itself, but not in the form the Signer contract promises.
type highS struct{ *chaintest.Signer }

func (h highS) SignDigest(ctx context.Context, d [32]byte) (chains.Signature, error) {
	sig, err := h.Signer.SignDigest(ctx, d)
	if err != nil {
		return sig, err
	}
	var s secpScalar
	s.SetByteSlice(sig.Sig[32:])
	s.Negate()
	b := s.Bytes()
	out := append(append([]byte(nil), sig.Sig[:32]...), b[:]...)
	return chains.Signature{Sig: out, RecoveryID: sig.RecoveryID ^ 1}, nil
}

// failing is a Signer whose backend fails.
type failing struct{ *chaintest.Signer }

func (failing) SignDigest(context.Context, [32]byte) (chains.Signature, error) {
	return chains.Signature{}, errBackend
}
