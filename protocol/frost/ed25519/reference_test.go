package ed25519

import (
	"sync"

	"github.com/bytemare/ecc"
)

// frostMu serializes the tests' calls into github.com/bytemare/frost, the reference
// implementation TestRFC9591Vectors runs: that package hashes with SHA-512 states shared by
// the whole process (internal/hashing.go), so concurrent calls race. The engine does not call
// it.
var frostMu sync.Mutex

// scalarOf returns x as a bytemare/ecc scalar.
func scalarOf(x uint16) *ecc.Scalar { return group.NewScalar().SetUInt64(uint64(x)) }
