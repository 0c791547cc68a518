package ed25519

import (
	"fmt"
	"slices"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
)

// signingKey is a decoded and checked share in the form signing computes with. It holds a
// secret: it prints without it, and its owner zeroizes it (wipe) once done. parties and
// publicShares are never modified after decoding, so copies of a key share them.
type signingKey struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	secret       *secretScalar         // x_self
	groupKey     [elementSize]byte     // PK, as it enters the hashes and crypto/ed25519
	publicShares []*edwards25519.Point // PK_m = x_m·B, aligned with parties; read-only
}

// String describes the key without its secret.
func (k signingKey) String() string {
	return fmt.Sprintf("ed25519.signingKey{%s of %v, threshold %d, public key %x}", k.self, k.parties, k.threshold, k.groupKey)
}

// GoString is String, so that %#v does not print the secret either.
func (k signingKey) GoString() string { return k.String() }

// clone returns a copy with its own secret (the public parts are shared: they are read-only).
func (k *signingKey) clone() *signingKey {
	c := *k
	c.secret = &secretScalar{s: k.secret.s}
	return &c
}

func (k *signingKey) wipe() { k.secret.wipe() }

// publicShare returns PK_p, or nil if p holds no share of the key.
func (k *signingKey) publicShare(p protocol.PartyID) *edwards25519.Point {
	i, ok := slices.BinarySearch(k.parties, p)
	if !ok {
		return nil
	}
	return k.publicShares[i]
}

// id returns the FROST identifier of p, which must hold a share.
func (k *signingKey) id(p protocol.PartyID) uint16 { return identifier(k.parties, p) }

// Decoding a share costs more than the rest of a signer's work together (JSON, five point
// decompressions, subgroup checks and the interpolation that proves the public shares
// consistent), so signing runs take their keys from signingKeys, a memo of decodeSigningKey
// that decodes each share once per process. Package sharecache says why caching a secret is
// acceptable and what bounds the cache (size, idle time, and a key's deletion).
var signingKeys = sharecache.New(sharecache.Config[*signingKey]{
	MaxShare: maxShareSize, Decode: decodeSigningKey, Clone: (*signingKey).clone, Wipe: (*signingKey).wipe,
})
