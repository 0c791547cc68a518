// Package derive is BIP32 non-hardened derivation below a threshold secp256k1 key: one
// address per account or user from one distributed key, without another key generation.
//
// Three pieces, one per file:
//
//   - derive.go: ParsePath and FormatPath for paths such as "m/0/7", and Child, BIP32's
//     CKDpub applied along a path. Child returns the child public key and chain code and the
//     total additive tweak delta (the sum of the IL values mod n), so that
//     child secret = parent secret + delta (mod n). Each signer adds delta to its share (a
//     Shamir sharing of x plus a constant is a sharing of x + delta), which is how the
//     threshold engine signs with the child key without anyone learning either secret.
//   - xpub.go: XPub, the standard Base58Check extended public key (xpub/tpub) of a derived
//     key, for watch-only wallets.
//   - chaincode.go: NewChainCodeRun, a commit-reveal protocol.Run in which every party of a key
//     contributes to a secret 32-byte chain code that none of them chose alone.
//
// Only non-hardened derivation exists here. Hardened derivation needs the parent secret key
// inside the hash; for a shared key that would be an MPC evaluation of HMAC-SHA512, which is
// not offered. The hardened boundary is a separate key generation per vault (see DESIGN.md,
// "Key derivation"): a leaked child secret together with the chain code reveals the parent
// secret, so the chain code is kept secret inside the enclaves.
//
// What it must never do: print, log or put in an error a chain code, a delta or a chain-code
// contribution (they are secrets: with the chain code and any one child secret key, anyone can
// compute the parent secret key), and never derive a hardened index. Point arithmetic here uses
// btcec's variable-time routines on values derived from the secret chain code; the enclave
// runs them on its own CPU.
package derive

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// HardenedStart is the first hardened BIP32 index (2^31); every index below it is non-hardened.
const HardenedStart = 1 << 31

// MaxPathLength bounds the text ParsePath reads: MaxDerivationDepth components of up to ten
// digits, each after a slash, and the leading "m".
const MaxPathLength = 1 + protocol.MaxDerivationDepth*11

// ErrHardened is wrapped by every error about a hardened index.
var ErrHardened = errors.New("hardened derivation of a shared key is not offered (each vault is its own key generation instead): use indices below 2^31 without ' or h")

// ErrInvalidChild is wrapped by Child's error when an index yields no valid child (IL >= n or
// the point at infinity; probability below 2^-127 per index). BIP32 says to go on with the next
// index; we refuse instead, so that a path always names exactly the key it says.
var ErrInvalidChild = errors.New("the index yields no valid BIP32 child: choose another index")

// ParsePath parses a BIP32 path of non-hardened indices: "m" (the key itself), "m/0/7", or the
// same without the leading "m/" ("0/7"). Indices are decimal without sign or leading zeros.
// Hardened components ("0'", "0h", or any index >= 2^31) are refused with ErrHardened, as are
// empty components, more than protocol.MaxDerivationDepth levels, and anything else.
func ParsePath(s string) ([]uint32, error) {
	if len(s) > MaxPathLength {
		return nil, fmt.Errorf("derivation path is too long (%d bytes, limit %d)", len(s), MaxPathLength)
	}
	if s == "" {
		return nil, errors.New("derivation path is empty: write m for the key itself, or m/0/7")
	}
	parts := strings.Split(s, "/")
	if parts[0] == "m" {
		parts = parts[1:]
	}
	if len(parts) > protocol.MaxDerivationDepth {
		return nil, fmt.Errorf("derivation path has %d levels (limit %d)", len(parts), protocol.MaxDerivationDepth)
	}
	path := make([]uint32, len(parts))
	for i, c := range parts {
		idx, err := parseIndex(c)
		if err != nil {
			return nil, fmt.Errorf("derivation path: level %d: %w", i+1, err)
		}
		path[i] = idx
	}
	return path, nil
}

// parseIndex parses one path component.
func parseIndex(c string) (uint32, error) {
	switch {
	case c == "":
		return 0, errors.New("empty component (two slashes in a row, or a trailing slash)")
	case strings.HasSuffix(c, "'") || strings.HasSuffix(c, "h") || strings.HasSuffix(c, "H"):
		return 0, fmt.Errorf("component %s is hardened: %w", quote(c), ErrHardened)
	case strings.TrimLeft(c, "0123456789") != "":
		return 0, fmt.Errorf("component %s is not a decimal index", quote(c))
	case len(c) > 1 && c[0] == '0':
		return 0, fmt.Errorf("component %s has a leading zero", quote(c))
	}
	v, err := strconv.ParseUint(c, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("component %s is not an index below 2^32", quote(c))
	}
	if v >= HardenedStart {
		return 0, fmt.Errorf("index %d is hardened (>= 2^31): %w", v, ErrHardened)
	}
	return uint32(v), nil
}

