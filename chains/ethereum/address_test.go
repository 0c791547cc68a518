package ethereum

import (
	"bytes"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// TestAddress derives addresses of keys whose addresses are published: the sender of the
// EIP-155 example (private key 0x46...46) and "Cow" of the EIP-712 example (private key
// keccak256("cow")). The public keys come from btcec, not from go-ethereum.
func TestAddress(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		want string
	}{
		{"EIP-155 example sender", bytes.Repeat([]byte{0x46}, 32), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"},
		{"EIP-712 example Cow", crypto.Keccak256([]byte("cow")), "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, pub := btcec.PrivKeyFromBytes(tc.key)
			got, err := Address(pub.SerializeCompressed())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Hex()); diff != "" {
				t.Errorf("address (-want +got):\n%s", diff)
			}
			unc, err := UncompressedPublicKey(pub.SerializeCompressed())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(pub.SerializeUncompressed(), unc); diff != "" {
				t.Errorf("uncompressed key (-want +got):\n%s", diff)
			}
			// The address is the tail of keccak256(X||Y), computed here by hand.
			if want := common.BytesToAddress(crypto.Keccak256(unc[1:])[12:]); want != got {
				t.Errorf("address %s, keccak of the key gives %s", got, want)
			}
		})
	}
}

// TestAddressRefuses feeds keys that are not 33-byte compressed points.
func TestAddressRefuses(t *testing.T) {
	valid := newKeySigner(t).compressed()
	tests := []struct {
		name string
		pub  []byte
		want string
	}{
		{"empty", nil, "0 bytes, want 33"},
		{"uncompressed", crypto.FromECDSAPub(&newKeySigner(t).key.PublicKey), "65 bytes, want 33"},
		{"short", valid[:32], "32 bytes"},
		{"prefix 04", append([]byte{0x04}, valid[1:]...), "prefix 0x04"},
		{"x not below p", append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...), "public key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Address(tc.pub)
			chaintest.WantInvalid(t, err, tc.want)
			_, err = UncompressedPublicKey(tc.pub)
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
}

// eip55Vectors are the test cases of the EIP-55 text.
var eip55Vectors = []string{
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
}

// TestEIP55 checks that addresses print with the EIP-55 checksum, and that the transaction
// decoder accepts a correct checksum, all-lower and all-upper case, and refuses a wrong one.
func TestEIP55(t *testing.T) {
	for _, v := range eip55Vectors {
		t.Run(v, func(t *testing.T) {
			addr := common.HexToAddress(v)
			if diff := cmp.Diff(v, addr.Hex()); diff != "" {
				t.Errorf("checksum (-want +got):\n%s", diff)
			}
			for _, form := range []string{v, strings.ToLower(v), "0x" + strings.ToUpper(v[2:])} {
				a, err := ParseTxArgs([]byte(`{"from":"` + form + `"}`))
				if err != nil {
					t.Fatalf("%s refused: %v", form, err)
				}
				if a.From != addr {
					t.Errorf("%s decoded as %s", form, a.From)
				}
			}
			_, err := ParseTxArgs([]byte(`{"from":"` + flipCase(v) + `"}`))
			chaintest.WantInvalid(t, err, "from: ")
			chaintest.WantInvalid(t, err, "EIP-55")
		})
	}
}

// flipCase flips the case of the first letter after 0x, which breaks an EIP-55 checksum
// while keeping the string mixed-case.
func flipCase(addr string) string {
	b := []byte(addr)
	for i := 2; i < len(b); i++ {
		switch {
		case b[i] >= 'a' && b[i] <= 'f':
			b[i] -= 'a' - 'A'
			return string(b)
		case b[i] >= 'A' && b[i] <= 'F':
			b[i] += 'a' - 'A'
			return string(b)
		}
	}
	panic("no letter in " + addr)
}

// TestUncompressedPublicKeyForm checks the 0x04||X||Y layout on a random key.
func TestUncompressedPublicKeyForm(t *testing.T) {
	k := newKeySigner(t)
	unc, err := UncompressedPublicKey(k.compressed())
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x04}, append(k.key.X.FillBytes(make([]byte, 32)), k.key.Y.FillBytes(make([]byte, 32))...)...)
	if diff := cmp.Diff(hexutil.Encode(want), hexutil.Encode(unc)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
