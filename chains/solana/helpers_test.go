package solana

import (
	"crypto/sha256"
	"encoding/base64"
)

// testMessage is what the tests build messages from; encode writes it in the wire format
// independently of the decoder (the interop tests check both against solana-go).
type testMessage struct {
	v0        bool
	header    [3]byte
	keys      [][KeySize]byte
	blockhash [KeySize]byte
	instrs    []Instruction
	tables    []LookupTable
}

func (m testMessage) encode() []byte {
	var out []byte
	if m.v0 {
		out = append(out, versionPrefix)
	}
	out = append(out, m.header[:]...)
	out = appendShortvec(out, len(m.keys))
	for _, k := range m.keys {
		out = append(out, k[:]...)
	}
	out = append(out, m.blockhash[:]...)
	out = appendShortvec(out, len(m.instrs))
	for _, in := range m.instrs {
		out = append(out, in.ProgramIDIndex)
		out = appendShortvec(out, len(in.Accounts))
		out = append(out, in.Accounts...)
		out = appendShortvec(out, len(in.Data))
		out = append(out, in.Data...)
	}
	if m.v0 {
		out = appendShortvec(out, len(m.tables))
		for _, t := range m.tables {
			out = append(out, t.Account[:]...)
			out = appendShortvec(out, len(t.Writable))
			out = append(out, t.Writable...)
			out = appendShortvec(out, len(t.Readonly))
			out = append(out, t.Readonly...)
		}
	}
	return out
}

// wire is the unsigned wire transaction: one zero-filled slot per required signature.
func (m testMessage) wire() []byte {
	out := appendShortvec(nil, int(m.header[0]))
	out = append(out, make([]byte, SignatureSize*int(m.header[0]))...)
	return append(out, m.encode()...)
}

func (m testMessage) base64() string { return base64.StdEncoding.EncodeToString(m.wire()) }

// testKey is a deterministic 32-byte account key that is not any test signer's.
func testKey(name string) [KeySize]byte { return sha256.Sum256([]byte(name)) }

// transfer is a System Program transfer from signers[0] (the fee payer) to a recipient,
// signed by every key in signers: a legacy message, or v0 with one lookup table when v0.
func transfer(v0 bool, signers ...[KeySize]byte) testMessage {
	system := [KeySize]byte{} // 11111111111111111111111111111111
	keys := append(append([][KeySize]byte(nil), signers...), testKey("recipient"), system)
	n := byte(len(signers))
	m := testMessage{
		v0:        v0,
		header:    [3]byte{n, 0, 1},
		keys:      keys,
		blockhash: testKey("blockhash"),
		instrs: []Instruction{{
			ProgramIDIndex: n + 1,
			Accounts:       []uint8{0, n},
			Data:           []byte{2, 0, 0, 0, 0x40, 0x42, 0x0f, 0, 0, 0, 0, 0}, // Transfer 1e6 lamports
		}},
	}
	if v0 {
		m.tables = []LookupTable{{Account: testKey("table"), Writable: []uint8{3}, Readonly: []uint8{7, 9}}}
		m.instrs[0].Accounts = append(m.instrs[0].Accounts, n+2, n+4) // the looked-up accounts
	}
	return m
}
