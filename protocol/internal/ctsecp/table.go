package ctsecp

import (
	"crypto/subtle"
	"encoding/binary"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
)

// The comb's shape: k is read in 4-bit windows, least significant first.
const (
	windowBits = 4
	windows    = 256 / windowBits // 64
	digits     = 1 << windowBits  // 16
	entryWords = 8                // x then y, 32 big-endian bytes each, as 64-bit words
)

// entry is an affine point of the table as eight 64-bit words (x then y, big-endian), so that
// a lookup can mask whole words instead of FieldVal's unexported limbs.
type entry [entryWords]uint64

// table holds T[i][j] = j·16^i·G. T[i][0] is the identity, stored as x = 0, y = 1 and given
// Z = 0 by lookup; every other entry is an affine point (Z = 1).
type table [windows][digits]entry

// precomputed returns the table (64 KiB), built on first use: it is public data, built with
// btcec's variable-time arithmetic, and costs about 20 ms of CPU (960 field inversions) that a
// process which never multiplies a secret need not pay.
var precomputed = sync.OnceValue(buildTable)

func buildTable() *table {
	t := new(table)
	var base btcec.JacobianPoint // 16^i·G
	btcec.ScalarBaseMultNonConst(new(btcec.ModNScalar).SetInt(1), &base)
	for i := range t {
		t[i][0] = identityEntry()
		var multiple btcec.JacobianPoint // j·16^i·G, starting at the identity (0, 0, 0)
		for j := 1; j < digits; j++ {
			btcec.AddNonConst(&multiple, &base, &multiple)
			t[i][j] = affineEntry(&multiple)
		}
		btcec.AddNonConst(&multiple, &base, &base) // 15·16^i·G + 16^i·G = 16^(i+1)·G
	}
	return t
}

func identityEntry() entry {
	var e entry
	e[entryWords-1] = 1 // y = 1, big-endian: the last word's low bit
	return e
}

// affineEntry converts p, which is not the identity, to an entry.
func affineEntry(p *btcec.JacobianPoint) entry {
	var a btcec.JacobianPoint
	a.Set(p)
	a.ToAffine()
	var b [64]byte
	a.X.PutBytesUnchecked(b[:32])
	a.Y.PutBytesUnchecked(b[32:])
	var e entry
	for w := range e {
		e[w] = binary.BigEndian.Uint64(b[8*w:])
	}
	return e
}

// lookup sets out to T[i][digit] without revealing digit: it reads every entry of row i and
// keeps the one whose index equals digit by masking, so the instructions run and the memory
// read are the same for every digit. i is public (the window number).
func (t *table) lookup(i int, digit uint8, out *projective) {
	var e entry
	row := &t[i]
	for j := range row {
		mask := -uint64(subtle.ConstantTimeByteEq(uint8(j), digit)) // all ones for the wanted entry, else 0
		c := &row[j]
		e[0] |= c[0] & mask
		e[1] |= c[1] & mask
		e[2] |= c[2] & mask
		e[3] |= c[3] & mask
		e[4] |= c[4] & mask
		e[5] |= c[5] & mask
		e[6] |= c[6] & mask
		e[7] |= c[7] & mask
	}
	var b [32]byte
	putWords(&b, e[:4])
	out.x.SetBytes(&b)
	putWords(&b, e[4:])
	out.y.SetBytes(&b)
	// Z = 1 for a point, 0 for the identity (digit 0), without a branch.
	out.z.SetInt(uint16(1 - subtle.ConstantTimeByteEq(digit, 0)))
	clear(b[:])
	clear(e[:])
}

// putWords writes four 64-bit words big-endian into b.
func putWords(b *[32]byte, words []uint64) {
	for w := range 4 {
		binary.BigEndian.PutUint64(b[8*w:], words[w])
	}
}
