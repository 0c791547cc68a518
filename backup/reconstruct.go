package backup

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"filippo.io/bigmod"
	"filippo.io/edwards25519"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"
	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	"github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
	"github.com/mpcsigner/mpcsigner/protocol/frost/taproot"
)

// scalarSize is the size of every scheme's secret scalar encoding.
const scalarSize = 32

// Group orders, big-endian: the moduli shares are interpolated over.
var groupOrders = map[protocol.Scheme]string{
	protocol.SchemeECDSASecp256k1: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
	protocol.SchemeBIP340:         "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
	protocol.SchemeECDSAP256:      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
	protocol.SchemeBLS12381:       "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001",
	protocol.SchemeEd25519:        "1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed",
}

// secretShare is one decoded share as reconstruction needs it, whatever its engine.
type secretShare struct {
	self        protocol.PartyID
	x           uint16 // where the share is the sharing polynomial's value
	threshold   int
	parties     []protocol.PartyID
	secret      []byte // big-endian
	publicKey   []byte // the engine's public key encoding
	internalKey []byte // bip340 only: x(P)
	publicShare []byte
}

func (s *secretShare) wipe() { clear(s.secret) }

// sameSharing reports whether s and o are shares of one sharing of one key.
func (s *secretShare) sameSharing(o *secretShare) bool {
	return bytes.Equal(s.publicKey, o.publicKey) && s.threshold == o.threshold && slices.Equal(s.parties, o.parties)
}

// exportShare decodes a share of scheme with its engine. The engines' errors never quote
// the secret.
func exportShare(scheme protocol.Scheme, b []byte) (*secretShare, error) {
	switch scheme {
	case protocol.SchemeECDSASecp256k1, protocol.SchemeECDSAP256:
		e, err := ecdsa.ExportSecretShare(b)
		if err != nil {
			return nil, err
		}
		if e.Scheme != scheme {
			e.Wipe()
			return nil, fmt.Errorf("a %s share, not %s", e.Scheme, scheme)
		}
		return &secretShare{e.Self, e.X, e.Threshold, e.Parties, e.Secret, e.PublicKey, nil, e.PublicShare}, nil
	case protocol.SchemeBLS12381:
		e, err := bls.ExportSecretShare(b)
		if err != nil {
			return nil, err
		}
		return &secretShare{e.Self, e.X, e.Threshold, e.Parties, e.Secret, e.PublicKey, nil, e.PublicShare}, nil
	case protocol.SchemeEd25519:
		e, err := ed25519.ExportSecretShare(b)
		if err != nil {
			return nil, err
		}
		return &secretShare{e.Self, e.X, e.Threshold, e.Parties, e.Secret, e.PublicKey, nil, e.PublicShare}, nil
	case protocol.SchemeBIP340:
		e, err := taproot.ExportSecretShare(b)
		if err != nil {
			return nil, err
		}
		return &secretShare{e.Self, e.X, e.Threshold, e.Parties, e.Secret, e.PublicKey, e.InternalKey, e.PublicShare}, nil
	}
	_, err := protocol.ParseScheme(string(scheme))
	return nil, err
}

// Reconstruct interpolates, at 0, the whole secret key from shares of one key (each in its
// engine's serialized share format, as OpenShare returns them), and checks it against
// publicKey. It needs at least the key's threshold of shares of one sharing, no party twice;
// it uses every share given. It is the one function of mpcsigner that makes a whole private
// key: call it only offline, for a quorum-approved disaster recovery, and wipe the result.
//
// The result and what publicKey may be, by scheme:
//   - ecdsa-secp256k1, ecdsa-p256: the 32-byte big-endian private key d; publicKey is the
//     33-byte compressed SEC1 key d·G.
//   - bls12-381: the 32-byte big-endian secret key (as EIP-2335 keystores hold it); publicKey
//     is the 48-byte compressed G1 key.
//   - ed25519: the 32-byte little-endian secret scalar s (the encoding RFC 8032 and
//     filippo.io/edwards25519 use), with publicKey the 32-byte key s·B. It is not an RFC 8032
//     seed: FROST keys never had one, and none can be found for s, so the key can sign (with
//     s and a nonce, as RFC 8032's steps after the seed hash) but never be stored as a seed.
//   - bip340: the 32-byte big-endian secret d of the internal key P = d·G (even y). publicKey
//     is either x(P) or the x-only BIP86 output key Q = P + int(hash_TapTweak(x(P)))·G that
//     the engine reports; the output key's secret is d + int(hash_TapTweak(x(P))) mod n,
//     negated if Q has an odd y (txscript.TweakTaprootPrivKey(d, nil)).
func Reconstruct(scheme protocol.Scheme, shares [][]byte, publicKey []byte) (secret []byte, err error) {
	order, ok := groupOrders[scheme]
	if !ok {
		_, err := protocol.ParseScheme(string(scheme))
		return nil, err
	}
	if len(shares) == 0 {
		return nil, errors.New("backup: no shares given")
	}
	if len(shares) > MaxParties {
		return nil, fmt.Errorf("backup: %d shares given, a key has at most %d parties", len(shares), MaxParties)
	}
	decoded, err := decodeShares(scheme, shares)
	defer func() {
		for _, s := range decoded {
			s.wipe()
		}
	}()
	if err != nil {
		return nil, err
	}
	first := decoded[0]
	if err := checkReconstructionKey(scheme, first, publicKey); err != nil {
		return nil, err
	}
	secret, err = interpolateAtZero(order, decoded)
	if err != nil {
		return nil, err
	}
	if err := checkSecret(scheme, secret, first); err != nil {
		clear(secret)
		return nil, err
	}
	if scheme == protocol.SchemeEd25519 {
		slices.Reverse(secret)
	}
	return secret, nil
}

