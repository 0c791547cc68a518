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
	outputKey    []byte                 // x(Q), the key signatures verify under
	outputPub    *btcec.PublicKey       // Q as btcec's BIP340 verifier takes it (lift_x(x(Q))); read-only
	secret       *btcec.ModNScalar      // q_self = ±(x_self + t): this party's share of Q's secret key, for Q's even y
	publicShares []*btcec.JacobianPoint // Q_m = q_m·G, aligned with parties, affine; read-only
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

// publicShare returns Q_p, p's share of the output key, or nil if p holds no share of the key.
// The point is shared by every copy of the key: callers only read it (btcec's arithmetic never
// writes its inputs).
func (k *tweakedKey) publicShare(p protocol.PartyID) *btcec.JacobianPoint {
	i, ok := slices.BinarySearch(k.parties, p)
	if !ok {
		return nil
	}
	return k.publicShares[i]
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

// Decoding a share and tweaking it cost about half of a signer's CPU in a signing (JSON, point
// decompressions, the interpolation that proves the public shares consistent and the tweak
// of every public share), so signing runs take their keys from
// tweakedKeys, a memo of decodeTweakedKey that does that once per share and process. Package
// sharecache says why caching a secret is acceptable and what bounds the cache (size, idle
// time, and a key's deletion).
var tweakedKeys = sharecache.New(sharecache.Config[*tweakedKey]{
	MaxShare: maxShareSize, Decode: decodeTweakedKey, Clone: (*tweakedKey).clone, Wipe: (*tweakedKey).wipe,
})
