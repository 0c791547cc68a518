package sui

import (
	"encoding/base64"
	"encoding/binary"
)

// bcsWriter writes the BCS the tests feed the decoder, independently of it (the interop tests
// check both against sui-go-sdk).
type bcsWriter []byte

func (w *bcsWriter) raw(b ...byte) *bcsWriter { *w = append(*w, b...); return w }

func (w *bcsWriter) uleb(v uint32) *bcsWriter {
	for v >= 0x80 {
		*w = append(*w, byte(v)|0x80)
		v >>= 7
	}
	return w.raw(byte(v))
}

func (w *bcsWriter) u64(v uint64) *bcsWriter { *w = binary.LittleEndian.AppendUint64(*w, v); return w }

func (w *bcsWriter) bytes(b []byte) *bcsWriter { return w.uleb(uint32(len(b))).raw(b...) }

func (w *bcsWriter) str(s string) *bcsWriter { return w.bytes([]byte(s)) }

func (w *bcsWriter) objectRef(id byte) *bcsWriter {
	w.raw(make([]byte, AddressSize-1)...).raw(id).u64(5)
	digest := make([]byte, DigestSize)
	digest[0] = id
	return w.bytes(digest)
}

// testTx is TransactionData::V1 with a programmable transaction written by ptb, a sender, one
// gas coin owned by the sender, and an expiration written by expiry (None when nil).
type testTx struct {
	sender [AddressSize]byte
	ptb    func(*bcsWriter)
	expiry func(*bcsWriter)
}

func (tx testTx) encode() []byte {
	w := &bcsWriter{}
	w.uleb(0).uleb(0) // V1, ProgrammableTransaction
	tx.ptb(w)
	w.raw(tx.sender[:]...)
	w.uleb(1).objectRef(0x9a).raw(tx.sender[:]...).u64(1000).u64(10_000_000)
	if tx.expiry == nil {
		w.uleb(0)
	} else {
		tx.expiry(w)
	}
	return *w
}

func (tx testTx) base64() string { return base64.StdEncoding.EncodeToString(tx.encode()) }

// transferSui is what the SDKs build to send SUI: split the amount off the gas coin and
// transfer the new coin.
func transferSui(w *bcsWriter) {
	recipient := make([]byte, AddressSize)
	recipient[0] = 0x42
	w.uleb(2).uleb(0).bytes([]byte{0x40, 0x42, 0x0f, 0, 0, 0, 0, 0}).uleb(0).bytes(recipient) // Pure(1e6), Pure(address)
	w.uleb(2)
	w.uleb(2).uleb(0).uleb(1).uleb(1).raw(0, 0)                 // SplitCoins(GasCoin, [Input(0)])
	w.uleb(1).uleb(1).uleb(3).raw(0, 0, 0, 0).uleb(1).raw(1, 0) // TransferObjects([NestedResult(0,0)], Input(1))
}

// everyCommand is a programmable transaction with every input kind and every command kind.
func everyCommand(w *bcsWriter) {
	two := [AddressSize]byte{AddressSize - 1: 2}
	w.uleb(6)
	w.uleb(0).bytes([]byte{1})                                // Pure
	w.uleb(1).uleb(0).objectRef(1)                            // ImmOrOwnedObject
	w.uleb(1).uleb(1).raw(make([]byte, 32)...).u64(1).uleb(2) // SharedObject, NonExclusiveWrite
	w.uleb(1).uleb(2).objectRef(3)                            // Receiving
	w.uleb(2).uleb(1).u64(10).uleb(0).uleb(7).raw(two[:]...).str("sui").str("SUI").uleb(0).uleb(1)
	// ^ FundsWithdrawal(MaxAmountU64(10), Balance<0x2::sui::SUI>, Sponsor)
	w.uleb(2).uleb(0).uleb(0).uleb(2).uleb(0) // FundsWithdrawal(EntireBalance, Balance<u64>, Sender)
	w.uleb(7)
	w.uleb(0).raw(two[:]...).str("pay").str("split").uleb(2).uleb(6).uleb(1).uleb(7).raw(two[:]...).str("sui").str("SUI").uleb(0)
	w.uleb(2).uleb(0).uleb(2).raw(0, 0) // MoveCall 0x2::pay::split<vector<u8>, 0x2::sui::SUI>(GasCoin, Result(0))
	w.uleb(1).uleb(1).uleb(0).uleb(1).raw(0, 0)
	w.uleb(2).uleb(1).raw(1, 0).uleb(0)
	w.uleb(3).uleb(1).raw(1, 0).uleb(1).uleb(1).raw(2, 0)
	w.uleb(4).uleb(1).bytes([]byte{0xa1, 0x1c}).uleb(1).raw(two[:]...)
	w.uleb(5).raw(1).uleb(2).uleb(1).uleb(3).raw(0, 0, 1, 0)
	w.uleb(6).uleb(1).bytes([]byte{0xa1}).uleb(0).raw(two[:]...).uleb(2).raw(4, 0)
}

// nestedVectors is a MoveCall with one type argument of n nested vectors around u8.
func nestedVectors(n int) func(*bcsWriter) {
	return func(w *bcsWriter) {
		two := [AddressSize]byte{AddressSize - 1: 2}
		w.uleb(0).uleb(1).uleb(0).raw(two[:]...).str("m").str("f").uleb(1)
		for range n {
			w.uleb(6)
		}
		w.uleb(1).uleb(0)
	}
}
