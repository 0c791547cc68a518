package taproot

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// This file is FROST signing (RFC 9591) adapted to BIP340 on secp256k1, written from the RFC on
// btcec: nonce generation and commitments (section 5.1), binding factors, group commitment and
// challenge (sections 4.4 to 4.6), signature shares (section 5.2), their verification and
// aggregation (section 5.3). The function names follow the RFC's. Where it departs from the
// RFC's ciphersuites, it does so for BIP340:
//
//   - Every hash is a BIP340 tagged hash (taggedHash in curve.go), read as a big-endian integer
//     and reduced modulo n, under this package's own tags (tagNonce, tagRho, tagList): no
//     other protocol hashes the same bytes under them. (The reduction's bias, below 2^-127, is
//     the one BIP340 accepts for its own nonce and challenge.)
//   - The challenge is BIP340's, c = int(hash_BIP0340/challenge(x(R) || x(Q) || m)) mod n, so
//     that the aggregate is an ordinary BIP340 signature under the output key Q.
//   - BIP340 signs with the R of even y: when the group commitment R has an odd y, every signer
//     negates its nonce contribution d_i + ρ_i·e_i, so that the shares add up to a signature
//     with -R, whose y is even and whose x is R's.
//   - The key signed with is Q with its even y; a signer's share of it is q_i = ±(x_i + t), and
//     its public share Q_i = q_i·G (tweakedKey, signkey.go).
//
// A participant's identifier is its party number, the x-coordinate of its Shamir share.
//
// Side channels: the nonces are multiplied by the generator in constant time
// (mulBaseSecret, protocol/internal/ctsecp; see the package comment), and the scalar
// arithmetic on secrets (ModNScalar) is constant-time. Everything else works on public values,
// with btcec's faster variable-time multiplications.

// Tags of this package's hashes: its own, so that none collides with another protocol's.
const (
	tagNonce     = "mpcsigner/frost-bip340/nonce"       // nonce_generate's H3
	tagRho       = "mpcsigner/frost-bip340/rho"         // the binding factors' H1
	tagList      = "mpcsigner/frost-bip340/commitments" // the digest of a commitment list signers compare
	tagChallenge = "BIP0340/challenge"                  // BIP340's own: the signature must verify

	// commitmentEntrySize is one entry of an encoded commitment list: the identifier as a
	// scalar, then the two commitments.
	commitmentEntrySize = scalarSize + 2*pointSize
)

// Precomputed SHA256(tag) of the tags hashed with secrets or once per signer.
var (
	tagNonceHash = sha256.Sum256([]byte(tagNonce))
	tagRhoHash   = sha256.Sum256([]byte(tagRho))
)

// noncePair is one signer's secret nonces for one signature share: the RFC's hiding nonce d
// and binding nonce e.
type noncePair struct {
	hiding, binding btcec.ModNScalar
}

func (n *noncePair) wipe() {
	n.hiding.Zero()
	n.binding.Zero()
}

// serializeIdentifier is SerializeScalar of identifier p: 32 bytes, big-endian.
func serializeIdentifier(p protocol.PartyID) [scalarSize]byte {
	var b [scalarSize]byte
	b[scalarSize-2], b[scalarSize-1] = byte(p>>8), byte(p)
	return b
}

// nonceGenerate is nonce_generate (section 4.1): H_nonce(32 random bytes || SerializeScalar(secret)),
// with a fresh draw in the (never seen) case of a zero nonce, whose commitment could not be
// encoded. Mixing in the secret hedges against a weak random source; the randomness makes
// every nonce fresh. (crypto/rand.Read never fails: the process dies if the system's
// generator does.)
func nonceGenerate(secret *btcec.ModNScalar, out *btcec.ModNScalar) {
	var in [2*sha256.Size + 32 + scalarSize]byte // tag prefix || random || secret
	var digest [sha256.Size]byte
	defer clear(in[:])
	defer clear(digest[:])
	copy(in[:], tagNonceHash[:])
	copy(in[sha256.Size:], tagNonceHash[:])
	for {
		rand.Read(in[2*sha256.Size : 2*sha256.Size+32])
		secret.PutBytesUnchecked(in[2*sha256.Size+32:])
		digest = sha256.Sum256(in[:])
		out.SetBytes(&digest)
		if !out.IsZero() {
			return
		}
	}
}