// decodeShares decodes every share and checks that they are enough distinct shares of one
// sharing. It returns what it decoded even on error, for the caller to wipe.
func decodeShares(scheme protocol.Scheme, shares [][]byte) ([]*secretShare, error) {
	var out []*secretShare
	for i, b := range shares {
		s, err := exportShare(scheme, b)
		if err != nil {
			return out, fmt.Errorf("backup: share %d: %w", i+1, err)
		}
		out = append(out, s)
		for j, o := range out[:i] {
			if !o.sameSharing(s) {
				return out, fmt.Errorf("backup: shares %d and %d are not shares of one key: %s", j+1, i+1, describeDifference(o, s))
			}
			if o.self == s.self {
				return out, fmt.Errorf("backup: shares %d and %d are both the share of %s", j+1, i+1, s.self)
			}
		}
	}
	if t := out[0].threshold; len(out) < t {
		return out, fmt.Errorf("backup: %d shares given, the key needs %d (its threshold)", len(out), t)
	}
	return out, nil
}

func describeDifference(a, b *secretShare) string {
	if !bytes.Equal(a.publicKey, b.publicKey) {
		return fmt.Sprintf("one is of public key %x, the other of %x", a.publicKey, b.publicKey)
	}
	return fmt.Sprintf("same public key, but one is %d-of-%s and the other %d-of-%s (from before and after a reshare?)", a.threshold, partyList(a.parties), b.threshold, partyList(b.parties))
}

// checkReconstructionKey checks that the caller's public key is the one the shares record.
func checkReconstructionKey(scheme protocol.Scheme, s *secretShare, publicKey []byte) error {
	if bytes.Equal(publicKey, s.publicKey) {
		return nil
	}
	if scheme == protocol.SchemeBIP340 && bytes.Equal(publicKey, s.internalKey) {
		return nil
	}
	if scheme == protocol.SchemeBIP340 {
		return fmt.Errorf("backup: the shares are of output key %x (internal key %x), not of %x", s.publicKey, s.internalKey, publicKey)
	}
	return fmt.Errorf("backup: the shares are of public key %x, not of %x", s.publicKey, publicKey)
}

// interpolateAtZero returns Σ_j λ_j·s_j mod order, with λ_j = Π_{m≠j} x_m/(x_m - x_j), as 32
// big-endian bytes. The coefficients depend on the public evaluation points only and are
// computed with math/big; the secrets are combined with bigmod's constant-time arithmetic.
func interpolateAtZero(orderHex string, shares []*secretShare) ([]byte, error) {
	orderBytes, _ := hex.DecodeString(orderHex)
	order := new(big.Int).SetBytes(orderBytes)
	m, err := bigmod.NewModulus(orderBytes)
	if err != nil {
		return nil, fmt.Errorf("backup: group order: %v", err) // unreachable: the orders are odd primes
	}
	sum := bigmod.NewNat().ExpandFor(m)
	term := bigmod.NewNat()
	defer wipeNat(sum)
	defer wipeNat(term)
	for j, sj := range shares {
		lambda, err := lagrangeAtZero(order, shares, j)
		if err != nil {
			return nil, err
		}
		l, err := bigmod.NewNat().SetBytes(lambda.FillBytes(make([]byte, len(orderBytes))), m)
		if err != nil {
			return nil, fmt.Errorf("backup: Lagrange coefficient: %v", err) // unreachable: reduced mod order
		}
		if _, err := term.SetBytes(sj.secret, m); err != nil {
			return nil, fmt.Errorf("backup: the share of %s is not below the group order", sj.self) // unreachable: the engines check
		}
		sum.Add(term.Mul(l, m), m)
	}
	out := sum.Bytes(m)
	if len(out) != scalarSize {
		clear(out)
		return nil, fmt.Errorf("backup: scalar of %d bytes", len(out)) // unreachable: every order has 32 bytes
	}
	return out, nil
}

