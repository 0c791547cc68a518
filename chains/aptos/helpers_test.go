package aptos

import (
	"encoding/hex"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// The tests write the BCS they feed the decoder with chaintest.BCS, independently of it (the
// interop tests check both against aptos-go-sdk).

// testTx is the fixed part of a RawTransaction around a payload written by the test.
type testTx struct {
	sender  [AddressSize]byte
	chainID uint8
	payload func(*chaintest.BCS)
}

func (tx testTx) encode() []byte {
	w := &chaintest.BCS{}
	w.Raw(tx.sender[:]...).U64(7)
	tx.payload(w)
	w.U64(2000).U64(100).U64(1_900_000_000).Raw(tx.chainID)
	return *w
}

func (tx testTx) hex() string { return "0x" + hex.EncodeToString(tx.encode()) }

// transferPayload is EntryFunction 0x1::aptos_account::transfer(to, 1000), what the SDKs
// build for a plain APT transfer.
func transferPayload(w *chaintest.BCS) {
	w.ULEB(2) // TransactionPayload::EntryFunction
	writeEntryFunction(w, "aptos_account", "transfer")
}

func writeEntryFunction(w *chaintest.BCS, module, function string) {
	one := [AddressSize]byte{AddressSize - 1: 1}
	w.Raw(one[:]...).Str(module).Str(function)
	w.ULEB(0)                                  // no type arguments
	w.ULEB(2)                                  // two arguments
	w.Bytes(make([]byte, 32))                  // to: address
	w.Bytes([]byte{0xe8, 3, 0, 0, 0, 0, 0, 0}) // amount: u64 1000
}

// coinTransferPayload is 0x1::coin::transfer<0x1::aptos_coin::AptosCoin>(to, 1000): an entry
// function with a struct type argument.
func coinTransferPayload(w *chaintest.BCS) {
	one := [AddressSize]byte{AddressSize - 1: 1}
	w.ULEB(2).Raw(one[:]...).Str("coin").Str("transfer")
	w.ULEB(1).ULEB(7).Raw(one[:]...).Str("aptos_coin").Str("AptosCoin").ULEB(0)
	w.ULEB(2).Bytes(make([]byte, 32)).Bytes([]byte{0xe8, 3, 0, 0, 0, 0, 0, 0})
}

// nestedVectors writes n nested vector type tags around a u8.
func nestedVectors(w *chaintest.BCS, n int) {
	for range n {
		w.ULEB(6)
	}
	w.ULEB(1)
}
