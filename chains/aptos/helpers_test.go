package aptos

import (
	"encoding/binary"
	"encoding/hex"
)

// bcsWriter writes the BCS the tests feed the decoder, independently of it (the interop tests
// check both against aptos-go-sdk).
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

// testTx is the fixed part of a RawTransaction around a payload written by the test.
type testTx struct {
	sender  [AddressSize]byte
	chainID uint8
	payload func(*bcsWriter)
}

func (tx testTx) encode() []byte {
	w := &bcsWriter{}
	w.raw(tx.sender[:]...).u64(7)
	tx.payload(w)
	w.u64(2000).u64(100).u64(1_900_000_000).raw(tx.chainID)
	return *w
}

func (tx testTx) hex() string { return "0x" + hex.EncodeToString(tx.encode()) }

// transferPayload is EntryFunction 0x1::aptos_account::transfer(to, 1000), what the SDKs
// build for a plain APT transfer.
func transferPayload(w *bcsWriter) {
	w.uleb(2) // TransactionPayload::EntryFunction
	writeEntryFunction(w, "aptos_account", "transfer")
}

func writeEntryFunction(w *bcsWriter, module, function string) {
	one := [AddressSize]byte{AddressSize - 1: 1}
	w.raw(one[:]...).str(module).str(function)
	w.uleb(0)                                  // no type arguments
	w.uleb(2)                                  // two arguments
	w.bytes(make([]byte, 32))                  // to: address
	w.bytes([]byte{0xe8, 3, 0, 0, 0, 0, 0, 0}) // amount: u64 1000
}

// coinTransferPayload is 0x1::coin::transfer<0x1::aptos_coin::AptosCoin>(to, 1000): an entry
// function with a struct type argument.
func coinTransferPayload(w *bcsWriter) {
	one := [AddressSize]byte{AddressSize - 1: 1}
	w.uleb(2).raw(one[:]...).str("coin").str("transfer")
	w.uleb(1).uleb(7).raw(one[:]...).str("aptos_coin").str("AptosCoin").uleb(0)
	w.uleb(2).bytes(make([]byte, 32)).bytes([]byte{0xe8, 3, 0, 0, 0, 0, 0, 0})
}

// nestedVectors writes n nested vector type tags around a u8.
func nestedVectors(w *bcsWriter, n int) {
	for range n {
		w.uleb(6)
	}
	w.uleb(1)
}
