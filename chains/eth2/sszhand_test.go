package eth2

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// A second, deliberately naive implementation of the SSZ hash tree root (consensus-specs
// ssz/simple-serialize.md, "Merkleization"), written from the spec with crypto/sha256 only, to
// cross-check go-eth2-client on the containers signed here. Test-only: production code uses the
// library.

type chunk = [32]byte

// hashPair is hash(a || b).
func hashPair(a, b chunk) chunk {
	return sha256.Sum256(append(a[:], b[:]...))
}

// packBytes splits b into 32-byte chunks, the last one zero-padded.
func packBytes(b []byte) []chunk {
	out := make([]chunk, (len(b)+31)/32)
	for i := range out {
		copy(out[i][:], b[i*32:])
	}
	return out
}

// merkleize hashes chunks into a tree of limit leaves (limit rounded up to a power of two; at
// least len(chunks)), padding with zero chunks.
func merkleize(chunks []chunk, limit int) chunk {
	if limit < len(chunks) {
		panic("merkleize: more chunks than the limit")
	}
	width := 1
	for width < limit {
		width *= 2
	}
	layer := make([]chunk, width)
	copy(layer, chunks)
	for len(layer) > 1 {
		next := make([]chunk, len(layer)/2)
		for i := range next {
			next[i] = hashPair(layer[2*i], layer[2*i+1])
		}
		layer = next
	}
	return layer[0]
}

// mixInLength is hash(root || uint256(length)).
func mixInLength(root chunk, length int) chunk {
	var l chunk
	binary.LittleEndian.PutUint64(l[:8], uint64(length))
	return hashPair(root, l)
}

// container merkleizes the roots of a container's fields.
func container(fields ...chunk) chunk {
	return merkleize(fields, len(fields))
}

// u64 is the root of a uint64.
func u64(v uint64) chunk {
	var c chunk
	binary.LittleEndian.PutUint64(c[:8], v)
	return c
}

// fixedBytes is the root of a ByteVector[N] (N = len(b)).
func fixedBytes(b []byte) chunk {
	if len(b) <= 32 {
		var c chunk
		copy(c[:], b)
		return c
	}
	ch := packBytes(b)
	return merkleize(ch, len(ch))
}

// bitvector is the root of a Bitvector[8*len(b)].
func bitvector(b []byte) chunk {
	ch := packBytes(b)
	return merkleize(ch, (len(b)*8+255)/256)
}

// bitlistRoot is the root of a Bitlist[maxBits] from its SSZ serialization (delimiter bit
// included).
func bitlistRoot(ser []byte, maxBits int) chunk {
	last := ser[len(ser)-1]
	n := (len(ser)-1)*8 + bits.Len8(last) - 1
	data := append([]byte(nil), ser...)
	data[len(data)-1] &^= 1 << (bits.Len8(last) - 1)
	data = data[:(n+7)/8]
	return mixInLength(merkleize(packBytes(data), (maxBits+255)/256), n)
}

// listOfRoots is the root of a List[T, limit] given its elements' roots.
func listOfRoots(roots []chunk, limit int) chunk {
	return mixInLength(merkleize(roots, limit), len(roots))
}

// signingRootByHand is compute_signing_root with compute_domain, by hand.
func signingRootByHand(object chunk, domainType [4]byte, version [4]byte, gvr chunk) chunk {
	forkData := container(fixedBytes(version[:]), gvr)
	var domain chunk
	copy(domain[:4], domainType[:])
	copy(domain[4:], forkData[:28])
	return container(object, domain)
}
