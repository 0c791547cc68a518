package bitcoin

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
)

const (
	// MaxPSBTBytes caps a serialized PSBT. The largest part of a real one is the previous
	// transactions it carries (PSBT_IN_NON_WITNESS_UTXO); a megabyte holds hundreds.
	MaxPSBTBytes = 1 << 20
	// MaxPSBTInputs and MaxPSBTOutputs cap the unsigned transaction: far above any payment a
	// wallet builds, far below what would make signing one request take minutes.
	MaxPSBTInputs  = 1000
	MaxPSBTOutputs = 1000
)

var psbtMagic = []byte("psbt\xff")

// DecodePSBT decodes a PSBT from its text form, base64 (BIP174's and Bitcoin Core's) or hex,
// into its serialized bytes, which SignPSBT and ParsePSBT take. Surrounding white space is
// ignored; anything else that is not canonical base64 or hex is refused.
func DecodePSBT(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if len(text) > 2*MaxPSBTBytes {
		return nil, chains.Invalid("psbt: %d characters is more than any PSBT of at most %d bytes", len(text), MaxPSBTBytes)
	}
	var raw []byte
	var err error
	if len(text) >= 10 && strings.EqualFold(text[:10], hex.EncodeToString(psbtMagic)) {
		raw, err = hex.DecodeString(text)
		if err != nil {
			return nil, chains.Invalid("psbt: bad hex: %v", err)
		}
	} else {
		raw, err = base64.StdEncoding.Strict().DecodeString(text)
		if err != nil {
			return nil, chains.Invalid("psbt: neither base64 nor hex starting with 70736274ff: %v", err)
		}
	}
	if len(raw) > MaxPSBTBytes {
		return nil, chains.Invalid("psbt: %d bytes is over the %d-byte limit", len(raw), MaxPSBTBytes)
	}
	if !bytes.HasPrefix(raw, psbtMagic) {
		return nil, chains.Invalid("psbt: does not start with the magic bytes 70736274ff (psbt 0xff)")
	}
	return raw, nil
}

// EncodePSBT is the base64 text form of a serialized PSBT.
func EncodePSBT(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }

// field is one key-value pair of a PSBT map.
type field struct {
	keyType uint64
	keyData []byte
	value   []byte
}

// ParsePSBT decodes a serialized version 0 PSBT strictly and returns it as btcd's
// psbt.Packet. Beyond psbt.NewFromRawBytes it refuses: more than MaxPSBTBytes, inputs or
// outputs; versions other than 0 and version 2 fields; duplicate keys in any map; key data
// or values of the wrong length for their type; non-canonical sizes; bytes after the last
// map or inside a value after what it holds; a previous transaction (non_witness_utxo)
// whose txid is not the one the input spends, or that disagrees with the input's
// witness_utxo; a witness_utxo for an output that is not segwit; redeem or witness scripts
// that do not hash to the output they claim to spend; an unsigned transaction that spends
// one output twice or carries scriptSigs or witnesses. Every error wraps chains.ErrInvalid
// and names the map ("global", "input 2", "output 0") and the field.
func ParsePSBT(raw []byte) (*psbt.Packet, error) {
	if len(raw) > MaxPSBTBytes {
		return nil, chains.Invalid("psbt: %d bytes is over the %d-byte limit", len(raw), MaxPSBTBytes)
	}
	if !bytes.HasPrefix(raw, psbtMagic) {
		return nil, chains.Invalid("psbt: does not start with the magic bytes 70736274ff (psbt 0xff)")
	}
	r := &byteReader{b: raw[len(psbtMagic):]}
	global, err := readMap(r, "global", globalFields)
	if err != nil {
		return nil, err
	}
	tx, err := unsignedTx(global)
	if err != nil {
		return nil, err
	}
	witnessUTXOs := make([]*wire.TxOut, len(tx.TxIn))
	for i := range tx.TxIn {
		where := fmt.Sprintf("input %d", i)
		m, err := readMap(r, where, inputFields)
		if err != nil {
			return nil, err
		}
		if witnessUTXOs[i], err = checkInputValues(where, m); err != nil {
			return nil, err
		}
	}
	for j := range tx.TxOut {
		where := fmt.Sprintf("output %d", j)
		m, err := readMap(r, where, outputFields)
		if err != nil {
			return nil, err
		}
		if err := checkOutputValues(where, m); err != nil {
			return nil, err
		}
	}
	if r.len() != 0 {
		return nil, chains.Invalid("psbt: %d bytes after the last output map", r.len())
	}
	// Every value psbt.NewFromRawBytes decodes has now been checked to be well formed and
	// bounded; it builds the typed packet.
	pkt, err := psbt.NewFromRawBytes(bytes.NewReader(raw), false)
	if err != nil {
		return nil, chains.Invalid("psbt: %v", err)
	}
	for i, out := range witnessUTXOs {
		if out != nil {
			pkt.Inputs[i].WitnessUtxo = out
		}
	}
	if err := checkPacket(pkt); err != nil {
		return nil, err
	}
	return pkt, nil
}

