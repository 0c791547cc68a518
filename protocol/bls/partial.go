package bls

import (
	"errors"
	"fmt"
	"slices"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// A BLS partial signature needs no interaction: signer m computes σ_m = x_m·H(msg) on its own,
// and anyone holding the public shares combines t of them. The session-based signRun does this
// between enclaves; the types below let an enclave answer a single request with its partial and
// let an untrusted host combine and check the partials. Partials are safe to hand to a host:
// σ_m reveals no more about x_m than the public share PK_m already does.

// KeyShare is one party's share decoded once, for repeated partial signing. It holds a secret;
// Wipe zeroizes it.
type KeyShare struct {
	s *share
}

// LoadKeyShare decodes a serialized share (as written by keygen or import).
func LoadKeyShare(b []byte) (*KeyShare, error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, err
	}
	return &KeyShare{s: s}, nil
}

// Party is the party this share belongs to.
func (k *KeyShare) Party() protocol.PartyID { return k.s.self }

// PublicKey is the 48-byte compressed group public key.
func (k *KeyShare) PublicKey() []byte { return k.s.publicKey.Compress() }

// Group returns the public data a combiner needs.
func (k *KeyShare) Group() *GroupKey {
	return &GroupKey{threshold: k.s.threshold, parties: slices.Clone(k.s.parties), publicKey: k.s.publicKey, publicShares: slices.Clone(k.s.publicShares)}
}

// SignPartial returns this party's 96-byte partial signature over msg.
func (k *KeyShare) SignPartial(msg []byte) []byte {
	return partialSign(k.s.secret, hashToG2(msg)).Compress()
}

// Wipe zeroizes the secret; the KeyShare must not be used afterwards.
func (k *KeyShare) Wipe() { k.s.wipe() }

// String describes the share without its secret.
func (k *KeyShare) String() string { return k.s.String() }

// GroupKey is the public side of a threshold key: the group public key and every party's public
// share. It holds nothing secret.
type GroupKey struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	publicKey    *blst.P1Affine
	publicShares []*blst.P1Affine // aligned with parties
}

// NewGroupKey checks and assembles a group key from its compressed parts: the public shares must
// interpolate to the group key (any t of them determine it).
func NewGroupKey(publicKey []byte, threshold int, publicShares map[protocol.PartyID][]byte) (*GroupKey, error) {
	pk, err := decodeG1(publicKey)
	if err != nil {
		return nil, fmt.Errorf("bls: group public key: %w", err)
	}
	g := &GroupKey{threshold: threshold, publicKey: pk}
	for p := range publicShares {
		g.parties = append(g.parties, p)
	}
	slices.Sort(g.parties)
	if threshold < 1 || threshold > len(g.parties) {
		return nil, fmt.Errorf("bls: threshold %d with %d public shares", threshold, len(g.parties))
	}
	for _, p := range g.parties {
		if p == 0 {
			return nil, errors.New("bls: public share for party 0")
		}
		ps, err := decodeG1(publicShares[p])
		if err != nil {
			return nil, fmt.Errorf("bls: public share of %s: %w", p, err)
		}
		g.publicShares = append(g.publicShares, ps)
	}
	// Every t-subset must interpolate to the group key; checking the consecutive windows catches
	// any single wrong share, which is what a damaged record would show.
	for i := 0; i+threshold <= len(g.parties); i++ {
		at, err := interpolateG1(g.parties[i:i+threshold], g.publicShares[i:i+threshold], nil)
		if err != nil {
			return nil, fmt.Errorf("bls: %w", err)
		}
		if !at.Equals(pk) {
			return nil, fmt.Errorf("bls: the public shares of %v do not interpolate to the group key", g.parties[i:i+threshold])
		}
	}
	return g, nil
}

// Threshold is the number of partials a signature needs.
func (g *GroupKey) Threshold() int { return g.threshold }

// Parties lists the holders of a share, ascending.
func (g *GroupKey) Parties() []protocol.PartyID { return slices.Clone(g.parties) }

// PublicKey is the 48-byte compressed group public key.
func (g *GroupKey) PublicKey() []byte { return g.publicKey.Compress() }

// Combine interpolates exactly Threshold partials over msg into the group signature and verifies
// it. When the result does not verify, each partial is checked against its public share, and the
// error (a *protocol.Error) names the parties whose partials are wrong. Checking only the result
// in the common case costs one pairing instead of t+1.
func (g *GroupKey) Combine(msg []byte, partials map[protocol.PartyID][]byte) ([]byte, error) {
	return g.CombineWith(nil, msg, partials)
}

// CombineWith is Combine with the result's verification done by v, in a batch with other
// signatures being verified at the same time (nil: on its own).
func (g *GroupKey) CombineWith(v *BatchVerifier, msg []byte, partials map[protocol.PartyID][]byte) ([]byte, error) {
	if len(partials) != g.threshold {
		return nil, fmt.Errorf("bls: %d partial signatures for a threshold of %d", len(partials), g.threshold)
	}
	ids := make([]protocol.PartyID, 0, len(partials))
	for p := range partials {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	// Fast path: decode without the subgroup checks (about 0.1 ms each) and check only the
	// result, in full: a combined signature that passes the subgroup check and the pairing is
	// a valid signature under the group key, whatever the partials were. Only when it fails is
	// each partial checked, to name the culprits.
	points := make([]*blst.P2Affine, len(ids))
	for i, p := range ids {
		if _, ok := slices.BinarySearch(g.parties, p); !ok {
			return nil, fmt.Errorf("bls: %s holds no share of this key", p)
		}
		if len(partials[p]) == SignatureSize {
			points[i] = new(blst.P2Affine).Uncompress(partials[p]) // nil unless on the curve
		}
	}
	if !slices.Contains(points, nil) {
		sig, err := combine(ids, points)
		if err != nil {
			return nil, fmt.Errorf("bls: %w", err)
		}
		// The group key was validated when g was made; the signature's subgroup is checked here.
		ok := false
		if v != nil {
			ok = v.verify(g.publicKey, msg, sig)
		} else {
			ok = sig.Verify(true, g.publicKey, false, msg, dst)
		}
		if ok {
			return sig.Compress(), nil
		}
	}
	return nil, g.blame(ids, msg, partials)
}

// blame finds the partials that do not verify under their signers' public shares.
func (g *GroupKey) blame(ids []protocol.PartyID, msg []byte, partials map[protocol.PartyID][]byte) error {
	var malformed []protocol.PartyID
	points := make([]*blst.P2Affine, len(ids))
	for i, p := range ids {
		sig, err := decodeG2(partials[p])
		if err != nil {
			malformed = append(malformed, p)
			continue
		}
		points[i] = sig
	}
	if len(malformed) > 0 {
		return &protocol.Error{Task: "sign", Round: 1, Culprits: malformed, Cause: errors.New("malformed partial signature")}
	}
	h := hashToG2(msg)
	var bad []protocol.PartyID
	for i, p := range ids {
		j, _ := slices.BinarySearch(g.parties, p)
		if !partialValid(g.publicShares[j], h, points[i]) {
			bad = append(bad, p)
		}
	}
	cause := errors.New("the combined signature does not verify under the group key")
	if len(bad) > 0 {
		cause = errors.New("partial signature does not verify under the party's public share")
	}
	return &protocol.Error{Task: "sign", Round: 1, Culprits: bad, Cause: cause}
}
