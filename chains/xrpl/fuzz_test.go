package xrpl

import (
	"errors"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// FuzzParseTransaction checks that the walker never panics, that every refusal wraps
// chains.ErrInvalid, and that what it accepts is a sequence of top-level fields in strictly
// canonical order, starting at byte 0, each starting after the previous one.
func FuzzParseTransaction(f *testing.F) {
	pub := chaintest.Secp256k1("xrpl").PublicKey()
	f.Add(payment(accountID(pub), pub))
	f.Add([]byte{0x12, 0, 0})
	f.Add([]byte{0x01, 0x12, 0x30})
	f.Add([]byte{0xe2, 0xe2, 0xe1, 0xe1})
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := parseTransaction(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for i, fd := range fields {
			if i == 0 && fd.start != 0 {
				t.Fatalf("first field starts at %d", fd.start)
			}
			if i > 0 && (!fields[i-1].id.before(fd.id) || fields[i-1].start >= fd.start) {
				t.Fatalf("fields %d and %d are out of order", i-1, i)
			}
			if _, refused := nonSigningFields[fd.id]; refused {
				t.Fatalf("accepted non-signing field %+v", fd.id)
			}
		}
		if len(b) > 0 && len(fields) == 0 {
			t.Fatal("accepted bytes without fields")
		}
	})
}
