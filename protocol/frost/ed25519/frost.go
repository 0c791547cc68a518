package ed25519

import (
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"sync"

	"filippo.io/edwards25519"
)

// This file is RFC 9591's signing for the ciphersuite FROST(Ed25519, SHA-512) (section 6.1),
// written from the RFC on filippo.io/edwards25519: nonce generation and commitments (section
// 5.1), binding factors, group commitment and challenge (sections 4.4 to 4.6), signature
// shares (section 5.2), their verification and aggregation (section 5.3). The function names
// follow the RFC's. Everything secret (the key share, the nonces) is computed on with
// filippo.io/edwards25519's constant-time operations; its variable-time ones see public
// values only (commitments, binding factors, signature shares, public shares).

// contextString is the ciphersuite's context string (RFC 9591 section 6.1).
const contextString = "FROST-ED25519-SHA512-v1"

// secretScalar is a secret scalar (a key share, a nonce) that is zeroized in place once used.
type secretScalar struct{ s edwards25519.Scalar }

// IsZero reports whether the scalar is zero (as it is once wiped).
func (x *secretScalar) IsZero() bool { return x.s.Equal(edwards25519.NewScalar()) == 1 }

// wipe zeroizes the scalar; the zero value of edwards25519.Scalar is the scalar 0.
func (x *secretScalar) wipe() { x.s = edwards25519.Scalar{} }

// hashToScalar is how H1, H2 and H3 map to scalars: the SHA-512 digest of the concatenated
// parts, read as a little-endian integer and reduced modulo ℓ.
func hashToScalar(parts ...[]byte) *edwards25519.Scalar {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	var digest [sha512.Size]byte
	s, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0])) // fails only for inputs of another length than 64 bytes
	clear(digest[:])
	return s
}

// hashWithContext is H4 and H5: SHA-512 of the context string, a domain tag and m.
func hashWithContext(tag string, m []byte) [sha512.Size]byte {
	h := sha512.New()
	h.Write([]byte(contextString))
	h.Write([]byte(tag))
	h.Write(m)
	var digest [sha512.Size]byte
	h.Sum(digest[:0])
	return digest
}

func h1(m []byte) *edwards25519.Scalar { return hashToScalar([]byte(contextString+"rho"), m) }

// h2 has no context string, for compatibility with RFC 8032: it is Ed25519's challenge hash.
func h2(groupCommitment, groupKey, msg []byte) *edwards25519.Scalar {
	return hashToScalar(groupCommitment, groupKey, msg)
}

func h3(parts ...[]byte) *edwards25519.Scalar {
	return hashToScalar(append([][]byte{[]byte(contextString + "nonce")}, parts...)...)
}

func h4(m []byte) [sha512.Size]byte { return hashWithContext("msg", m) }
func h5(m []byte) [sha512.Size]byte { return hashWithContext("com", m) }

// serializeIdentifier is SerializeScalar of a participant identifier: 32 bytes, little-endian.
func serializeIdentifier(id uint16) []byte {
	b := make([]byte, scalarSize)
	b[0], b[1] = byte(id), byte(id>>8)
	return b
}

// nonceGenerate is nonce_generate (section 4.1) with its 32 fresh random bytes passed in:
// H3(random_bytes || SerializeScalar(secret)). Mixing in the secret hedges against a weak
// random source; the randomness makes every nonce fresh.
func nonceGenerate(random *[32]byte, secret *secretScalar) *secretScalar {
	enc := secret.s.Bytes()
	h := h3(random[:], enc)
	clear(enc)
	n := &secretScalar{s: *h}
	*h = edwards25519.Scalar{}
	return n
}

// commit is commit (section 5.1) up to the commitments: a hiding and a binding nonce, each
// from 32 fresh bytes of crypto/rand and the secret. (crypto/rand.Read never fails: the
// process dies if the system's generator does.)
func commit(secret *secretScalar) *noncePair {
	var hiding, binding [32]byte
	defer clear(hiding[:])
	defer clear(binding[:])
	rand.Read(hiding[:])
	rand.Read(binding[:])
	return &noncePair{HidingNonce: nonceGenerate(&hiding, secret), BindingNonce: nonceGenerate(&binding, secret)}
}

// noncePair is one signer's secret nonces for one signature share (section 5.1). The field
// names are those of the RFC.
type noncePair struct {
	HidingNonce, BindingNonce *secretScalar
}

func (n *noncePair) wipe() {
	n.HidingNonce.wipe()
	n.BindingNonce.wipe()
}

