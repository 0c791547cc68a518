package sui

import (
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

var sender = [AddressSize]byte{0: 0x5e, AddressSize - 1: 0xde}

func TestDecodeTransactionData(t *testing.T) {
	tx, err := DecodeTransactionData(testTx{sender: sender, ptb: everyCommand, expiry: validDuringExpiry}.encode())
	if err != nil {
		t.Fatal(err)
	}
	one, five := uint64(1), uint64(5)
	want := &TransactionData{
		Inputs: 6,
		Commands: []Command{
			{Kind: MoveCall, Target: "0x0000000000000000000000000000000000000000000000000000000000000002::pay::split"},
			{Kind: TransferObjects}, {Kind: SplitCoins}, {Kind: MergeCoins}, {Kind: Publish}, {Kind: MakeMoveVec}, {Kind: Upgrade},
		},
		Sender:      sender,
		GasPayment:  []ObjectRef{{ID: [AddressSize]byte{AddressSize - 1: 0x9a}, Version: 5, Digest: [DigestSize]byte{0x9a}}},
		GasOwner:    sender,
		GasPrice:    1000,
		GasBudget:   10_000_000,
		ValidDuring: &ValidDuring{MinEpoch: &one, MaxTimestampSeconds: &five, Chain: [DigestSize]byte{0xc4}, Nonce: 0x01020304},
	}
	if diff := cmp.Diff(want, tx); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if _, err := DecodeTransactionData(testTx{sender: sender, ptb: nestedVectors(maxTypeArgumentDepth - 2)}.encode()); err != nil {
		t.Fatalf("type argument as deep as the protocol allows: %v", err)
	}
}

func validDuringExpiry(w *chaintest.BCS) {
	chain := make([]byte, DigestSize)
	chain[0] = 0xc4
	w.ULEB(2).Raw(1).U64(1).Raw(0).Raw(0).Raw(1).U64(5).Bytes(chain).Raw(4, 3, 2, 1)
}

// realTransaction is a TransactionData with shared objects and several Move calls,
// transcribed from sui-go-sdk v1.1.2 transaction/transaction_data_test.go (TestBcsUnmarshal).
const realTransaction = "AAAIAQBiBnaLHr5TzVJu29SyLYueU6dFUyLeaY9ZeK11c+8IrXPUayEAAAAAIP3zvI2RTxZdaMnH47J4OJQbyHdIb50BtZ2JxNb4gD7AAQDo6vegaubVlLDf0hxZfOtmAkBc4ryrHxXfLLjFo72CF4bUayEAAAAAIECXRV/tLtwVmiAi/xXB6L5v1KFuEZQ0oah1NwYdBcLfAAgAhNcXAAAAAAEB2qRikmMsPE2PMfI+oPmzaij/NnfpaEmA5EOEA6Z6PY8uBRgAAAAAAAABAa2qRWjdYdo2MMQNLRRttp5jmUbSJZnqQxXT0+oBmR8aY8ddIQAAAAABAQFjm15DPaMXOegAzQhfNW5kyuIilm0PGxG9ncdrMi/1i2LvCxMAAAAAAQEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAYBAAAAAAAAAAAACE7aKJKcAwAABwMBAAABAQEAAgEAAAEBAgACAwEAAAABAQIAADhkx8WaSIn+wF0arkvJ26Wg4JQFlLQk++1Eyz9qxMAyBWNldHVzCHN3YXBfYjJhAgfhtFoOZBuZVaIKoK0cH0rYaq2K+wcpbUCF40mlDpC9ygRibHVlBEJMVUUAB9ujRnLjDLBlsfk+OrVTGHaP1v72bBWULJ98uEbi+QDnBHVzZGMEVVNEQwAFAQMAAQQAAQUAAwIAAAABBgAAJIX+udQsfDvLjs3lVa1A8bBz2ftPrzVPotMKCxg6I84FdXRpbHMYdHJhbnNmZXJfb3JfZGVzdHJveV9jb2luAQfbo0Zy4wywZbH5Pjq1Uxh2j9b+9mwVlCyffLhG4vkA5wR1c2RjBFVTREMAAQMBAAAAACSF/rnULHw7y47N5VWtQPGwc9n7T681T6LTCgsYOiPOBXV0aWxzFGNoZWNrX2NvaW5fdGhyZXNob2xkAQfhtFoOZBuZVaIKoK0cH0rYaq2K+wcpbUCF40mlDpC9ygRibHVlBEJMVUUAAgMDAAAAAQcAACSF/rnULHw7y47N5VWtQPGwc9n7T681T6LTCgsYOiPOBXV0aWxzGHRyYW5zZmVyX29yX2Rlc3Ryb3lfY29pbgEH4bRaDmQbmVWiCqCtHB9K2GqtivsHKW1AheNJpQ6QvcoEYmx1ZQRCTFVFAAEDAwAAAPGLdfcB6yxirRUeIzQYdrBeeCZsC49tvfE1MjQ3HRe+AeFyymxHLoC1zuCDjWceFIVGpQinWoTY3E/nQtJ0PXeLhtRrIQAAAAAg7wnlIFKxbd6S0eZ7pktb3VGeUCezpe3rCIK/6e1qR+7xi3X3AessYq0VHiM0GHawXngmbAuPbb3xNTI0Nx0Xvu4CAAAAAAAAAOH1BQAAAAAA"

func TestDecodeRealTransaction(t *testing.T) {
	b, _ := base64.StdEncoding.DecodeString(realTransaction)
	tx, err := DecodeTransactionData(b)
	if err != nil {
		t.Fatal(err)
	}
	// The bytes begin 00 00 08 (V1, programmable, eight inputs) and name these functions, in
	// this order.
	want := []string{"::cetus::swap_b2a", "::utils::transfer_or_destroy_coin", "::utils::check_coin_threshold", "::utils::transfer_or_destroy_coin"}
	var got []string
	for _, c := range tx.Commands {
		if c.Kind == MoveCall {
			got = append(got, c.Target[2+2*AddressSize:])
		}
	}
	if tx.Inputs != 8 || !slices.Equal(got, want) || tx.GasOwner != tx.Sender {
		t.Fatalf("decoded %+v", tx)
	}
}

func TestDecodeTransactionDataRefuses(t *testing.T) {
	bad := func(ptb func(*chaintest.BCS)) []byte { return testTx{sender: sender, ptb: ptb}.encode() }
	badExpiry := func(e func(*chaintest.BCS)) []byte {
		return testTx{sender: sender, ptb: transferSui, expiry: e}.encode()
	}
	good := bad(transferSui)
	cases := map[string][]byte{
		"TransactionData V2":      append([]byte{1}, good[1:]...),
		"system transaction kind": append([]byte{0, 1}, good[2:]...),
		"unknown call arg":        bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(3) }),
		"unknown object arg":      bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(1).ULEB(3) }),
		"unknown mutability":      bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(1).ULEB(1).Raw(make([]byte, 40)...).ULEB(3) }),
		"31-byte object digest":   bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(1).ULEB(0).Raw(make([]byte, 40)...).Bytes(make([]byte, 31)) }),
		"unknown reservation":     bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(2).ULEB(2) }),
		"unknown withdrawal type": bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(2).ULEB(0).ULEB(1) }),
		"unknown withdraw from":   bad(func(w *chaintest.BCS) { w.ULEB(1).ULEB(2).ULEB(0).ULEB(0).ULEB(1).ULEB(2) }),
		"unknown command":         bad(func(w *chaintest.BCS) { w.ULEB(0).ULEB(1).ULEB(7) }),
		"unknown argument":        bad(func(w *chaintest.BCS) { w.ULEB(0).ULEB(1).ULEB(2).ULEB(4) }),
		"unknown type":            bad(func(w *chaintest.BCS) { w.ULEB(0).ULEB(1).ULEB(5).Raw(1).ULEB(11) }),
		"option tag 2":            bad(func(w *chaintest.BCS) { w.ULEB(0).ULEB(1).ULEB(5).Raw(2) }),
		"type nested too deep":    bad(nestedVectors(maxTypeArgumentDepth - 1)),
		"module is not a Move ident": bad(func(w *chaintest.BCS) {
			w.ULEB(0).ULEB(1).ULEB(0).Raw(make([]byte, 32)...).Str("a-b").Str("f").ULEB(0).ULEB(0)
		}),
		"function is not UTF-8": bad(func(w *chaintest.BCS) {
			w.ULEB(0).ULEB(1).ULEB(0).Raw(make([]byte, 32)...).Str("m").Bytes([]byte{0xff}).ULEB(0).ULEB(0)
		}),
		"non-canonical ULEB128":      bad(func(w *chaintest.BCS) { w.Raw(0x81, 0x00) }),
		"input count past the end":   bad(func(w *chaintest.BCS) { w.ULEB(1 << 20) }),
		"unknown expiration":         badExpiry(func(w *chaintest.BCS) { w.ULEB(3) }),
		"valid-during 31-byte chain": badExpiry(func(w *chaintest.BCS) { w.ULEB(2).Raw(0, 0, 0, 0).Bytes(make([]byte, 31)).Raw(0, 0, 0, 0) }),
		"truncated":                  good[:len(good)-1],
		"trailing byte":              append(good, 0),
		"empty":                      nil,
		"too large":                  make([]byte, MaxTransactionBytes+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeTransactionData(b); !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// FuzzDecodeTransactionData checks that DecodeTransactionData never panics, that every
// refusal wraps ErrInvalid, and that it reads to the true end of what it accepts: an accepted
// transaction with a byte appended is refused.
func FuzzDecodeTransactionData(f *testing.F) {
	f.Add(testTx{sender: sender, ptb: transferSui}.encode())
	f.Add(testTx{sender: sender, ptb: everyCommand, expiry: validDuringExpiry}.encode())
	real, _ := base64.StdEncoding.DecodeString(realTransaction)
	f.Add(real)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := DecodeTransactionData(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if _, err := DecodeTransactionData(append(b[:len(b):len(b)], 0)); err == nil {
			t.Fatal("accepted the transaction with a byte appended")
		}
	})
}
