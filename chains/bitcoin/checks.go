package bitcoin

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// checkPacket checks what BIP174 asks of a signer about a PSBT's consistency and btcd's
// parser does not check: each input's UTXO fields against the outpoint it spends and
// against each other, and its scripts against the output they claim to spend.
func checkPacket(pkt *psbt.Packet) error {
	if err := checkDistinctPrevouts(pkt.UnsignedTx); err != nil {
		return err
	}
	for i := range pkt.Inputs {
		where := fmt.Sprintf("input %d", i)
		spent, err := checkUTXOs(where, &pkt.Inputs[i], pkt.UnsignedTx.TxIn[i].PreviousOutPoint)
		if err != nil {
			return err
		}
		if spent != nil {
			if err := checkScripts(where, &pkt.Inputs[i], spent.PkScript); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDistinctPrevouts refuses a transaction that spends one output twice: it can never be
// valid, and the sighash code keys outputs by outpoint.
func checkDistinctPrevouts(tx *wire.MsgTx) error {
	seen := make(map[wire.OutPoint]int, len(tx.TxIn))
	for i, in := range tx.TxIn {
		if j, dup := seen[in.PreviousOutPoint]; dup {
			return chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX: inputs %d and %d both spend %s", j, i, in.PreviousOutPoint)
		}
		seen[in.PreviousOutPoint] = i
	}
	return nil
}

// checkUTXOs checks an input's UTXO fields and returns the output it spends (nil when it
// carries neither). A non_witness_utxo must be the transaction the outpoint names; a
// witness_utxo must describe a segwit output (native or P2SH-wrapped) and, next to a
// non_witness_utxo, must be the same output.
func checkUTXOs(where string, in *psbt.PInput, op wire.OutPoint) (*wire.TxOut, error) {
	var spent *wire.TxOut
	if prev := in.NonWitnessUtxo; prev != nil {
		if txid := prev.TxHash(); txid != op.Hash {
			return nil, chains.Invalid("%s: PSBT_IN_NON_WITNESS_UTXO: transaction %s is not %s, the one the input spends", where, txid, op.Hash)
		}
		if int64(op.Index) >= int64(len(prev.TxOut)) {
			return nil, chains.Invalid("%s: PSBT_IN_NON_WITNESS_UTXO: transaction %s has %d outputs; the input spends output %d", where, op.Hash, len(prev.TxOut), op.Index)
		}
		spent = prev.TxOut[op.Index]
	}
	if w := in.WitnessUtxo; w != nil {
		if !txscript.IsWitnessProgram(w.PkScript) && !txscript.IsPayToScriptHash(w.PkScript) {
			return nil, chains.Invalid("%s: PSBT_IN_WITNESS_UTXO: given for output script %x, which is not segwit", where, w.PkScript)
		}
		if spent != nil && (spent.Value != w.Value || !bytes.Equal(spent.PkScript, w.PkScript)) {
			return nil, chains.Invalid("%s: PSBT_IN_WITNESS_UTXO (%d, %x) disagrees with output %d of PSBT_IN_NON_WITNESS_UTXO (%d, %x)",
				where, w.Value, w.PkScript, op.Index, spent.Value, spent.PkScript)
		}
		if spent == nil {
			spent = w
		}
	}
	return spent, nil
}

// checkScripts checks that a redeem script hashes to the P2SH output spent, and a witness
// script to the P2WSH program (the output's, or the redeem script's when wrapped).
func checkScripts(where string, in *psbt.PInput, spk []byte) error {
	if rs := in.RedeemScript; rs != nil {
		if !txscript.IsPayToScriptHash(spk) || !bytes.Equal(spk[2:22], btcutil.Hash160(rs)) {
			return chains.Invalid("%s: PSBT_IN_REDEEM_SCRIPT does not hash to the spent output's script %x", where, spk)
		}
	}
	if ws := in.WitnessScript; ws != nil {
		program := spk
		if in.RedeemScript != nil {
			program = in.RedeemScript
		}
		h := sha256.Sum256(ws)
		if !txscript.IsPayToWitnessScriptHash(program) || !bytes.Equal(program[2:], h[:]) {
			return chains.Invalid("%s: PSBT_IN_WITNESS_SCRIPT does not hash to the witness program %x", where, program)
		}
	}
	return nil
}
