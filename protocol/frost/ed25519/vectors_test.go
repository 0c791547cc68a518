package ed25519

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"math/big"
	"slices"
	"testing"

	"filippo.io/edwards25519"
	"github.com/bytemare/ecc"
	"github.com/bytemare/frost"
	"github.com/bytemare/secret-sharing/keys"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// rfc9591 is the FROST(Ed25519, SHA-512) test vector of RFC 9591, Appendix E.1
// (MAX_PARTICIPANTS 3, MIN_PARTICIPANTS 2, signers 1 and 3, message "test").
var rfc9591 = struct {
	groupSecretKey, groupPublicKey, message, coefficient1 string
	shares                                                map[uint16]string
	signers                                               []uint16
	round1                                                map[uint16]rfcRound1
	sigShares                                             map[uint16]string
	sig                                                   string
}{
	groupSecretKey: "7b1c33d3f5291d85de664833beb1ad469f7fb6025a0ec78b3a790c6e13a98304",
	groupPublicKey: "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673",
	message:        "74657374",
	coefficient1:   "178199860edd8c62f5212ee91eff1295d0d670ab4ed4506866bae57e7030b204",
	shares: map[uint16]string{
		1: "929dcc590407aae7d388761cddb0c0db6f5627aea8e217f4a033f2ec83d93509",
		2: "a91e66e012e4364ac9aaa405fcafd370402d9859f7b6685c07eed76bf409e80d",
		3: "d3cb090a075eb154e82fdb4b3cb507f110040905468bb9c46da8bdea643a9a02",
	},
	signers: []uint16{1, 3},
	round1: map[uint16]rfcRound1{
		1: {
			hidingRandomness:  "0fd2e39e111cdc266f6c0f4d0fd45c947761f1f5d3cb583dfcb9bbaf8d4c9fec",
			bindingRandomness: "69cd85f631d5f7f2721ed5e40519b1366f340a87c2f6856363dbdcda348a7501",
			hidingNonce:       "812d6104142944d5a55924de6d49940956206909f2acaeedecda2b726e630407",
			bindingNonce:      "b1110165fc2334149750b28dd813a39244f315cff14d4e89e6142f262ed83301",
			hidingCommitment:  "b5aa8ab305882a6fc69cbee9327e5a45e54c08af61ae77cb8207be3d2ce13de3",
			bindingCommitment: "67e98ab55aa310c3120418e5050c9cf76cf387cb20ac9e4b6fdb6f82a469f932",
			bindingFactorInput: "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673" +
				"504df914fa965023fb75c25ded4bb260f417de6d32e5c442c6ba313791cc9a49" +
				"48d6273e8d3511f93348ea7a708a9b862bc73ba2a79cfdfe07729a193751cbc9" +
				"73af46d8ac3440e518d4ce440a0e7d4ad5f62ca8940f32de6d8dc00fc12c660b" +
				"817d587d82f856d277ce6473cae6d2f5763f7da2e8b4d799a3f3e725d4522ec7" +
				"0100000000000000000000000000000000000000000000000000000000000000",
			bindingFactor: "f2cb9d7dd9beff688da6fcc83fa89046b3479417f47f55600b106760eb3b5603",
		},
		3: {
			hidingRandomness:  "86d64a260059e495d0fb4fcc17ea3da7452391baa494d4b00321098ed2a0062f",
			bindingRandomness: "13e6b25afb2eba51716a9a7d44130c0dbae0004a9ef8d7b5550c8a0e07c61775",
			hidingNonce:       "c256de65476204095ebdc01bd11dc10e57b36bc96284595b8215222374f99c0e",
			bindingNonce:      "243d71944d929063bc51205714ae3c2218bd3451d0214dfb5aeec2a90c35180d",
			hidingCommitment:  "cfbdb165bd8aad6eb79deb8d287bcc0ab6658ae57fdcc98ed12c0669e90aec91",
			bindingCommitment: "7487bc41a6e712eea2f2af24681b58b1cf1da278ea11fe4e8b78398965f13552",
			bindingFactorInput: "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673" +
				"504df914fa965023fb75c25ded4bb260f417de6d32e5c442c6ba313791cc9a49" +
				"48d6273e8d3511f93348ea7a708a9b862bc73ba2a79cfdfe07729a193751cbc9" +
				"73af46d8ac3440e518d4ce440a0e7d4ad5f62ca8940f32de6d8dc00fc12c660b" +
				"817d587d82f856d277ce6473cae6d2f5763f7da2e8b4d799a3f3e725d4522ec7" +
				"0300000000000000000000000000000000000000000000000000000000000000",
			bindingFactor: "b087686bf35a13f3dc78e780a34b0fe8a77fef1b9938c563f5573d71d8d7890f",
		},
	},
	sigShares: map[uint16]string{
		1: "001719ab5a53ee1a12095cd088fd149702c0720ce5fd2f29dbecf24b7281b603",
		3: "bd86125de990acc5e1f13781d8e32c03a9bbd4c53539bbc106058bfd14326007",
	},
	sig: "36282629c383bb820a88b71cae937d41f2f2adfcc3d02e55507e2fb9e2dd3cbe" +
		"bd9d2b0844e49ae0f3fa935161e1419aab7b47d21a37ebeae1f17d4987b3160b",
}

