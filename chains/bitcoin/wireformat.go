package bitcoin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/btcsuite/btcd/wire"
)

// These walkers check the shape of untrusted bytes before btcd's decoders see them. wire's
// transaction decoder allocates for the counts it reads before it reads the elements (a
// 20-byte input can make it allocate tens of megabytes), and psbt's BIP32 and witness readers
// index and allocate from counts they do not bound; here every count is checked against the
// bytes that remain, so anything handed on afterwards costs memory in proportion to its size.

var errTruncated = errors.New("truncated")

// byteReader reads a byte slice front to back, failing instead of panicking at its end.
type byteReader struct{ b []byte }

func (r *byteReader) len() int { return len(r.b) }

func (r *byteReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)) {
		return nil, errTruncated
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

// compactSize reads a Bitcoin CompactSize integer and refuses a non-canonical (longer than
// needed) encoding, as Bitcoin Core does.
func (r *byteReader) compactSize() (uint64, error) {
	first, err := r.take(1)
	if err != nil {
		return 0, err
	}
	var v, min uint64
	switch first[0] {
	case 0xfd:
		b, err := r.take(2)
		if err != nil {
			return 0, err
		}
		v, min = uint64(binary.LittleEndian.Uint16(b)), 0xfd
	case 0xfe:
		b, err := r.take(4)
		if err != nil {
			return 0, err
		}
		v, min = uint64(binary.LittleEndian.Uint32(b)), 0x10000
	case 0xff:
		b, err := r.take(8)
		if err != nil {
			return 0, err
		}
		v, min = binary.LittleEndian.Uint64(b), 0x100000000
	default:
		return uint64(first[0]), nil
	}
	if v < min {
		return 0, fmt.Errorf("non-canonical CompactSize %d", v)
	}
	return v, nil
}

// varBytes reads a CompactSize length and that many bytes.
func (r *byteReader) varBytes() ([]byte, error) {
	n, err := r.compactSize()
	if err != nil {
		return nil, err
	}
	return r.take(n)
}

// count reads a CompactSize element count and refuses one that the remaining bytes cannot
// hold, given that every element takes at least minSize bytes.
func (r *byteReader) count(minSize int) (int, error) {
	n, err := r.compactSize()
	if err != nil {
		return 0, err
	}
	if n > uint64(r.len()/minSize) {
		return 0, fmt.Errorf("count %d does not fit in the %d bytes that follow", n, r.len())
	}
	return int(n), nil
}

// Smallest serializations: an input is an outpoint (36), an empty script (1) and a sequence
// (4); an output is an amount (8) and an empty script (1); a witness item is its length (1).
const (
	minTxInSize  = 36 + 1 + 4
	minTxOutSize = 8 + 1
)

// txShape is what scanTx learns about a serialized transaction.
type txShape struct {
	inputs, outputs int
	witness         bool
}

// scanTx walks one serialized transaction and checks that it is exactly the bytes given:
// plausible counts, every length inside the data, nothing after the lock time. With
// allowWitness, a marker and flag (0x00 0x01) after the version select the BIP144 form;
// without it the transaction must be in the legacy form, as BIP174 requires of the unsigned
// transaction. Other flags (Litecoin's MWEB extension among them) are refused.
func scanTx(b []byte, allowWitness bool) (txShape, error) {
	r := &byteReader{b: b}
	var shape txShape
	if _, err := r.take(4); err != nil { // version
		return shape, err
	}
	if allowWitness && len(r.b) >= 2 && r.b[0] == 0x00 {
		if r.b[1] != 0x01 {
			return shape, fmt.Errorf("unsupported serialization flag %#x", r.b[1])
		}
		r.b = r.b[2:]
		shape.witness = true
	}
	var err error
	if shape.inputs, err = r.count(minTxInSize); err != nil {
		return shape, fmt.Errorf("input count: %w", err)
	}
	if shape.witness && shape.inputs == 0 {
		return shape, errors.New("witness serialization with no inputs")
	}
	for i := 0; i < shape.inputs; i++ {
		if err := scanTxIn(r); err != nil {
			return shape, fmt.Errorf("input %d: %w", i, err)
		}
	}
	if shape.outputs, err = r.count(minTxOutSize); err != nil {
		return shape, fmt.Errorf("output count: %w", err)
	}
	for i := 0; i < shape.outputs; i++ {
		if _, err := scanTxOut(r); err != nil {
			return shape, fmt.Errorf("output %d: %w", i, err)
		}
	}
	if shape.witness {
		for i := 0; i < shape.inputs; i++ {
			if err := scanWitnessStack(r); err != nil {
				return shape, fmt.Errorf("witness %d: %w", i, err)
			}
		}
	}
	if _, err := r.take(4); err != nil { // lock time
		return shape, fmt.Errorf("lock time: %w", err)
	}
	if r.len() != 0 {
		return shape, fmt.Errorf("%d bytes after the lock time", r.len())
	}
	return shape, nil
}

func scanTxIn(r *byteReader) error {
	if _, err := r.take(36); err != nil { // outpoint
		return err
	}
	if _, err := r.varBytes(); err != nil { // scriptSig
		return err
	}
	_, err := r.take(4) // sequence
	return err
}

// scanTxOut reads one output, refusing an amount that does not fit in an int64 (wire would
// turn it into a negative amount).
func scanTxOut(r *byteReader) (*wire.TxOut, error) {
	amount, err := r.take(8)
	if err != nil {
		return nil, err
	}
	v := binary.LittleEndian.Uint64(amount)
	if v > math.MaxInt64 {
		return nil, fmt.Errorf("amount %d is negative as a signed 64-bit integer", v)
	}
	script, err := r.varBytes()
	if err != nil {
		return nil, err
	}
	return wire.NewTxOut(int64(v), append([]byte(nil), script...)), nil
}

func scanWitnessStack(r *byteReader) error {
	n, err := r.count(1)
	if err != nil {
		return err
	}
	for j := 0; j < n; j++ {
		if _, err := r.varBytes(); err != nil {
			return fmt.Errorf("item %d: %w", j, err)
		}
	}
	return nil
}

// parseTxOut decodes a serialized output (PSBT_IN_WITNESS_UTXO) that must be exactly b.
// psbt's own reader takes the script length as one byte and ignores it, so it would misread
// any script of 253 bytes or more and accept a wrong length.
func parseTxOut(b []byte) (*wire.TxOut, error) {
	r := &byteReader{b: b}
	out, err := scanTxOut(r)
	if err != nil {
		return nil, err
	}
	if r.len() != 0 {
		return nil, fmt.Errorf("%d bytes after the output", r.len())
	}
	return out, nil
}

// parseWitnessStack decodes a serialized witness stack (PSBT_IN_FINAL_SCRIPTWITNESS) that
// must be exactly b.
func parseWitnessStack(b []byte) (wire.TxWitness, error) {
	r := &byteReader{b: b}
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	stack := make(wire.TxWitness, n)
	for j := range stack {
		if stack[j], err = r.varBytes(); err != nil {
			return nil, fmt.Errorf("item %d: %w", j, err)
		}
	}
	if r.len() != 0 {
		return nil, fmt.Errorf("%d bytes after the witness stack", r.len())
	}
	return stack, nil
}
