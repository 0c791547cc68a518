package sui

import (
	"encoding/base64"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// The tests write the BCS they feed the decoder with chaintest.BCS, independently of it (the
// interop tests check both against sui-go-sdk).

// writeObjectRef writes an ObjectRef whose id and digest are made from id.
func writeObjectRef(w *chaintest.BCS, id byte) *chaintest.BCS {
	w.Raw(make([]byte, AddressSize-1)...).Raw(id).U64(5)
	digest := make([]byte, DigestSize)
	digest[0] = id
	return w.Bytes(digest)
}

// testTx is TransactionData::V1 with a programmable transaction written by ptb, a sender, one
// gas coin owned by the sender, and an expiration written by expiry (None when nil).
type testTx struct {
	sender [AddressSize]byte
	ptb    func(*chaintest.BCS)
	expiry func(*chaintest.BCS)
}

func (tx testTx) encode() []byte {
	w := &chaintest.BCS{}
	w.ULEB(0).ULEB(0) // V1, ProgrammableTransaction
	tx.ptb(w)
	w.Raw(tx.sender[:]...)
	writeObjectRef(w.ULEB(1), 0x9a).Raw(tx.sender[:]...).U64(1000).U64(10_000_000)
	if tx.expiry == nil {
		w.ULEB(0)
	} else {
		tx.expiry(w)
	}
	return *w
}

func (tx testTx) base64() string { return base64.StdEncoding.EncodeToString(tx.encode()) }

// transferSui is what the SDKs build to send SUI: split the amount off the gas coin and
// transfer the new coin.
func transferSui(w *chaintest.BCS) {
	recipient := make([]byte, AddressSize)
	recipient[0] = 0x42
	w.ULEB(2).ULEB(0).Bytes([]byte{0x40, 0x42, 0x0f, 0, 0, 0, 0, 0}).ULEB(0).Bytes(recipient) // Pure(1e6), Pure(address)
	w.ULEB(2)
	w.ULEB(2).ULEB(0).ULEB(1).ULEB(1).Raw(0, 0)                 // SplitCoins(GasCoin, [Input(0)])
	w.ULEB(1).ULEB(1).ULEB(3).Raw(0, 0, 0, 0).ULEB(1).Raw(1, 0) // TransferObjects([NestedResult(0,0)], Input(1))
}

// everyCommand is a programmable transaction with every input kind and every command kind.
func everyCommand(w *chaintest.BCS) {
	two := [AddressSize]byte{AddressSize - 1: 2}
	w.ULEB(6)
	w.ULEB(0).Bytes([]byte{1})                                // Pure
	writeObjectRef(w.ULEB(1).ULEB(0), 1)                      // ImmOrOwnedObject
	w.ULEB(1).ULEB(1).Raw(make([]byte, 32)...).U64(1).ULEB(2) // SharedObject, NonExclusiveWrite
	writeObjectRef(w.ULEB(1).ULEB(2), 3)                      // Receiving
	w.ULEB(2).ULEB(1).U64(10).ULEB(0).ULEB(7).Raw(two[:]...).Str("sui").Str("SUI").ULEB(0).ULEB(1)
	// ^ FundsWithdrawal(MaxAmountU64(10), Balance<0x2::sui::SUI>, Sponsor)
	w.ULEB(2).ULEB(0).ULEB(0).ULEB(2).ULEB(0) // FundsWithdrawal(EntireBalance, Balance<u64>, Sender)
	w.ULEB(7)
	w.ULEB(0).Raw(two[:]...).Str("pay").Str("split").ULEB(2).ULEB(6).ULEB(1).ULEB(7).Raw(two[:]...).Str("sui").Str("SUI").ULEB(0)
	w.ULEB(2).ULEB(0).ULEB(2).Raw(0, 0) // MoveCall 0x2::pay::split<vector<u8>, 0x2::sui::SUI>(GasCoin, Result(0))
	w.ULEB(1).ULEB(1).ULEB(0).ULEB(1).Raw(0, 0)
	w.ULEB(2).ULEB(1).Raw(1, 0).ULEB(0)
	w.ULEB(3).ULEB(1).Raw(1, 0).ULEB(1).ULEB(1).Raw(2, 0)
	w.ULEB(4).ULEB(1).Bytes([]byte{0xa1, 0x1c}).ULEB(1).Raw(two[:]...)
	w.ULEB(5).Raw(1).ULEB(2).ULEB(1).ULEB(3).Raw(0, 0, 1, 0)
	w.ULEB(6).ULEB(1).Bytes([]byte{0xa1}).ULEB(0).Raw(two[:]...).ULEB(2).Raw(4, 0)
}

// nestedVectors is a MoveCall with one type argument of n nested vectors around u8.
func nestedVectors(n int) func(*chaintest.BCS) {
	return func(w *chaintest.BCS) {
		two := [AddressSize]byte{AddressSize - 1: 2}
		w.ULEB(0).ULEB(1).ULEB(0).Raw(two[:]...).Str("m").Str("f").ULEB(1)
		for range n {
			w.ULEB(6)
		}
		w.ULEB(1).ULEB(0)
	}
}