// readMap reads one key-value map up to its 0x00 separator, checking each field against
// rules and refusing duplicate keys.
func readMap(r *byteReader, where string, rules map[uint64]fieldRule) ([]field, error) {
	var fields []field
	seen := map[string]bool{}
	for {
		key, err := r.varBytes()
		if err != nil {
			return nil, chains.Invalid("%s: key: %v", where, err)
		}
		if len(key) == 0 {
			return fields, nil
		}
		kr := &byteReader{b: key}
		keyType, err := kr.compactSize()
		if err != nil {
			return nil, chains.Invalid("%s: key type: %v", where, err)
		}
		f := field{keyType: keyType, keyData: kr.b}
		name := fieldName(rules, keyType)
		if seen[string(key)] {
			return nil, chains.Invalid("%s: %s: duplicate key %x", where, name, key)
		}
		seen[string(key)] = true
		if f.value, err = r.varBytes(); err != nil {
			return nil, chains.Invalid("%s: %s: value: %v", where, name, err)
		}
		if err := checkField(rules, f); err != nil {
			return nil, chains.Invalid("%s: %s: %v", where, name, err)
		}
		fields = append(fields, f)
	}
}

func checkField(rules map[uint64]fieldRule, f field) error {
	rule, known := rules[f.keyType]
	if !known {
		return nil
	}
	if rule.v2Only {
		return fmt.Errorf("is a PSBT version 2 field, not allowed in a version 0 PSBT")
	}
	if ok, want := rule.key(len(f.keyData)); !ok {
		return fmt.Errorf("key data is %d bytes, want %s", len(f.keyData), want)
	}
	if rule.value != nil {
		if ok, want := rule.value(len(f.value)); !ok {
			return fmt.Errorf("value is %d bytes, want %s", len(f.value), want)
		}
	}
	return nil
}

// unsignedTx finds, checks and decodes the global unsigned transaction, and checks the
// PSBT's version.
func unsignedTx(global []field) (*wire.MsgTx, error) {
	var txBytes []byte
	for i, f := range global {
		switch f.keyType {
		case 0x00:
			if i != 0 {
				// BIP174 leaves the order open, but every writer puts it first and btcd's
				// parser requires it there.
				return nil, chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX must be the first field of the global map")
			}
			txBytes = f.value
		case 0xfb:
			if v := binary.LittleEndian.Uint32(f.value); v != 0 {
				return nil, chains.Invalid("global: PSBT_GLOBAL_VERSION: version %d is not supported; this signer takes version 0 PSBTs", v)
			}
		}
	}
	if txBytes == nil {
		return nil, chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX is missing")
	}
	shape, err := scanTx(txBytes, false)
	if err != nil {
		return nil, chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX: %v", err)
	}
	if shape.inputs > MaxPSBTInputs || shape.outputs > MaxPSBTOutputs {
		return nil, chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX: %d inputs and %d outputs, over the limits of %d and %d",
			shape.inputs, shape.outputs, MaxPSBTInputs, MaxPSBTOutputs)
	}
	tx := new(wire.MsgTx)
	if err := tx.DeserializeNoWitness(bytes.NewReader(txBytes)); err != nil {
		return nil, chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX: %v", err)
	}
	for i, in := range tx.TxIn {
		if len(in.SignatureScript) != 0 {
			return nil, chains.Invalid("global: PSBT_GLOBAL_UNSIGNED_TX: input %d has a scriptSig; the unsigned transaction must carry none", i)
		}
	}
	return tx, nil
}

// checkInputValues checks the values of an input map that psbt decodes without bounds, and
// returns its witness_utxo decoded correctly (nil if absent).
func checkInputValues(where string, fields []field) (*wire.TxOut, error) {
	var witnessUTXO *wire.TxOut
	for _, f := range fields {
		var err error
		switch f.keyType {
		case inNonWitnessUTXO:
			_, err = scanTx(f.value, true)
		case inWitnessUTXO:
			witnessUTXO, err = parseTxOut(f.value)
		case inFinalScriptWitness:
			_, err = parseWitnessStack(f.value)
		case inTapBIP32Derivation:
			err = checkTapDerivation(f.value)
		}
		if err != nil {
			return nil, chains.Invalid("%s: %s: %v", where, fieldName(inputFields, f.keyType), err)
		}
	}
	return witnessUTXO, nil
}

func checkOutputValues(where string, fields []field) error {
	for _, f := range fields {
		if f.keyType == outTapBIP32Derivation {
			if err := checkTapDerivation(f.value); err != nil {
				return chains.Invalid("%s: %s: %v", where, fieldName(outputFields, f.keyType), err)
			}
		}
	}
	return nil
}

// checkTapDerivation checks a BIP371 taproot derivation value: a count of 32-byte leaf
// hashes, the hashes, then a BIP32 derivation.
func checkTapDerivation(v []byte) error {
	r := &byteReader{b: v}
	n, err := r.count(32)
	if err != nil {
		return fmt.Errorf("leaf hash count: %w", err)
	}
	if _, err := r.take(uint64(n) * 32); err != nil {
		return err
	}
	if ok, want := derivation(r.len()); !ok {
		return fmt.Errorf("derivation is %d bytes, want %s", r.len(), want)
	}
	return nil
}
