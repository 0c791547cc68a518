package aptos

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains"
)

var sender = [AddressSize]byte{0: 0xaa, AddressSize - 1: 0xbb}

func TestDecodeRawTransaction(t *testing.T) {
	one := [AddressSize]byte{AddressSize - 1: 1}
	multisigAddr := [AddressSize]byte{0: 0x33}
	nonce := uint64(99)
	transfer := &EntryFunction{ModuleAddress: one, Module: "aptos_account", Function: "transfer", Args: [][]byte{make([]byte, 32), {0xe8, 3, 0, 0, 0, 0, 0, 0}}}
	cases := []struct {
		name    string
		payload func(*bcsWriter)
		want    Payload
	}{
		{"entry function", transferPayload, Payload{Kind: PayloadEntryFunction, EntryFunction: transfer}},
		{"entry function with a struct type argument", coinTransferPayload, Payload{Kind: PayloadEntryFunction, EntryFunction: &EntryFunction{
			ModuleAddress: one, Module: "coin", Function: "transfer", Args: transfer.Args}}},
		{"script with every argument kind", func(w *bcsWriter) {
			w.uleb(0).bytes([]byte{0xa1, 0x1c, 0xeb, 0x0b}) // code
			w.uleb(2).uleb(1)                               // ty_args: u8,
			nestedVectors(w, maxTypeTagNesting)             // and vector^8<u8>
			w.uleb(16)
			w.uleb(0).raw(1).uleb(1).u64(2).uleb(2).raw(make([]byte, 16)...).uleb(3).raw(one[:]...)
			w.uleb(4).bytes([]byte("abc")).uleb(5).raw(1).uleb(6).raw(1, 2).uleb(7).raw(1, 2, 3, 4)
			w.uleb(8).raw(make([]byte, 32)...).uleb(9).bytes([]byte{1}).uleb(10).raw(0xff).uleb(11).raw(1, 2)
			w.uleb(12).raw(1, 2, 3, 4).uleb(13).u64(5).uleb(14).raw(make([]byte, 16)...).uleb(15).raw(make([]byte, 32)...)
		}, Payload{Kind: PayloadScript}},
		{"multisig with a payload", func(w *bcsWriter) {
			w.uleb(3).raw(multisigAddr[:]...).raw(1).uleb(0)
			writeEntryFunction(w, "aptos_account", "transfer")
		}, Payload{Kind: PayloadMultisig, MultisigAddress: &multisigAddr, EntryFunction: transfer}},
		{"multisig without a payload", func(w *bcsWriter) { w.uleb(3).raw(multisigAddr[:]...).raw(0) },
			Payload{Kind: PayloadMultisig, MultisigAddress: &multisigAddr}},
		{"v1 entry function, orderless", func(w *bcsWriter) {
			w.uleb(4).uleb(0).uleb(1)
			writeEntryFunction(w, "aptos_account", "transfer")
			w.uleb(0).raw(0).raw(1).u64(nonce)
		}, Payload{Kind: PayloadV1, EntryFunction: transfer, ReplayProtectionNonce: &nonce}},
		{"v1 empty executable for a multisig account", func(w *bcsWriter) {
			w.uleb(4).uleb(0).uleb(2).uleb(0).raw(1).raw(multisigAddr[:]...).raw(0)
		}, Payload{Kind: PayloadV1, MultisigAddress: &multisigAddr}},
		{"function type tag", func(w *bcsWriter) {
			w.uleb(0).bytes([]byte{1}).uleb(1)
			w.uleb(11).uleb(1).uleb(0).uleb(2).uleb(1).uleb(2).uleb(6).uleb(1).raw(0x0f) // |&u64| (vector<u8>) has copy+drop+store+key
			w.uleb(0)
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
	cases := map[string]func(*bcsWriter){
		"module bundle":         func(w *bcsWriter) { w.uleb(1).u64(0) },
		"unknown payload":       func(w *bcsWriter) { w.uleb(5) },
		"non-canonical ULEB128": func(w *bcsWriter) { w.raw(0x82, 0x00) },
		"ULEB128 over 32 bits":  func(w *bcsWriter) { w.raw(0xff, 0xff, 0xff, 0xff, 0x1f) },
		"ULEB128 over 5 bytes":  func(w *bcsWriter) { w.raw(0x80, 0x80, 0x80, 0x80, 0x80, 0x00) },
		"bad identifier": func(w *bcsWriter) {
			one := [AddressSize]byte{AddressSize - 1: 1}
			w.uleb(2).raw(one[:]...).str("1coin").str("transfer").uleb(0).uleb(0)
		},
		"identifier not UTF-8": func(w *bcsWriter) {
			w.uleb(2).raw(make([]byte, 32)...).bytes([]byte{0xff}).str("f").uleb(0).uleb(0)
		},
		"lone underscore identifier": func(w *bcsWriter) {
			w.uleb(2).raw(make([]byte, 32)...).str("_").str("f").uleb(0).uleb(0)
		},
		"type tags nested too deep": func(w *bcsWriter) {
			w.uleb(0).bytes([]byte{1}).uleb(1)
			nestedVectors(w, maxTypeTagNesting+1)
			w.uleb(0)
		},
		"unknown type tag":        func(w *bcsWriter) { w.uleb(0).bytes([]byte{1}).uleb(1).uleb(18).uleb(0) },
		"unknown transaction arg": func(w *bcsWriter) { w.uleb(0).bytes([]byte{1}).uleb(0).uleb(1).uleb(16) },
		"bool arg is 2":           func(w *bcsWriter) { w.uleb(0).bytes([]byte{1}).uleb(0).uleb(1).uleb(5).raw(2) },
		"option tag is 2":         func(w *bcsWriter) { w.uleb(3).raw(make([]byte, 32)...).raw(2) },
		"unknown ability":         func(w *bcsWriter) { w.uleb(0).bytes([]byte{1}).uleb(1).uleb(11).uleb(0).uleb(0).raw(0x10).uleb(0) },
		"unknown reference kind": func(w *bcsWriter) {
			w.uleb(0).bytes([]byte{1}).uleb(1).uleb(11).uleb(1).uleb(3).uleb(1).uleb(0).raw(0).uleb(0)
		},
		"multisig payload variant 1":  func(w *bcsWriter) { w.uleb(3).raw(make([]byte, 32)...).raw(1).uleb(1) },
		"v1 inner variant 1":          func(w *bcsWriter) { w.uleb(4).uleb(1) },
		"v1 executable variant 3":     func(w *bcsWriter) { w.uleb(4).uleb(0).uleb(3) },
		"v1 extra config variant 1":   func(w *bcsWriter) { w.uleb(4).uleb(0).uleb(2).uleb(1) },
		"length past the end":         func(w *bcsWriter) { w.uleb(0).uleb(1 << 20) },
		"argument count past the end": func(w *bcsWriter) { w.uleb(0).bytes(nil).uleb(0).uleb(1 << 14) },
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
	for _, p := range []func(*bcsWriter){transferPayload, coinTransferPayload} {
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