// lagrangeAtZero returns λ_j = Π_{m≠j} x_m/(x_m - x_j) mod order.
func lagrangeAtZero(order *big.Int, shares []*secretShare, j int) (*big.Int, error) {
	num, den := big.NewInt(1), big.NewInt(1)
	xj := int64(shares[j].x)
	for m, s := range shares {
		if m == j {
			continue
		}
		xm := int64(s.x)
		if xm == xj {
			return nil, fmt.Errorf("backup: the shares of %s and %s are at the same point", s.self, shares[j].self) // unreachable: parties differ
		}
		num.Mul(num, big.NewInt(xm))
		den.Mul(den, big.NewInt(xm-xj))
	}
	inv := new(big.Int).ModInverse(den.Mod(den, order), order)
	if inv == nil {
		return nil, errors.New("backup: Lagrange denominator not invertible") // unreachable: order is prime, x < 2^16
	}
	return num.Mul(num, inv).Mod(num, order), nil
}

func wipeNat(n *bigmod.Nat) { clear(n.Bits()) }

// checkSecret checks that secret (big-endian) times the generator is the key s records.
func checkSecret(scheme protocol.Scheme, secret []byte, s *secretShare) error {
	var public []byte
	var err error
	switch scheme {
	case protocol.SchemeECDSASecp256k1:
		public, err = secp256k1Public(secret)
	case protocol.SchemeECDSAP256:
		public, err = p256Public(secret)
	case protocol.SchemeBLS12381:
		public, err = blsPublic(secret)
	case protocol.SchemeEd25519:
		public, err = ed25519Public(secret)
	case protocol.SchemeBIP340:
		return checkBIP340(secret, s)
	}
	if err == nil && !bytes.Equal(public, s.publicKey) {
		err = errors.New("secret·G differs")
	}
	if err != nil {
		return fmt.Errorf("backup: the shares do not interpolate to public key %x (%v): are they from different reshares of the key?", s.publicKey, err)
	}
	return nil
}

func secp256k1Public(secret []byte) ([]byte, error) {
	priv, _ := btcec.PrivKeyFromBytes(secret)
	defer priv.Zero()
	if priv.Key.IsZero() {
		return nil, errors.New("the secret is zero")
	}
	return priv.PubKey().SerializeCompressed(), nil
}

func p256Public(secret []byte) ([]byte, error) {
	priv, err := ecdh.P256().NewPrivateKey(secret)
	if err != nil {
		return nil, errors.New("not a valid P-256 private key")
	}
	u := priv.PublicKey().Bytes() // 0x04 || x || y
	out := make([]byte, 33)
	out[0] = 2 | u[64]&1
	copy(out[1:], u[1:33])
	return out, nil
}

func blsPublic(secret []byte) ([]byte, error) {
	sk := new(blst.SecretKey).Deserialize(secret)
	if sk == nil {
		return nil, errors.New("the secret is zero or not below the group order")
	}
	defer sk.Zeroize()
	return new(blst.P1Affine).From(sk).Compress(), nil
}

func ed25519Public(secret []byte) ([]byte, error) {
	le := slices.Clone(secret)
	slices.Reverse(le)
	defer clear(le)
	sc, err := edwards25519.NewScalar().SetCanonicalBytes(le)
	if err != nil {
		return nil, errors.New("the secret is not below the group order")
	}
	defer func() { *sc = edwards25519.Scalar{} }()
	return new(edwards25519.Point).ScalarBaseMult(sc).Bytes(), nil
}

// checkBIP340 checks that secret·G is the internal key with an even y, and that the output
// key is its BIP86 tweak.
func checkBIP340(secret []byte, s *secretShare) error {
	priv, _ := btcec.PrivKeyFromBytes(secret)
	defer priv.Zero()
	p := priv.PubKey().SerializeCompressed()
	if priv.Key.IsZero() || p[0] != 0x02 || !bytes.Equal(p[1:], s.internalKey) {
		return fmt.Errorf("backup: the shares do not interpolate to internal key %x (with an even y): are they from different reshares of the key?", s.internalKey)
	}
	q := txscript.ComputeTaprootKeyNoScript(priv.PubKey())
	if !bytes.Equal(schnorr.SerializePubKey(q), s.publicKey) {
		return fmt.Errorf("backup: output key %x is not the BIP86 tweak of internal key %x", s.publicKey, s.internalKey)
	}
	return nil
}
