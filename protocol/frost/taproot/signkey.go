package taproot

import (
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
)

// tweakedKey is a decoded and checked share, tweaked to the output key: what a signing run
// needs of it. It holds a secret: it prints without it, and its owner zeroizes it (wipe) once
// done. Everything but the secret is read-only after decoding, so copies of a key share it.
type tweakedKey struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	outputKey    []byte            // x(Q), the key signatures verify under
	secret       *btcec.ModNScalar // q_self = ±(x_self + t): this party's share of Q's secret key, for Q's even y
	publicShares libPublicShares   // q_m·G for every holder m, in the wrapped library's form
}

// String describes the key without its secret.
func (k tweakedKey) String() string {
	return fmt.Sprintf("bip340.tweakedKey{%s of %v, threshold %d, output key %x}", k.self, k.parties, k.threshold, k.outputKey)
}

// GoString is String, so that %#v does not print the secret either.
func (k tweakedKey) GoString() string { return k.String() }

// clone returns a copy with its own secret.
func (k *tweakedKey) clone() *tweakedKey {
	c := *k
	c.secret = new(btcec.ModNScalar).Set(k.secret)
	return &c
}

func (k *tweakedKey) wipe() { k.secret.Zero() }

// holds reports whether p holds a share of the key.
func (k *tweakedKey) holds(p protocol.PartyID) bool {
	_, ok := slices.BinarySearch(k.parties, p)
	return ok
}

// decodeTweakedKey decodes and checks a serialized share (decodeShare) and tweaks it to the
// output key.
func decodeTweakedKey(b []byte) (*tweakedKey, error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	k, err := s.tweaked()
	if err != nil {
		return nil, fmt.Errorf("bip340: invalid share: %w", err)
	}
	return k, nil
}

// Decoding a share and tweaking it cost about a quarter of a signer's CPU (JSON, seven point
// decompressions, the interpolation that proves the public shares consistent, the tweak and
// the library's parsing of the tweaked public shares), so signing runs take their keys from
// tweakedKeys, a memo of decodeTweakedKey that does that once per share and process. Package
// sharecache says why caching a secret is acceptable and what bounds the cache (size, idle
// time, and a key's deletion).
var tweakedKeys = sharecache.New(sharecache.Config[*tweakedKey]{
	MaxShare: maxShareSize, Decode: decodeTweakedKey, Clone: (*tweakedKey).clone, Wipe: (*tweakedKey).wipe,
})