// quote quotes s for an error message, cut short so that a long input does not make a long
// message.
func quote(s string) string {
	const limit = 32
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// FormatPath writes path as ParsePath reads it: "m", "m/0/7".
func FormatPath(path []uint32) string {
	var b strings.Builder
	b.WriteString("m")
	for _, idx := range path {
		b.WriteByte('/')
		b.WriteString(strconv.FormatUint(uint64(idx), 10))
	}
	return b.String()
}

// CheckPath checks a path as Child needs it: at most protocol.MaxDerivationDepth levels, every
// index non-hardened.
func CheckPath(path []uint32) error {
	if len(path) > protocol.MaxDerivationDepth {
		return fmt.Errorf("derivation path has %d levels (limit %d)", len(path), protocol.MaxDerivationDepth)
	}
	for i, idx := range path {
		if idx >= HardenedStart {
			return fmt.Errorf("derivation path %s: level %d: index %d is hardened (>= 2^31): %w", FormatPath(path), i+1, idx, ErrHardened)
		}
	}
	return nil
}

// Derived is a non-hardened descendant of a key. ChainCode and Delta are secrets: Derived
// prints without them, and Wipe clears them.
type Derived struct {
	// PublicKey is the child's 33-byte compressed SEC1 public key.
	PublicKey []byte
	// ChainCode is the child's chain code.
	ChainCode [32]byte
	// Delta is the total additive tweak, 32 bytes big-endian, below n: the child secret key is
	// the parent secret key + Delta (mod n). Zero for the empty path.
	Delta [32]byte
	// Depth is the number of levels below the parent (the path's length).
	Depth uint8
	// ParentFingerprint is the first 4 bytes of HASH160 of the child's immediate parent's
	// public key; zero at depth 0.
	ParentFingerprint [4]byte
	// ChildNumber is the last index of the path; zero at depth 0.
	ChildNumber uint32
}

// DeltaInt returns Delta as an integer, for tss-lib's key-derivation delta.
func (d *Derived) DeltaInt() *big.Int { return new(big.Int).SetBytes(d.Delta[:]) }

// Wipe clears the secrets.
func (d *Derived) Wipe() {
	clear(d.ChainCode[:])
	clear(d.Delta[:])
}

// String describes the derived key without its secrets.
func (d Derived) String() string {
	return fmt.Sprintf("derive.Derived{PublicKey: %x, Depth: %d, ParentFingerprint: %x, ChildNumber: %d, ChainCode and Delta redacted}",
		d.PublicKey, d.Depth, d.ParentFingerprint, d.ChildNumber)
}

// GoString is String, so that %#v does not print the secrets either.
func (d Derived) GoString() string { return d.String() }

// Child derives the non-hardened descendant d.Path of the secp256k1 key whose 33-byte
// compressed public key is parent, with d.ChainCode as the parent's chain code (BIP32 CKDpub at
// every level). An empty path gives the parent itself with Delta zero.
func Child(parent []byte, d protocol.Derivation) (*Derived, error) {
	if err := CheckPath(d.Path); err != nil {
		return nil, fmt.Errorf("derive: %w", err)
	}
	key, err := parsePublicKey(parent)
	if err != nil {
		return nil, fmt.Errorf("derive: parent public key: %w", err)
	}
	out := &Derived{ChainCode: d.ChainCode, Depth: uint8(len(d.Path))}
	var delta btcec.ModNScalar
	defer delta.Zero()
	for level, idx := range d.Path {
		fp := fingerprint(key)
		child, err := ckdPub(key, &out.ChainCode, idx, &delta)
		if err != nil {
			out.Wipe()
			return nil, fmt.Errorf("derive: index %d at level %d of %s: %w", idx, level+1, FormatPath(d.Path), err)
		}
		key, out.ParentFingerprint, out.ChildNumber = child, fp, idx
	}
	out.PublicKey = key.SerializeCompressed()
	delta.PutBytes(&out.Delta)
	return out, nil
}

// parsePublicKey accepts a 33-byte compressed secp256k1 point only.
func parsePublicKey(b []byte) (*btcec.PublicKey, error) {
	if len(b) != btcec.PubKeyBytesLenCompressed || (b[0] != 2 && b[0] != 3) {
		return nil, fmt.Errorf("want a 33-byte compressed secp256k1 key, got %d bytes", len(b))
	}
	return btcec.ParsePubKey(b)
}

// ckdPub is one BIP32 CKDpub step: I = HMAC-SHA512(chain code, ser_P(K) || ser_32(index)),
// K_child = IL·G + K, c_child = IR. It replaces *chainCode with c_child and adds IL to delta.
func ckdPub(parent *btcec.PublicKey, chainCode *[32]byte, index uint32, delta *btcec.ModNScalar) (*btcec.PublicKey, error) {
	var data [btcec.PubKeyBytesLenCompressed + 4]byte
	copy(data[:], parent.SerializeCompressed())
	binary.BigEndian.PutUint32(data[btcec.PubKeyBytesLenCompressed:], index)
	mac := hmac.New(sha512.New, chainCode[:])
	mac.Write(data[:])
	sum := mac.Sum(nil)
	defer clear(sum)

	var il btcec.ModNScalar
	defer il.Zero()
	if err := setIL(&il, sum[:32]); err != nil {
		return nil, err
	}
	child, err := addTweak(parent, &il)
	if err != nil {
		return nil, err
	}
	delta.Add(&il)
	copy(chainCode[:], sum[32:])
	return child, nil
}

// setIL sets il to the 32-byte big-endian IL, or returns ErrInvalidChild if IL >= n.
func setIL(il *btcec.ModNScalar, b []byte) error {
	if il.SetByteSlice(b) {
		il.Zero()
		return ErrInvalidChild
	}
	return nil
}

// addTweak returns parent + il·G, or ErrInvalidChild for the point at infinity.
func addTweak(parent *btcec.PublicKey, il *btcec.ModNScalar) (*btcec.PublicKey, error) {
	var p, t, sum btcec.JacobianPoint
	parent.AsJacobian(&p)
	btcec.ScalarBaseMultNonConst(il, &t)
	btcec.AddNonConst(&p, &t, &sum)
	if sum.Z.IsZero() || (sum.X.IsZero() && sum.Y.IsZero()) {
		return nil, ErrInvalidChild
	}
	sum.ToAffine()
	return btcec.NewPublicKey(&sum.X, &sum.Y), nil
}