type rfcRound1 struct {
	hidingRandomness, bindingRandomness string
	hidingNonce, bindingNonce           string
	hidingCommitment, bindingCommitment string
	bindingFactorInput, bindingFactor   string
}

const rfcContext = "FROST-ED25519-SHA512-v1"

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vecScalar(t *testing.T, s string) *ecc.Scalar {
	t.Helper()
	sc, err := decodeScalar(unhex(t, s), false)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func vecElement(t *testing.T, s string) *ecc.Element {
	t.Helper()
	e, err := decodeElement(unhex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRFC9591Vectors reproduces Appendix E.1 with bytemare's API (the library this engine
// runs on): the key shares, the nonces derived from the vector's randomness, their
// commitments, the signature shares and the signature, which crypto/ed25519 must accept.
func TestRFC9591Vectors(t *testing.T) {
	v := rfc9591
	pk := vecElement(t, v.groupPublicKey)
	msg := unhex(t, v.message)

	// Group key and shares, from the group secret key and the polynomial's coefficient.
	sk, a1 := vecScalar(t, v.groupSecretKey), vecScalar(t, v.coefficient1)
	if !group.Base().Multiply(sk).Equal(pk) {
		t.Fatal("group_secret_key·B is not group_public_key")
	}
	var pubShares []*keys.PublicKeyShare
	for id := uint16(1); id <= 3; id++ {
		want := vecScalar(t, v.shares[id])
		if got := a1.Copy().Multiply(scalarOf(id)).Add(sk); !got.Equal(want) {
			t.Fatalf("P%d participant_share: got %x", id, got.Encode())
		}
		pubShares = append(pubShares, &keys.PublicKeyShare{PublicKey: group.Base().Multiply(want), ID: id, Group: group})
	}

	config := &frost.Configuration{Ciphersuite: frost.Ed25519, Threshold: 2, MaxSigners: 3, VerificationKey: pk, SignerPublicKeyShares: pubShares}
	if err := config.Init(); err != nil {
		t.Fatal(err)
	}
	frostMu.Lock()
	defer frostMu.Unlock()
	signers := map[uint16]*frost.Signer{}
	var list frost.CommitmentList
	for _, id := range v.signers {
		r1 := v.round1[id]
		secret := vecScalar(t, v.shares[id])
		s, err := config.Signer(&keys.KeyShare{Secret: secret, VerificationKey: pk, PublicKeyShare: *pubShares[id-1]})
		if err != nil {
			t.Fatal(err)
		}
		s.HidingRandom, s.BindingRandom = unhex(t, r1.hidingRandomness), unhex(t, r1.bindingRandomness)
		com := s.Commit()
		nonces := s.NonceCommitments[com.CommitmentID]
		for _, c := range []struct {
			name string
			got  []byte
			want string
		}{
			{"hiding_nonce", nonces.HidingNonce.Encode(), r1.hidingNonce},
			{"binding_nonce", nonces.BindingNonce.Encode(), r1.bindingNonce},
			{"hiding_nonce_commitment", com.HidingNonceCommitment.Encode(), r1.hidingCommitment},
			{"binding_nonce_commitment", com.BindingNonceCommitment.Encode(), r1.bindingCommitment},
		} {
			if hex.EncodeToString(c.got) != c.want {
				t.Fatalf("P%d %s: got %x, want %s", id, c.name, c.got, c.want)
			}
		}
		signers[id] = s
		list = append(list, com)
	}
	var shares []*frost.SignatureShare
	for _, id := range v.signers {
		share, err := signers[id].Sign(msg, slices.Clone(list))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(share.SignatureShare.Encode()); got != v.sigShares[id] {
			t.Fatalf("P%d sig_share: got %s, want %s", id, got, v.sigShares[id])
		}
		if err := config.VerifySignatureShare(share, msg, list); err != nil {
			t.Fatalf("P%d sig_share does not verify: %v", id, err)
		}
		shares = append(shares, share)
	}
	sig, err := config.AggregateSignatures(msg, shares, list, true)
	if err != nil {
		t.Fatal(err)
	}
	enc := append(sig.R.Encode(), sig.Z.Encode()...)
	if hex.EncodeToString(enc) != v.sig {
		t.Fatalf("sig: got %x, want %s", enc, v.sig)
	}
	if !ed25519.Verify(unhex(t, v.groupPublicKey), msg, enc) {
		t.Fatal("crypto/ed25519 refuses the RFC 9591 signature")
	}
}

// TestRFC9591VectorsIndependently recomputes the vector's hashes and arithmetic from RFC 9591's
// definitions with crypto/sha512, math/big and filippo.io/edwards25519 only (no bytemare
// code): nonce_generate (H3), the binding factor inputs and factors (H4, H5, H1), the group
// commitment, the challenge (H2) and every signature share.
func TestRFC9591VectorsIndependently(t *testing.T) {
	v := rfc9591
	order, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) *big.Int {
		be := slices.Clone(b)
		slices.Reverse(be)
		return new(big.Int).SetBytes(be)
	}
	toLE := func(x *big.Int) []byte {
		b := new(big.Int).Mod(x, order).FillBytes(make([]byte, 32))
		slices.Reverse(b)
		return b
	}
	hashToScalar := func(parts ...[]byte) *big.Int {
		h := sha512.New()
		for _, p := range parts {
			h.Write(p)
		}
		return new(big.Int).Mod(le(h.Sum(nil)), order)
	}
	h := func(parts ...[]byte) []byte {
		d := sha512.New()
		for _, p := range parts {
			d.Write(p)
		}
		return d.Sum(nil)
	}
	point := func(s string) *edwards25519.Point {
		p, err := new(edwards25519.Point).SetBytes(unhex(t, s))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	idScalar := func(id uint16) []byte { return toLE(big.NewInt(int64(id))) }
	ctx := []byte(rfcContext)
	msg := unhex(t, v.message)
	pk := unhex(t, v.groupPublicKey)

	// Group key from the group secret key (RFC 8032 encoding).
	skScalar, err := edwards25519.NewScalar().SetCanonicalBytes(unhex(t, v.groupSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	if got := new(edwards25519.Point).ScalarBaseMult(skScalar).Bytes(); !bytes.Equal(got, pk) {
		t.Fatalf("group_public_key: got %x", got)
	}

	var encodedList []byte
	for _, id := range v.signers {
		r1 := v.round1[id]
		share := unhex(t, v.shares[id])
		for _, n := range []struct{ random, want string }{{r1.hidingRandomness, r1.hidingNonce}, {r1.bindingRandomness, r1.bindingNonce}} {
			if got := toLE(hashToScalar(ctx, []byte("nonce"), unhex(t, n.random), share)); hex.EncodeToString(got) != n.want {
				t.Fatalf("P%d nonce_generate: got %x, want %s", id, got, n.want)
			}
		}
		encodedList = slices.Concat(encodedList, idScalar(id), unhex(t, r1.hidingCommitment), unhex(t, r1.bindingCommitment))
	}
	prefix := slices.Concat(pk, h(ctx, []byte("msg"), msg), h(ctx, []byte("com"), encodedList))
	groupCommitment := edwards25519.NewIdentityPoint()
	rho := map[uint16]*big.Int{}
	for _, id := range v.signers {
		r1 := v.round1[id]
		input := slices.Concat(prefix, idScalar(id))
		if hex.EncodeToString(input) != r1.bindingFactorInput {
			t.Fatalf("P%d binding_factor_input: got %x", id, input)
		}
		rho[id] = hashToScalar(ctx, []byte("rho"), input)
		if got := toLE(rho[id]); hex.EncodeToString(got) != r1.bindingFactor {
			t.Fatalf("P%d binding_factor: got %x, want %s", id, got, r1.bindingFactor)
		}
		rhoScalar, _ := edwards25519.NewScalar().SetCanonicalBytes(toLE(rho[id]))
		e := new(edwards25519.Point).ScalarMult(rhoScalar, point(r1.bindingCommitment))
		groupCommitment.Add(groupCommitment, new(edwards25519.Point).Add(point(r1.hidingCommitment), e))
	}
	rEnc := groupCommitment.Bytes()
	c := hashToScalar(rEnc, pk, msg) // H2: no context string, as in RFC 8032
	z := new(big.Int)
	for _, id := range v.signers {
		r1 := v.round1[id]
		// λ_id for the signer set {1, 3}.
		num, den := big.NewInt(1), big.NewInt(1)
		for _, j := range v.signers {
			if j != id {
				num.Mul(num, big.NewInt(int64(j)))
				den.Mul(den, big.NewInt(int64(j)-int64(id)))
			}
		}
		lambda := new(big.Int).Mul(num, new(big.Int).ModInverse(new(big.Int).Mod(den, order), order))
		zi := new(big.Int).Mul(rho[id], le(unhex(t, r1.bindingNonce)))
		zi.Add(zi, le(unhex(t, r1.hidingNonce)))
		zi.Add(zi, new(big.Int).Mul(new(big.Int).Mul(lambda, c), le(unhex(t, v.shares[id]))))
		if got := toLE(zi); hex.EncodeToString(got) != v.sigShares[id] {
			t.Fatalf("P%d sig_share: got %x, want %s", id, got, v.sigShares[id])
		}
		z.Add(z, zi)
	}
	if got := slices.Concat(rEnc, toLE(z)); hex.EncodeToString(got) != v.sig {
		t.Fatalf("sig: got %x, want %s", got, v.sig)
	}
}

// TestEngineSignsWithRFC9591Key runs this engine's signing over the vector's key shares: the
// signature over a 32-byte digest verifies with crypto/ed25519 under the vector's group key, for
// every pair of signers, and so does one over the vector's own message.
func TestEngineSignsWithRFC9591Key(t *testing.T) {
	v := rfc9591
	pk := vecElement(t, v.groupPublicKey)
	parties := partiesUpTo(3)
	var pubShares []*ecc.Element
	for id := uint16(1); id <= 3; id++ {
		pubShares = append(pubShares, group.Base().Multiply(vecScalar(t, v.shares[id])))
	}
	fx := &keygenFixture{parties: parties, threshold: 2, publicKey: unhex(t, v.groupPublicKey), shares: map[protocol.PartyID][]byte{}}
	for i, p := range parties {
		s := &share{threshold: 2, parties: parties, self: p, secret: vecScalar(t, v.shares[uint16(i+1)]), publicKey: pk, publicShares: pubShares}
		enc, err := s.encode()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := (Engine{}).PublicKey(enc); err != nil || !bytes.Equal(got, fx.publicKey) {
			t.Fatalf("PublicKey = %x, %v", got, err)
		}
		fx.shares[p] = enc
	}
	for _, signers := range combinations(parties, 2) {
		signOnce(t, fx, signers, protocoltest.DigestOf("RFC 9591 key"))
	}
	// And over the vector's own message (4 bytes), as a whole message.
	msg := unhex(t, v.message)
	nonce := newNonce(t)
	runs := map[protocol.PartyID]protocol.Run{}
	for _, p := range protocoltest.IDs(1, 3) {
		r, err := Engine{}.Sign(protocol.SignParams{Self: p, Signers: protocoltest.IDs(1, 3), Share: fx.shares[p], Message: msg, SessionNonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	for p, res := range execute(t, runs, nil) {
		if res.Err != nil || res.Signature == nil || !ed25519.Verify(fx.publicKey, msg, res.Signature.Encoded) {
			t.Fatalf("%s: signing the RFC 9591 message %q: %+v (crypto/ed25519 must accept it)", p, msg, res)
		}
	}
}
