package enclave

import (
	"crypto/rand"
	"fmt"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// random answers MethodRandom from this enclave's crypto/rand, which reads the kernel's
// generator inside the enclave (on Nitro, seeded from the NSM by the enclave kernel and init
// that nitro-cli ships), never anything the host supplies.
func random(args *wire.RandomArgs) (*wire.RandomReply, error) {
	if args.Bytes < 1 || args.Bytes > wire.MaxRandomBytes {
		return nil, fmt.Errorf("bytes must be 1 to %d, got %d: %w", wire.MaxRandomBytes, args.Bytes, errBadRequest)
	}
	out := make([]byte, args.Bytes)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("reading the random generator: %w", err)
	}
	return &wire.RandomReply{Random: out}, nil
}