// commit is commit (section 5.1): a hiding and a binding nonce, derived from the signer's
// secret share, and their commitments D = d·G, E = e·G as signer self's list entry.
func commit(self protocol.PartyID, secret *btcec.ModNScalar) (*noncePair, signerCommitment) {
	n := new(noncePair)
	nonceGenerate(secret, &n.hiding)
	nonceGenerate(secret, &n.binding)
	d, e := affine(mulBaseSecret(&n.hiding)), affine(mulBaseSecret(&n.binding))
	return n, newSignerCommitment(self, &d, &e, encodePoint(&d), encodePoint(&e))
}

// signerCommitment is one entry of the RFC's commitment_list: a signer's identifier and its
// two nonce commitments, as points and as encoded.
type signerCommitment struct {
	id              protocol.PartyID
	hiding, binding *btcec.JacobianPoint // D, E
	enc             [2 * pointSize]byte  // D || E, compressed
}

func newSignerCommitment(id protocol.PartyID, hiding, binding *btcec.JacobianPoint, hidingEnc, bindingEnc []byte) signerCommitment {
	c := signerCommitment{id: id, hiding: hiding, binding: binding}
	copy(c.enc[:pointSize], hidingEnc)
	copy(c.enc[pointSize:], bindingEnc)
	return c
}

// session is what every signer derives from the commitment list, the output key and the
// message before any signature share: the binding factors, the group commitment R, the
// challenge c and the Lagrange coefficients of the signers.
type session struct {
	list           []signerCommitment // ascending identifiers
	listDigest     [sha256.Size]byte  // H_list(encoded list): what signers compare
	bindingFactors []btcec.ModNScalar // ρ_i, aligned with list
	// contributions are the signers' nonce contributions as their shares must account for
	// them: D_i + ρ_i·E_i, negated when R has an odd y. Aligned with list.
	contributions []*btcec.JacobianPoint
	negate        bool // R has an odd y: every nonce contribution is negated
	rx            [32]byte
	challenge     btcec.ModNScalar
	lambdas       []*btcec.ModNScalar // λ_i at 0 over the signers, aligned with list
}