// commitment returns the pair's public commitments, G.ScalarBaseMult of each nonce (the
// constant-time fixed-base multiplication: the nonces are secret).
func (n *noncePair) commitment(id uint16) signerCommitment {
	c := signerCommitment{
		id:      id,
		hiding:  new(edwards25519.Point).ScalarBaseMult(&n.HidingNonce.s),
		binding: new(edwards25519.Point).ScalarBaseMult(&n.BindingNonce.s),
	}
	copy(c.enc[:elementSize], c.hiding.Bytes())
	copy(c.enc[elementSize:], c.binding.Bytes())
	return c
}

// signerCommitment is one entry of the RFC's commitment_list: a signer's identifier and its
// two nonce commitments, as points and as serialized.
type signerCommitment struct {
	id              uint16
	hiding, binding *edwards25519.Point
	enc             commitmentPair // SerializeElement(hiding) || SerializeElement(binding)
}

// newSignerCommitment makes the entry of identifier id from its two decoded commitments.
func newSignerCommitment(id uint16, hiding, binding *point) signerCommitment {
	c := signerCommitment{id: id, hiding: hiding.p, binding: binding.p}
	copy(c.enc[:elementSize], hiding.enc[:])
	copy(c.enc[elementSize:], binding.enc[:])
	return c
}

// session is what every participant derives from the commitment list, the group key and the
// message, before any signature share: the binding factors, the group commitment R and the
// challenge c.
type session struct {
	list            []signerCommitment     // ascending identifiers
	ids             []uint16               // the identifiers of list, for the interpolating values
	bindingFactors  []*edwards25519.Scalar // aligned with list
	groupCommitment [elementSize]byte      // R, serialized
	challenge       *edwards25519.Scalar
}

// newSession computes the binding factors (compute_binding_factors), the group commitment
// (compute_group_commitment) and the challenge (compute_challenge) over list, which must be
// sorted by ascending, distinct identifiers and hold only checked commitments.
func newSession(groupKey [elementSize]byte, list []signerCommitment, msg []byte) (*session, error) {
	s := &session{list: list, ids: make([]uint16, len(list))}
	for i, c := range list {
		s.ids[i] = c.id
	}
	s.bindingFactors = computeBindingFactors(groupKey[:], list, msg)
	r := computeGroupCommitment(list, s.bindingFactors)
	if r.Equal(edwards25519.NewIdentityPoint()) == 1 {
		// SerializeElement refuses the identity; no honest run gets here.
		return nil, errors.New("the group commitment is the identity")
	}
	copy(s.groupCommitment[:], r.Bytes())
	s.challenge = h2(s.groupCommitment[:], groupKey[:], msg)
	return s, nil
}

// encodeGroupCommitmentList is encode_group_commitment_list (section 4.3).
func encodeGroupCommitmentList(list []signerCommitment) []byte {
	out := make([]byte, 0, len(list)*(scalarSize+2*elementSize))
	for _, c := range list {
		out = append(out, serializeIdentifier(c.id)...)
		out = append(out, c.enc[:]...)
	}
	return out
}

// computeBindingFactors is compute_binding_factors (section 4.4): ρ_i =
// H1(SerializeElement(PK) || H4(msg) || H5(encoded list) || SerializeScalar(i)).
func computeBindingFactors(groupKey []byte, list []signerCommitment, msg []byte) []*edwards25519.Scalar {
	msgHash := h4(msg)
	listHash := h5(encodeGroupCommitmentList(list))
	input := make([]byte, 0, elementSize+2*sha512.Size+scalarSize)
	input = append(input, groupKey...)
	input = append(input, msgHash[:]...)
	input = append(input, listHash[:]...)
	prefix := len(input)
	out := make([]*edwards25519.Scalar, len(list))
	for i, c := range list {
		out[i] = h1(append(input[:prefix], serializeIdentifier(c.id)...))
	}
	return out
}

// computeGroupCommitment is compute_group_commitment (section 4.5): R = Σ_i D_i + [ρ_i]E_i,
// with the products in one variable-time multi-scalar multiplication (all inputs are public).
func computeGroupCommitment(list []signerCommitment, bindingFactors []*edwards25519.Scalar) *edwards25519.Point {
	bindings := make([]*edwards25519.Point, len(list))
	for i, c := range list {
		bindings[i] = c.binding
	}
	r := new(edwards25519.Point).VarTimeMultiScalarMult(bindingFactors, bindings)
	for _, c := range list {
		r.Add(r, c.hiding)
	}
	return r
}

