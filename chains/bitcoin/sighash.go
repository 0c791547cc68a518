package bitcoin

import (
	"fmt"

	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// spentOutput is the output input i spends, as the PSBT gives it (already checked by
// ParsePSBT), or nil when the input carries no UTXO field.
func spentOutput(pkt *psbt.Packet, i int) *wire.TxOut {
	in := &pkt.Inputs[i]
	if prev := in.NonWitnessUtxo; prev != nil {
		return prev.TxOut[pkt.UnsignedTx.TxIn[i].PreviousOutPoint.Index]
	}
	return in.WitnessUtxo
}

// prevOutputs is the outputs a PSBT's inputs spend, by outpoint, as far as the PSBT gives
// them. It is the txscript.PrevOutputFetcher every digest here is computed with, so that
// the signer hashes only what the PSBT itself states.
type prevOutputs struct {
	byOutpoint map[wire.OutPoint]*wire.TxOut
	missing    []int // inputs whose spent output the PSBT does not give
}

func collectPrevOutputs(pkt *psbt.Packet) *prevOutputs {
	p := &prevOutputs{byOutpoint: make(map[wire.OutPoint]*wire.TxOut, len(pkt.Inputs))}
	for i, in := range pkt.UnsignedTx.TxIn {
		if out := spentOutput(pkt, i); out != nil {
			p.byOutpoint[in.PreviousOutPoint] = out
		} else {
			p.missing = append(p.missing, i)
		}
	}
	return p
}

// FetchPrevOutput returns the output spent at op. txscript.NewTxSigHashes dereferences the
// answer for every input, so an output the PSBT does not give comes back empty rather than
// nil. That stand-in can only reach a segwit v0 digest, which commits to no other input's
// output; a taproot digest, which commits to all of them, is never computed while any is
// missing (see planTaproot).
func (p *prevOutputs) FetchPrevOutput(op wire.OutPoint) *wire.TxOut {
	if out, ok := p.byOutpoint[op]; ok {
		return out
	}
	return &wire.TxOut{}
}

// witnessV0Digest is the BIP143 digest input idx signs, spending prevOut.
func witnessV0Digest(tx *wire.MsgTx, hashes *txscript.TxSigHashes, idx int, prevOut *wire.TxOut, ht txscript.SigHashType) ([32]byte, error) {
	h, err := txscript.CalcWitnessSigHash(prevOut.PkScript, hashes, ht, tx, idx, prevOut.Value)
	if err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h), nil
}

// taprootDigest is the BIP341 key-path digest input idx signs.
func taprootDigest(tx *wire.MsgTx, hashes *txscript.TxSigHashes, prevs *prevOutputs, idx int, ht txscript.SigHashType) ([32]byte, error) {
	h, err := txscript.CalcTaprootSignatureHash(hashes, ht, tx, idx, prevs)
	if err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h), nil
}

// sigHashType is the sighash type to sign an input with: its PSBT_IN_SIGHASH_TYPE when
// present, else SIGHASH_ALL for segwit v0 and SIGHASH_DEFAULT for taproot. Only ALL (and
// DEFAULT, its taproot equivalent) are signed: the others let someone else change the
// transaction after we sign, which a signer serving requests must not allow silently.
// btcd's PInput keeps an absent field and an explicit 0 alike; Bitcoin Core too treats
// DEFAULT as ALL outside taproot.
func sigHashType(in *psbt.PInput, taproot bool) (txscript.SigHashType, error) {
	switch ht := in.SighashType; {
	case ht == txscript.SigHashDefault && taproot:
		return txscript.SigHashDefault, nil
	case ht == txscript.SigHashDefault, ht == txscript.SigHashAll:
		return txscript.SigHashAll, nil
	default:
		return 0, fmt.Errorf("PSBT_IN_SIGHASH_TYPE %#x is not supported: this signer makes SIGHASH_ALL (or, for taproot, SIGHASH_DEFAULT) signatures only", uint32(ht))
	}
}
