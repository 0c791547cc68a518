package stellar

import (
	"encoding/base64"
	"encoding/binary"
)

// xdrWriter writes the XDR the tests feed the decoder, independently of it (the interop tests
// check both against go-stellar-sdk).
type xdrWriter []byte

func (w *xdrWriter) u32(vs ...uint32) *xdrWriter {
	for _, v := range vs {
		*w = binary.BigEndian.AppendUint32(*w, v)
	}
	return w
}

func (w *xdrWriter) u64(v uint64) *xdrWriter { *w = binary.BigEndian.AppendUint64(*w, v); return w }

func (w *xdrWriter) raw(b []byte) *xdrWriter { *w = append(*w, b...); return w }

// opaque writes a variable-length opaque or string with its zero padding.
func (w *xdrWriter) opaque(b []byte) *xdrWriter {
	w.u32(uint32(len(b))).raw(b)
	return w.raw(make([]byte, -len(b)&3))
}

func (w *xdrWriter) str(s string) *xdrWriter { return w.opaque([]byte(s)) }

// account writes an AccountID (PublicKey) or a plain MuxedAccount: both are type 0 and a key.
func (w *xdrWriter) account(key [KeySize]byte) *xdrWriter { return w.u32(0).raw(key[:]) }

// testTx is a Transaction: a source (muxed when muxedID is set), fee 100, seqNum, no
// preconditions unless cond writes them, no memo unless memo writes one, the operations ops
// writes (with their count), and ext v0 unless soroban writes the Soroban data.
type testTx struct {
	source  [KeySize]byte
	muxedID *uint64
	cond    func(*xdrWriter)
	memo    func(*xdrWriter)
	nOps    uint32
	ops     func(*xdrWriter)
	soroban func(*xdrWriter)
}

func (tx testTx) encode() []byte {
	w := &xdrWriter{}
	if tx.muxedID != nil {
		w.u32(keyTypeMuxedEd25519).u64(*tx.muxedID).raw(tx.source[:])
	} else {
		w.account(tx.source)
	}
	w.u32(100).u64(0x0000_1234_0000_0001)
	optionalArm(w, tx.cond)
	optionalArm(w, tx.memo)
	w.u32(tx.nOps)
	if tx.ops != nil {
		tx.ops(w)
	}
	optionalArm(w, tx.soroban)
	return *w
}

// optionalArm writes discriminant 0 (a void arm) when f is nil, else lets f write the arm.
func optionalArm(w *xdrWriter, f func(*xdrWriter)) {
	if f == nil {
		w.u32(0)
		return
	}
	f(w)
}

// envelope is the v1 envelope of tx with no signatures.
func (tx testTx) envelope() []byte {
	w := &xdrWriter{}
	w.u32(envelopeTypeTx).raw(tx.encode()).u32(0)
	return *w
}

func (tx testTx) base64() string { return base64.StdEncoding.EncodeToString(tx.envelope()) }

// payment writes one PAYMENT of 10 XLM to dest, with no operation source.
func payment(dest [KeySize]byte) func(*xdrWriter) {
	return func(w *xdrWriter) {
		w.u32(0, 1).account(dest).u32(0).u64(100_000_000)
	}
}