// deriveInterpolatingValue is derive_interpolating_value (section 4.2) at 0: the Lagrange
// coefficient λ_i = Π x_j / Π (x_j - x_i) (j ≠ i) of identifier xi for the set of distinct
// identifiers ids, which holds it. The denominator's factors are small integers, inverted by
// table.
func deriveInterpolatingValue(ids []uint16, xi uint16) *edwards25519.Scalar {
	num, den := smallScalar(1), smallScalar(1)
	negative := false
	for _, xj := range ids {
		if xj == xi {
			continue
		}
		num.Multiply(num, smallScalar(xj))
		d := int(xj) - int(xi)
		if d < 0 {
			d, negative = -d, !negative
		}
		den.Multiply(den, smallInverse(d))
	}
	if negative {
		den.Negate(den)
	}
	return num.Multiply(num, den)
}

// smallInverse returns 1/k mod ℓ for 0 < k < 2^16, from a table for the differences of
// identifiers of keys this package makes (below maxParties).
func smallInverse(k int) *edwards25519.Scalar {
	if table := smallInverses(); k < len(table) {
		return table[k]
	}
	return new(edwards25519.Scalar).Invert(smallScalar(uint16(k)))
}

// smallInverses holds 1/k mod ℓ at index k, for 0 < k < maxParties (index 0 is unused),
// computed with one inversion: 1/k = (k-1)! / k!.
var smallInverses = sync.OnceValue(func() []*edwards25519.Scalar {
	factorials := make([]*edwards25519.Scalar, maxParties) // k! at index k
	factorials[0] = smallScalar(1)
	for k := 1; k < maxParties; k++ {
		factorials[k] = new(edwards25519.Scalar).Multiply(factorials[k-1], smallScalar(uint16(k)))
	}
	table := make([]*edwards25519.Scalar, maxParties)
	inv := new(edwards25519.Scalar).Invert(factorials[maxParties-1]) // 1/k! for k = maxParties-1, downwards
	for k := maxParties - 1; k > 0; k-- {
		table[k] = new(edwards25519.Scalar).Multiply(inv, factorials[k-1])
		inv.Multiply(inv, smallScalar(uint16(k)))
	}
	return table
})

// smallScalar returns the scalar v.
func smallScalar(v uint16) *edwards25519.Scalar {
	s, _ := edwards25519.NewScalar().SetCanonicalBytes(serializeIdentifier(v)) // v < ℓ: always canonical
	return s
}

// signatureShare is sign (section 5.2) for the signer at position i of the list:
// z_i = d_i + e_i·ρ_i + λ_i·sk_i·c. The caller wipes the nonces afterwards (they must never be
// used again) and checks that the commitments at position i are the ones of these nonces.
func (s *session) signatureShare(i int, secret *secretScalar, nonces *noncePair) *edwards25519.Scalar {
	lc := deriveInterpolatingValue(s.ids, s.list[i].id)
	lc.Multiply(lc, s.challenge)
	var t secretScalar // intermediate products hold secrets until the sum is complete
	defer t.wipe()
	z := edwards25519.NewScalar().Multiply(&nonces.BindingNonce.s, s.bindingFactors[i])
	z.Add(z, &nonces.HidingNonce.s)
	t.s.Multiply(lc, &secret.s)
	return z.Add(z, &t.s)
}

// verifySignatureShare is verify_signature_share (section 5.3) for the signer at position i,
// whose public share is publicShare: [z_i]B = D_i + [ρ_i]E_i + [c·λ_i]PK_i, checked as
// [z_i]B - [ρ_i]E_i - [c·λ_i]PK_i = D_i in one variable-time multi-scalar multiplication.
func (s *session) verifySignatureShare(i int, z *edwards25519.Scalar, publicShare *edwards25519.Point) bool {
	c := s.list[i]
	lc := deriveInterpolatingValue(s.ids, c.id)
	lc.Multiply(lc, s.challenge)
	scalars := []*edwards25519.Scalar{z, new(edwards25519.Scalar).Negate(s.bindingFactors[i]), lc.Negate(lc)}
	points := []*edwards25519.Point{edwards25519.NewGeneratorPoint(), c.binding, publicShare}
	return new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points).Equal(c.hiding) == 1
}

// aggregate is aggregate (section 5.3) with the signature encoded as RFC 8032 wants it:
// SerializeElement(R) || SerializeScalar(Σ z_i). The shares must be over this session.
func (s *session) aggregate(shares []*edwards25519.Scalar) []byte {
	z := edwards25519.NewScalar()
	for _, zi := range shares {
		z.Add(z, zi)
	}
	sig := make([]byte, 0, SignatureSize)
	sig = append(sig, s.groupCommitment[:]...)
	return append(sig, z.Bytes()...)
}
