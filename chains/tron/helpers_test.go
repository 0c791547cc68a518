package tron

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// The helpers below build TRON's protobuf messages field by field with protowire, in field
// number order as java-tron and gotron-sdk write them.

func pbBytes(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// param is a google.protobuf.Any holding protocol.<name>.
func param(name string, value []byte) []byte {
	return cat(pbBytes(1, []byte(typeURLPrefix+name)), pbBytes(2, value))
}

// recipient is an address that receives in the tests' contracts.
var recipient = append(append([]byte{0x41}, make([]byte, 19)...), 7)

// transfer is a TransferContract of 1 TRX from owner to recipient.
func transfer(owner []byte) []byte {
	return cat(pbBytes(1, owner), pbBytes(2, recipient), pbVarint(3, 1_000_000))
}

// contract is a Transaction.Contract of type typ with parameter p.
func contract(typ uint64, p []byte) []byte {
	var b []byte
	if typ != 0 {
		b = pbVarint(1, typ)
	}
	return append(b, pbBytes(2, p)...)
}

// raw is a Transaction.raw with the usual reference block, expiration and timestamp around
// the given contract fields.
func raw(contracts ...[]byte) []byte {
	b := cat(pbBytes(1, []byte{0x12, 0x34}), pbBytes(4, []byte{1, 2, 3, 4, 5, 6, 7, 8}), pbVarint(8, 1_700_000_060_000))
	for _, c := range contracts {
		b = append(b, pbBytes(11, c)...)
	}
	return append(b, pbVarint(14, 1_700_000_000_000)...)
}

// transaction is an unsigned Transaction around raw bytes.
func transaction(r []byte) []byte { return pbBytes(1, r) }

// transferTx is an unsigned TRX transfer owned by owner.
func transferTx(owner []byte) []byte {
	return transaction(raw(contract(1, param("TransferContract", transfer(owner)))))
}

// wantInvalid asserts that err wraps chains.ErrInvalid and mentions want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want an error containing %q", want)
	}
	if !errors.Is(err, chains.ErrInvalid) {
		t.Fatalf("error %q does not wrap chains.ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
