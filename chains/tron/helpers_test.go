package tron

import "github.com/mpcsigner/mpcsigner/chains/chaintest"

// The helpers below build TRON's protobuf messages field by field with chaintest's protobuf
// writers, in field number order as java-tron and gotron-sdk write them.

// param is a google.protobuf.Any holding protocol.<name>.
func param(name string, value []byte) []byte {
	return chaintest.Cat(chaintest.PBBytes(1, []byte(typeURLPrefix+name)), chaintest.PBBytes(2, value))
}

// recipient is an address that receives in the tests' contracts.
var recipient = append(append([]byte{0x41}, make([]byte, 19)...), 7)

// transfer is a TransferContract of 1 TRX from owner to recipient.
func transfer(owner []byte) []byte {
	return chaintest.Cat(chaintest.PBBytes(1, owner), chaintest.PBBytes(2, recipient), chaintest.PBVarint(3, 1_000_000))
}

// contract is a Transaction.Contract of type typ with parameter p.
func contract(typ uint64, p []byte) []byte {
	var b []byte
	if typ != 0 {
		b = chaintest.PBVarint(1, typ)
	}
	return append(b, chaintest.PBBytes(2, p)...)
}

// raw is a Transaction.raw with the usual reference block, expiration and timestamp around
// the given contract fields.
func raw(contracts ...[]byte) []byte {
	b := chaintest.Cat(chaintest.PBBytes(1, []byte{0x12, 0x34}), chaintest.PBBytes(4, []byte{1, 2, 3, 4, 5, 6, 7, 8}), chaintest.PBVarint(8, 1_700_000_060_000))
	for _, c := range contracts {
		b = append(b, chaintest.PBBytes(11, c)...)
	}
	return append(b, chaintest.PBVarint(14, 1_700_000_000_000)...)
}

// transaction is an unsigned Transaction around raw bytes.
func transaction(r []byte) []byte { return chaintest.PBBytes(1, r) }

// transferTx is an unsigned TRX transfer owned by owner.
func transferTx(owner []byte) []byte {
	return transaction(raw(contract(1, param("TransferContract", transfer(owner)))))
}
