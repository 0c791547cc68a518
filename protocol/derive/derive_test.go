package derive

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// testKey is a fixed secp256k1 key and chain code, derived from a label so that tests are
// reproducible.
func testKey(t testing.TB, label string) (priv *btcec.PrivateKey, chainCode [32]byte) {
	t.Helper()
	seed := sha256.Sum256([]byte("mpcsigner derive test key " + label))
	priv, _ = btcec.PrivKeyFromBytes(seed[:])
	chainCode = sha256.Sum256([]byte("mpcsigner derive test chain code " + label))
	return priv, chainCode
}

// hdDerive derives path from an hdkeychain root key (public or private) and fails the test on
// any error.
func hdDerive(t testing.TB, root *hdkeychain.ExtendedKey, path []uint32) *hdkeychain.ExtendedKey {
	t.Helper()
	k := root
	for _, idx := range path {
		var err error
		if k, err = k.Derive(idx); err != nil {
			t.Fatalf("hdkeychain: derive %d: %v", idx, err)
		}
	}
	return k
}

func longPath(n int) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(i * 7919 % HardenedStart)
	}
	return p
}

// Child, Derived.Delta and XPub agree with btcutil's hdkeychain, an independent BIP32
// implementation: the public key and chain code of public derivation, the xpub and tpub
// strings, and the secret key of private derivation from the parent's secret key, which must
// be parent secret + Delta.
func TestChildMatchesHDKeychain(t *testing.T) {
	priv, cc := testKey(t, "hdkeychain")
	pub := priv.PubKey().SerializeCompressed()
	n := btcec.S256().N
	paths := [][]uint32{
		{}, {0}, {1}, {0, 7}, {44, 0, 0, 5}, {HardenedStart - 1}, {HardenedStart - 1, 0, HardenedStart - 1},
		longPath(20), longPath(protocol.MaxDerivationDepth),
	}
	for _, path := range paths {
		name := FormatPath(path)
		if len(name) > 40 {
			name = fmt.Sprintf("depth %d", len(path))
		}
		t.Run(name, func(t *testing.T) {
			got, err := Child(pub, protocol.Derivation{ChainCode: cc, Path: path})
			if err != nil {
				t.Fatal(err)
			}
			for _, net := range []struct {
				ours   Network
				params *chaincfg.Params
				prefix string
			}{{Mainnet, &chaincfg.MainNetParams, "xpub"}, {Testnet, &chaincfg.TestNet3Params, "tpub"}} {
				root := hdkeychain.NewExtendedKey(net.params.HDPublicKeyID[:], pub, cc[:], []byte{0, 0, 0, 0}, 0, 0, false)
				want := hdDerive(t, root, path)
				wantPub, err := want.ECPubKey()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.PublicKey, wantPub.SerializeCompressed()) {
					t.Fatalf("public key %x, hdkeychain %x", got.PublicKey, wantPub.SerializeCompressed())
				}
				if !bytes.Equal(got.ChainCode[:], want.ChainCode()) {
					t.Fatal("chain code differs from hdkeychain's")
				}
				if got.Depth != want.Depth() || got.ChildNumber != want.ChildIndex() || binary.BigEndian.Uint32(got.ParentFingerprint[:]) != want.ParentFingerprint() {
					t.Fatalf("depth %d child %d fingerprint %x; hdkeychain %d %d %08x", got.Depth, got.ChildNumber, got.ParentFingerprint, want.Depth(), want.ChildIndex(), want.ParentFingerprint())
				}
				xpub, err := XPub(pub, cc, path, net.ours)
				if err != nil {
					t.Fatal(err)
				}
				if xpub != want.String() || !strings.HasPrefix(xpub, net.prefix) {
					t.Fatalf("%v: XPub %s, hdkeychain %s", net.ours, xpub, want.String())
				}
				// A watch-only wallet given our xpub derives the same grandchild.
				parsed, err := hdkeychain.NewKeyFromString(xpub)
				if err != nil {
					t.Fatalf("hdkeychain cannot parse %s: %v", xpub, err)
				}
				if len(path) < protocol.MaxDerivationDepth {
					next, err := Child(pub, protocol.Derivation{ChainCode: cc, Path: append(slices.Clone(path), 3)})
					if err != nil {
						t.Fatal(err)
					}
					gc, err := parsed.Derive(3)
					if err != nil {
						t.Fatal(err)
					}
					gcPub, _ := gc.ECPubKey()
					if !bytes.Equal(next.PublicKey, gcPub.SerializeCompressed()) {
						t.Fatal("a wallet deriving /3 from the xpub gets another key than Child")
					}
				}
			}

			// Private derivation by hdkeychain from the parent secret: child secret must be
			// parent secret + Delta (mod n).
			privRoot := hdkeychain.NewExtendedKey(chaincfg.MainNetParams.HDPrivateKeyID[:], priv.Serialize(), cc[:], []byte{0, 0, 0, 0}, 0, 0, true)
			childPriv, err := hdDerive(t, privRoot, path).ECPrivKey()
			if err != nil {
				t.Fatal(err)
			}
			sum := new(big.Int).Add(new(big.Int).SetBytes(priv.Serialize()), got.DeltaInt())
			sum.Mod(sum, n)
			if sum.Cmp(new(big.Int).SetBytes(childPriv.Serialize())) != 0 {
				t.Fatal("parent secret + Delta is not the child secret hdkeychain derives")
			}
			if len(path) == 0 && (got.Delta != [32]byte{} || !bytes.Equal(got.PublicKey, pub) || got.ChainCode != cc) {
				t.Fatal("the empty path must give the parent itself with a zero delta")
			}
		})
	}
}

