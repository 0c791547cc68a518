package solana

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains"
)

func TestDecodeTransaction(t *testing.T) {
	payer, other := testKey("payer"), testKey("other")
	for _, v0 := range []bool{false, true} {
		m := transfer(v0, payer, other)
		tx, err := DecodeTransaction(m.wire())
		if err != nil {
			t.Fatalf("v0=%v: %v", v0, err)
		}
		want := &Transaction{
			Signatures:      make([][SignatureSize]byte, 2),
			Message:         m.encode(),
			Header:          Header{2, 0, 1},
			AccountKeys:     m.keys,
			RecentBlockhash: m.blockhash,
			Instructions:    m.instrs,
			LookupTables:    m.tables,
		}
		if v0 {
			want.Version = V0
		}
		if diff := cmp.Diff(want, tx); diff != "" {
			t.Fatalf("v0=%v (-want +got):\n%s", v0, diff)
		}
		if i, ok := tx.SignerIndex(other); !ok || i != 1 {
			t.Fatalf("SignerIndex(other) = %d, %v", i, ok)
		}
		if _, ok := tx.SignerIndex(testKey("recipient")); ok {
			t.Fatal("a non-signing account counts as a signer")
		}
		if !bytes.Equal(tx.Encode(), m.wire()) {
			t.Fatal("Encode does not give back the input")
		}
	}
}

func TestDecodeTransactionRefuses(t *testing.T) {
	payer := testKey("payer")
	edit := func(f func(*testMessage)) []byte {
		m := transfer(true, payer)
		f(&m)
		return m.wire()
	}
	cases := map[string][]byte{
		"no required signatures":         edit(func(m *testMessage) { m.header = [3]byte{0, 0, 1} }),
		"read-only fee payer":            edit(func(m *testMessage) { m.header = [3]byte{1, 1, 1} }),
		"more signers than keys":         edit(func(m *testMessage) { m.header = [3]byte{4, 0, 0} }),
		"read-only accounts past keys":   edit(func(m *testMessage) { m.header = [3]byte{1, 0, 3} }),
		"duplicate account keys":         edit(func(m *testMessage) { m.keys[1] = m.keys[0] }),
		"program is the fee payer":       edit(func(m *testMessage) { m.instrs[0].ProgramIDIndex = 0 }),
		"program index out of range":     edit(func(m *testMessage) { m.instrs[0].ProgramIDIndex = 3 }),
		"program from a lookup table":    edit(func(m *testMessage) { m.instrs[0].ProgramIDIndex = 4 }),
		"account index out of range":     edit(func(m *testMessage) { m.instrs[0].Accounts[0] = 6 }),
		"empty lookup table":             edit(func(m *testMessage) { m.tables[0].Writable, m.tables[0].Readonly = nil, nil }),
		"more than 256 accounts":         edit(func(m *testMessage) { m.tables[0].Readonly = make([]uint8, 254) }),
		"non-canonical compact-u16":      append([]byte{0x81, 0x00}, make([]byte, SignatureSize)...),
		"compact-u16 over 16 bits":       {0xff, 0xff, 0x04},
		"compact-u16 longer than 3":      {0x80, 0x80, 0x80, 0x01},
		"signature count without slots":  {0x05},
		"signatures, no message":         append([]byte{1}, make([]byte, SignatureSize)...),
		"larger than a packet":           make([]byte, MaxTransactionBytes+1),
		"instruction count past the end": append(edit(func(*testMessage) {})[:1+SignatureSize+1+3+1+3*KeySize+KeySize], 0x7f),
	}
	for name, wire := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeTransaction(wire); !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestShortvec(t *testing.T) {
	for _, n := range []int{0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0xffff} {
		enc := appendShortvec(nil, n)
		c := &cursor{b: enc}
		got, err := c.shortvec("n")
		if err != nil || got != n || c.pos != len(enc) {
			t.Errorf("%#x: encoded %x, decoded %#x after %d bytes, %v", n, enc, got, c.pos, err)
		}
	}
}

// FuzzDecodeTransaction checks that DecodeTransaction never panics, that every refusal wraps
// ErrInvalid, and that whatever it accepts encodes back to exactly the input (so nothing is
// accepted in two encodings) with a signer slot per required signature.
func FuzzDecodeTransaction(f *testing.F) {
	f.Add(transfer(false, testKey("a")).wire())
	f.Add(transfer(true, testKey("a"), testKey("b")).wire())
	f.Add([]byte{0x81, 0x00})
	f.Fuzz(func(t *testing.T, wire []byte) {
		tx, err := DecodeTransaction(wire)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !bytes.Equal(tx.Encode(), wire) {
			t.Fatalf("accepted %x but encodes it as %x", wire, tx.Encode())
		}
		if len(tx.Signatures) != int(tx.Header.NumRequiredSignatures) || len(tx.Signatures) > len(tx.AccountKeys) {
			t.Fatalf("%d slots for %d signers and %d keys", len(tx.Signatures), tx.Header.NumRequiredSignatures, len(tx.AccountKeys))
		}
	})
}
