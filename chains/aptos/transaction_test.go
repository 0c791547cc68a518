package aptos

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

var sender = [AddressSize]byte{0: 0xaa, AddressSize - 1: 0xbb}

func TestDecodeRawTransaction(t *testing.T) {
	one := [AddressSize]byte{AddressSize - 1: 1}
	multisigAddr := [AddressSize]byte{0: 0x33}
	nonce := uint64(99)
	transfer := &EntryFunction{ModuleAddress: one, Module: "aptos_account", Function: "transfer", Args: [][]byte{make([]byte, 32), {0xe8, 3, 0, 0, 0, 0, 0, 0}}}
	cases := []struct {
		name    string
		payload func(*chaintest.BCS)
		want    Payload
	}{
		{"entry function", transferPayload, Payload{Kind: PayloadEntryFunction, EntryFunction: transfer}},
		{"entry function with a struct type argument", coinTransferPayload, Payload{Kind: PayloadEntryFunction, EntryFunction: &EntryFunction{
			ModuleAddress: one, Module: "coin", Function: "transfer", Args: transfer.Args}}},
		{"script with every argument kind", func(w *chaintest.BCS) {
			w.ULEB(0).Bytes([]byte{0xa1, 0x1c, 0xeb, 0x0b}) // code
			w.ULEB(2).ULEB(1)                               // ty_args: u8,
			nestedVectors(w, maxTypeTagNesting)             // and vector^8<u8>
			w.ULEB(16)
			w.ULEB(0).Raw(1).ULEB(1).U64(2).ULEB(2).Raw(make([]byte, 16)...).ULEB(3).Raw(one[:]...)
			w.ULEB(4).Bytes([]byte("abc")).ULEB(5).Raw(1).ULEB(6).Raw(1, 2).ULEB(7).Raw(1, 2, 3, 4)
			w.ULEB(8).Raw(make([]byte, 32)...).ULEB(9).Bytes([]byte{1}).ULEB(10).Raw(0xff).ULEB(11).Raw(1, 2)
			w.ULEB(12).Raw(1, 2, 3, 4).ULEB(13).U64(5).ULEB(14).Raw(make([]byte, 16)...).ULEB(15).Raw(make([]byte, 32)...)
		}, Payload{Kind: PayloadScript}},
		{"multisig with a payload", func(w *chaintest.BCS) {
			w.ULEB(3).Raw(multisigAddr[:]...).Raw(1).ULEB(0)
			writeEntryFunction(w, "aptos_account", "transfer")
		}, Payload{Kind: PayloadMultisig, MultisigAddress: &multisigAddr, EntryFunction: transfer}},
		{"multisig without a payload", func(w *chaintest.BCS) { w.ULEB(3).Raw(multisigAddr[:]...).Raw(0) },
			Payload{Kind: PayloadMultisig, MultisigAddress: &multisigAddr}},
		{"v1 entry function, orderless", func(w *chaintest.BCS) {
			w.ULEB(4).ULEB(0).ULEB(1)
			writeEntryFunction(w, "aptos_account", "transfer")
			w.ULEB(0).Raw(0).Raw(1).U64(nonce)
		}, Payload{Kind: PayloadV1, EntryFunction: transfer, ReplayProtectionNonce: &nonce}},
		{"v1 empty executable for a multisig account", func(w *chaintest.BCS) {
			w.ULEB(4).ULEB(0).ULEB(2).ULEB(0).Raw(1).Raw(multisigAddr[:]...).Raw(0)
		}, Payload{Kind: PayloadV1, MultisigAddress: &multisigAddr}},
		{"function type tag", func(w *chaintest.BCS) {
			w.ULEB(0).Bytes([]byte{1}).ULEB(1)
			w.ULEB(11).ULEB(1).ULEB(0).ULEB(2).ULEB(1).ULEB(2).ULEB(6).ULEB(1).Raw(0x0f) // |&u64| (vector<u8>) has copy+drop+store+key
			w.ULEB(0)
		}, Payload{Kind: PayloadScript}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx, err := DecodeRawTransaction(testTx{sender: sender, chainID: 2, payload: c.payload}.encode())
			if err != nil {
				t.Fatal(err)
			}
			want := &RawTransaction{Sender: sender, SequenceNumber: 7, Payload: c.want, MaxGasAmount: 2000, GasUnitPrice: 100, ExpirationTimestampSecs: 1_900_000_000, ChainID: 2}
			if diff := cmp.Diff(want, tx); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRawTransactionRefuses(t *testing.T) {
	cases := map[string]func(*chaintest.BCS){
		"module bundle":         func(w *chaintest.BCS) { w.ULEB(1).U64(0) },
		"unknown payload":       func(w *chaintest.BCS) { w.ULEB(5) },
		"non-canonical ULEB128": func(w *chaintest.BCS) { w.Raw(0x82, 0x00) },
		"ULEB128 over 32 bits":  func(w *chaintest.BCS) { w.Raw(0xff, 0xff, 0xff, 0xff, 0x1f) },
		"ULEB128 over 5 bytes":  func(w *chaintest.BCS) { w.Raw(0x80, 0x80, 0x80, 0x80, 0x80, 0x00) },
		"bad identifier": func(w *chaintest.BCS) {
			one := [AddressSize]byte{AddressSize - 1: 1}
			w.ULEB(2).Raw(one[:]...).Str("1coin").Str("transfer").ULEB(0).ULEB(0)
		},
		"identifier not UTF-8": func(w *chaintest.BCS) {
			w.ULEB(2).Raw(make([]byte, 32)...).Bytes([]byte{0xff}).Str("f").ULEB(0).ULEB(0)
		},
		"lone underscore identifier": func(w *chaintest.BCS) {
			w.ULEB(2).Raw(make([]byte, 32)...).Str("_").Str("f").ULEB(0).ULEB(0)
		},
		"type tags nested too deep": func(w *chaintest.BCS) {
			w.ULEB(0).Bytes([]byte{1}).ULEB(1)
			nestedVectors(w, maxTypeTagNesting+1)
			w.ULEB(0)
		},
		"unknown type tag":        func(w *chaintest.BCS) { w.ULEB(0).Bytes([]byte{1}).ULEB(1).ULEB(18).ULEB(0) },
		"unknown transaction arg": func(w *chaintest.BCS) { w.ULEB(0).Bytes([]byte{1}).ULEB(0).ULEB(1).ULEB(16) },
		"bool arg is 2":           func(w *chaintest.BCS) { w.ULEB(0).Bytes([]byte{1}).ULEB(0).ULEB(1).ULEB(5).Raw(2) },
		"option tag is 2":         func(w *chaintest.BCS) { w.ULEB(3).Raw(make([]byte, 32)...).Raw(2) },
		"unknown ability":         func(w *chaintest.BCS) { w.ULEB(0).Bytes([]byte{1}).ULEB(1).ULEB(11).ULEB(0).ULEB(0).Raw(0x10).ULEB(0) },
		"unknown reference kind": func(w *chaintest.BCS) {
			w.ULEB(0).Bytes([]byte{1}).ULEB(1).ULEB(11).ULEB(1).ULEB(3).ULEB(1).ULEB(0).Raw(0).ULEB(0)
		},
		"multisig payload variant 1":  func(w *chaintest.BCS) { w.ULEB(3).Raw(make([]byte, 32)...).Raw(1).ULEB(1) },
		"v1 inner variant 1":          func(w *chaintest.BCS) { w.ULEB(4).ULEB(1) },
		"v1 executable variant 3":     func(w *chaintest.BCS) { w.ULEB(4).ULEB(0).ULEB(3) },
		"v1 extra config variant 1":   func(w *chaintest.BCS) { w.ULEB(4).ULEB(0).ULEB(2).ULEB(1) },
		"length past the end":         func(w *chaintest.BCS) { w.ULEB(0).ULEB(1 << 20) },
		"argument count past the end": func(w *chaintest.BCS) { w.ULEB(0).Bytes(nil).ULEB(0).ULEB(1 << 14) },
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			b := testTx{sender: sender, chainID: 1, payload: payload}.encode()
			if _, err := DecodeRawTransaction(b); !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	good := testTx{sender: sender, chainID: 1, payload: transferPayload}.encode()
	for name, b := range map[string][]byte{
		"trailing byte": append(good, 0),
		"truncated":     good[:len(good)-1],
		"empty":         nil,
		"too large":     make([]byte, MaxTransactionBytes+1),
	} {
		if _, err := DecodeRawTransaction(b); !errors.Is(err, chains.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// FuzzDecodeRawTransaction checks that DecodeRawTransaction never panics, that every refusal
// wraps ErrInvalid, and that an accepted transaction stays accepted when its chain id byte
// changes (the decoder reads the whole input, so it found the true end of the payload).
func FuzzDecodeRawTransaction(f *testing.F) {
	for _, p := range []func(*chaintest.BCS){transferPayload, coinTransferPayload} {
		f.Add(testTx{sender: sender, chainID: 1, payload: p}.encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeRawTransaction(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		other := append([]byte(nil), b...)
		other[len(other)-1]++
		again, err := DecodeRawTransaction(other)
		if err != nil || again.ChainID != tx.ChainID+1 || again.Sender != tx.Sender {
			t.Fatalf("changing the last byte (the chain id) of an accepted transaction: %v", err)
		}
	})
}