// newSession computes the binding factors (compute_binding_factors), the group commitment
// (compute_group_commitment) and the challenge (compute_challenge) over list, which must be
// sorted by ascending, distinct identifiers and hold only decoded (so valid) points, for the
// x-only output key outputKey and the 32-byte message msg.
func newSession(outputKey []byte, list []signerCommitment, msg []byte) (*session, error) {
	encoded := encodeGroupCommitmentList(list)
	s := &session{list: list, listDigest: [sha256.Size]byte(taggedHash(tagList, encoded))}
	s.bindingFactors = computeBindingFactors(outputKey, msg, encoded, list)
	r := new(btcec.JacobianPoint) // the point at infinity
	s.contributions = make([]*btcec.JacobianPoint, len(list))
	for i, c := range list {
		ri := addPoints(mulPoint(&s.bindingFactors[i], c.binding), c.hiding) // the affine point second: the cheaper addition
		if isInfinity(ri) {
			// Only a break of H_rho lets a signer cancel its own commitments out.
			return nil, fmt.Errorf("the nonce contribution of %s is the point at infinity", c.id)
		}
		s.contributions[i] = ri
		r = addPoints(r, ri)
	}
	if isInfinity(r) {
		// BIP340 has no encoding for it; no honest run gets here.
		return nil, errors.New("the group commitment is the point at infinity")
	}
	ra := affine(r)
	s.negate, s.rx = ra.Y.IsOdd(), *ra.X.Bytes()
	if s.negate {
		for i, ri := range s.contributions {
			s.contributions[i] = negatePoint(ri)
		}
	}
	s.challenge.SetByteSlice(taggedHash(tagChallenge, s.rx[:], outputKey, msg))
	ids := make([]protocol.PartyID, len(list))
	for i, c := range list {
		ids[i] = c.id
	}
	var err error
	if s.lambdas, err = lagrangeAt(ids, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// encodeGroupCommitmentList is encode_group_commitment_list (section 4.3): for each signer,
// SerializeScalar(identifier) || D || E.
func encodeGroupCommitmentList(list []signerCommitment) []byte {
	out := make([]byte, 0, len(list)*commitmentEntrySize)
	for _, c := range list {
		id := serializeIdentifier(c.id)
		out = append(out, id[:]...)
		out = append(out, c.enc[:]...)
	}
	return out
}

// computeBindingFactors is compute_binding_factors (section 4.4) with one tagged hash:
// ρ_i = H_rho(x(Q) || msg || encoded list || SerializeScalar(i)). Every part but the last has a
// fixed size or is fixed by the signer count (the message is always 32 bytes), so the
// concatenation is unambiguous and the RFC's inner hashes of msg and list are not needed. The
// common prefix is hashed once and its state cloned for each signer.
func computeBindingFactors(outputKey, msg, encodedList []byte, list []signerCommitment) []btcec.ModNScalar {
	prefix := newRhoHash()
	prefix.Write(outputKey)
	prefix.Write(msg)
	prefix.Write(encodedList)
	cloner, _ := prefix.(hash.Cloner) // sha256's state is always cloneable since Go 1.25
	out := make([]btcec.ModNScalar, len(list))
	var digest [sha256.Size]byte
	for i, c := range list {
		var h hash.Hash
		if cloner != nil {
			if hc, err := cloner.Clone(); err == nil {
				h = hc
			}
		}
		if h == nil {
			h = newRhoHash()
			h.Write(outputKey)
			h.Write(msg)
			h.Write(encodedList)
		}
		id := serializeIdentifier(c.id)
		h.Write(id[:])
		h.Sum(digest[:0])
		out[i].SetBytes(&digest)
	}
	return out
}

func newRhoHash() hash.Hash {
	h := sha256.New()
	h.Write(tagRhoHash[:])
	h.Write(tagRhoHash[:])
	return h
}

// signatureShare is sign (section 5.2) for the signer at position i of the list, adapted to
// BIP340: z_i = ±(d_i + ρ_i·e_i) + λ_i·q_i·c, the sign being R's (see negate). The caller
// wipes the nonces afterwards (they must never be used again) and has checked that the
// commitments at position i are the ones of these nonces.
func (s *session) signatureShare(i int, secret *btcec.ModNScalar, nonces *noncePair) *btcec.ModNScalar {
	z := new(btcec.ModNScalar).Mul2(&nonces.binding, &s.bindingFactors[i]).Add(&nonces.hiding)
	if s.negate {
		z.Negate()
	}
	var t btcec.ModNScalar // λ_i·c·q_i holds the secret until it is added in
	defer t.Zero()
	t.Mul2(s.lambdas[i], &s.challenge).Mul(secret)
	return z.Add(&t)
}

// verifySignatureShare is verify_signature_share (section 5.3) for the signer at position i,
// whose public share is Q_i: z_i·G == ±(D_i + ρ_i·E_i) + (c·λ_i)·Q_i, checked as
// z_i·G - (c·λ_i)·Q_i == the signer's contribution.
func (s *session) verifySignatureShare(i int, z *btcec.ModNScalar, publicShare *btcec.JacobianPoint) bool {
	lc := new(btcec.ModNScalar).Mul2(s.lambdas[i], &s.challenge).Negate()
	return pointsEqual(addPoints(mulBase(z), mulPoint(lc, publicShare)), s.contributions[i])
}

// aggregate is aggregate (section 5.3) with the signature encoded as BIP340 wants it:
// x(R) || Σ z_i, 64 bytes. The shares must be over this session.
func (s *session) aggregate(shares []*btcec.ModNScalar) []byte {
	var sum btcec.ModNScalar
	for _, z := range shares {
		sum.Add(z)
	}
	b := sum.Bytes()
	sig := make([]byte, 0, SignatureSize)
	sig = append(sig, s.rx[:]...)
	return append(sig, b[:]...)
}