// BIP32 test vectors 1 and 2: every non-hardened step, derived from the vector's xpub of the
// parent (public derivation only), must give the vector's xpub of the child.
func TestBIP32VectorsPublicSteps(t *testing.T) {
	const (
		v1m0H       = "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw"
		v1m0H1      = "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ"
		v1m0H12H    = "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5"
		v1m0H12H2   = "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV"
		v1m0H12H2x  = "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy"
		v2m         = "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB"
		v2m0        = "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"
		v2m0x       = "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a"
		v2m0x1      = "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon"
		v2m0x1y     = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
		v2m0x1y2    = "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt"
		billionStep = 1000000000
	)
	for _, tc := range []struct {
		name         string
		parent, want string
		path         []uint32
	}{
		{"vector 1 m/0H -> m/0H/1", v1m0H, v1m0H1, []uint32{1}},
		{"vector 1 m/0H/1/2H -> m/0H/1/2H/2", v1m0H12H, v1m0H12H2, []uint32{2}},
		{"vector 1 m/0H/1/2H/2 -> .../1000000000", v1m0H12H2, v1m0H12H2x, []uint32{billionStep}},
		{"vector 1 m/0H/1/2H -> m/0H/1/2H/2/1000000000", v1m0H12H, v1m0H12H2x, []uint32{2, billionStep}},
		{"vector 2 m -> m/0", v2m, v2m0, []uint32{0}},
		{"vector 2 m/0/2147483647H -> .../1", v2m0x, v2m0x1, []uint32{1}},
		{"vector 2 m/0/2147483647H/1/2147483646H -> .../2", v2m0x1y, v2m0x1y2, []uint32{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, err := hdkeychain.NewKeyFromString(tc.parent)
			if err != nil {
				t.Fatal(err)
			}
			want, err := hdkeychain.NewKeyFromString(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			parentPub, _ := parent.ECPubKey()
			wantPub, _ := want.ECPubKey()
			var cc [32]byte
			copy(cc[:], parent.ChainCode())
			got, err := Child(parentPub.SerializeCompressed(), protocol.Derivation{ChainCode: cc, Path: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.PublicKey, wantPub.SerializeCompressed()) || !bytes.Equal(got.ChainCode[:], want.ChainCode()) {
				t.Fatalf("child %x does not match the vector's %x (or the chain code differs)", got.PublicKey, wantPub.SerializeCompressed())
			}
			if got.ChildNumber != want.ChildIndex() || binary.BigEndian.Uint32(got.ParentFingerprint[:]) != want.ParentFingerprint() {
				t.Fatalf("child number %d, fingerprint %x; vector %d, %08x", got.ChildNumber, got.ParentFingerprint, want.ChildIndex(), want.ParentFingerprint())
			}
			if parent.Depth() == 0 { // the vector's parent is a root, as our keys are: the whole xpub matches
				xpub, err := XPub(parentPub.SerializeCompressed(), cc, tc.path, Mainnet)
				if err != nil || xpub != tc.want {
					t.Fatalf("XPub = %s, %v; want %s", xpub, err, tc.want)
				}
			}
		})
	}
	// The vectors' roots serialize back to themselves.
	for _, root := range []string{
		"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
		v2m,
	} {
		k, err := hdkeychain.NewKeyFromString(root)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := k.ECPubKey()
		var cc [32]byte
		copy(cc[:], k.ChainCode())
		if xpub, err := XPub(pub.SerializeCompressed(), cc, nil, Mainnet); err != nil || xpub != root {
			t.Fatalf("XPub of the root = %s, %v; want %s", xpub, err, root)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint32
	}{
		{"m", []uint32{}},
		{"m/0", []uint32{0}},
		{"m/0/7", []uint32{0, 7}},
		{"0/7", []uint32{0, 7}},
		{"44/60/0/0/3", []uint32{44, 60, 0, 0, 3}},
		{"m/2147483647", []uint32{HardenedStart - 1}},
	} {
		got, err := ParsePath(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePath(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	deepest := "m" + strings.Repeat("/1", protocol.MaxDerivationDepth)
	if got, err := ParsePath(deepest); err != nil || len(got) != protocol.MaxDerivationDepth {
		t.Errorf("a path of the maximum depth: %d levels, %v", len(got), err)
	}

	for _, tc := range []struct {
		in, want string
		hardened bool
	}{
		{"m/0'", "hardened", true},
		{"m/0h", "hardened", true},
		{"m/44H/0", "hardened", true},
		{"m/2147483648", "hardened", true},
		{"m/4294967295", "hardened", true},
		{"m/4294967296", "not an index below 2^32", false},
		{"m/99999999999999999999", "not an index below 2^32", false},
		{"", "empty", false},
		{"m/", "empty component", false},
		{"m//1", "empty component", false},
		{"m/1/", "empty component", false},
		{"/1", "empty component", false},
		{"m/-1", "not a decimal index", false},
		{"m/+1", "not a decimal index", false},
		{"m/ 1", "not a decimal index", false},
		{"m/1 ", "not a decimal index", false},
		{"m/0x10", "not a decimal index", false},
		{"m/a", "not a decimal index", false},
		{"M/1", "not a decimal index", false},
		{"m/m/1", "not a decimal index", false},
		{"m/007", "leading zero", false},
		{"m" + strings.Repeat("/1", protocol.MaxDerivationDepth+1), "levels", false},
		{strings.Repeat("1", MaxPathLength+1), "too long", false},
	} {
		got, err := ParsePath(tc.in)
		if err == nil {
			t.Errorf("ParsePath(%.40q) = %v, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrHardened) != tc.hardened {
			t.Errorf("ParsePath(%.40q): %v; want it to say %q (hardened: %v)", tc.in, err, tc.want, tc.hardened)
		}
		if len(err.Error()) > 400 {
			t.Errorf("ParsePath(%.40q): error of %d bytes", tc.in, len(err.Error()))
		}
	}
	_, err := ParsePath("m/1'")
	if err == nil || !strings.Contains(err.Error(), "each vault is its own key generation") {
		t.Errorf("the hardened error must explain what to do instead: %v", err)
	}
}

func TestFormatPath(t *testing.T) {
	for _, p := range [][]uint32{nil, {0}, {0, 7}, {HardenedStart - 1, 3}} {
		s := FormatPath(p)
		back, err := ParsePath(s)
		if err != nil || !slices.Equal(back, p) {
			t.Errorf("FormatPath(%v) = %q parses to %v, %v", p, s, back, err)
		}
	}
	if s := FormatPath(nil); s != "m" {
		t.Errorf("FormatPath(nil) = %q", s)
	}
}

func TestChildRefuses(t *testing.T) {
	priv, cc := testKey(t, "refuse")
	pub := priv.PubKey().SerializeCompressed()
	for _, tc := range []struct {
		name     string
		parent   []byte
		path     []uint32
		want     string
		hardened bool
	}{
		{"hardened index", pub, []uint32{0, HardenedStart}, "level 2: index 2147483648 is hardened", true},
		{"too deep", pub, longPath(protocol.MaxDerivationDepth + 1), "levels", false},
		{"uncompressed parent", priv.PubKey().SerializeUncompressed(), []uint32{1}, "33-byte compressed", false},
		{"empty parent", nil, []uint32{1}, "33-byte compressed", false},
		{"parent not on the curve", append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...), []uint32{1}, "parent public key", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Child(tc.parent, protocol.Derivation{ChainCode: cc, Path: tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrHardened) != tc.hardened {
				t.Fatalf("error %v; want it to say %q (hardened: %v)", err, tc.want, tc.hardened)
			}
			if _, err := XPub(tc.parent, cc, tc.path, Mainnet); err == nil {
				t.Fatal("XPub accepted what Child refuses")
			}
		})
	}
	if _, err := XPub(pub, cc, []uint32{1}, Network(7)); err == nil || !strings.Contains(err.Error(), "unknown network") {
		t.Fatalf("unknown network: %v", err)
	}
}

// The invalid-child cases BIP32 names, which no real index reaches (probability 2^-127): IL at
// or above n, and a child at infinity (parent = -IL·G).
func TestInvalidChild(t *testing.T) {
	n := btcec.S256().N
	var il btcec.ModNScalar
	for _, v := range []*big.Int{n, new(big.Int).Add(n, big.NewInt(1)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))} {
		if err := setIL(&il, v.FillBytes(make([]byte, 32))); !errors.Is(err, ErrInvalidChild) {
			t.Errorf("IL = %x: %v, want ErrInvalidChild", v, err)
		}
	}
	if err := setIL(&il, new(big.Int).Sub(n, big.NewInt(1)).FillBytes(make([]byte, 32))); err != nil {
		t.Errorf("IL = n-1 is valid: %v", err)
	}

	s, _ := testKey(t, "infinity")
	var neg btcec.ModNScalar
	neg.Set(&s.Key)
	neg.Negate()
	parent := btcec.PrivKeyFromScalar(&neg).PubKey()
	if _, err := addTweak(parent, &s.Key); !errors.Is(err, ErrInvalidChild) {
		t.Fatalf("a child at infinity: %v, want ErrInvalidChild", err)
	}
	child, err := addTweak(parent, &neg) // -s·G + -s·G = -2s·G: valid
	if err != nil || !child.IsOnCurve() {
		t.Fatalf("a valid tweak: %v", err)
	}

}

func TestDerivedPrintsNoSecrets(t *testing.T) {
	priv, cc := testKey(t, "print")
	d, err := Child(priv.PubKey().SerializeCompressed(), protocol.Derivation{ChainCode: cc, Path: []uint32{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{d.String(), fmt.Sprintf("%v", d), fmt.Sprintf("%+v", *d), fmt.Sprintf("%#v", d), fmt.Sprint(protocol.Derivation{ChainCode: cc, Path: []uint32{1}})} {
		for _, secret := range [][]byte{d.ChainCode[:], d.Delta[:], cc[:]} {
			if strings.Contains(s, fmt.Sprintf("%x", secret[:8])) || strings.Contains(s, strings.Trim(fmt.Sprint(secret[:4]), "[]")) {
				t.Fatalf("%q shows a secret", s)
			}
		}
	}
	d.Wipe()
	if d.ChainCode != [32]byte{} || d.Delta != [32]byte{} {
		t.Fatal("Wipe left secrets")
	}
}
