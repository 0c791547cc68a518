package bitcoin

import (
	"testing"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// The checksum examples of BIP380 ("Test Vectors", bitcoin/bips bip-0380.mediawiki).
func TestDescriptorChecksumBIP380(t *testing.T) {
	if err := CheckDescriptorChecksum("raw(deadbeef)#89f8spxm"); err != nil {
		t.Fatalf("valid checksum refused: %v", err)
	}
	if got, err := AddDescriptorChecksum("raw(deadbeef)"); err != nil || got != "raw(deadbeef)#89f8spxm" {
		t.Fatalf("AddDescriptorChecksum = %q, %v", got, err)
	}
	invalid := map[string]string{
		"raw(deadbeef)":            "no #checksum", // valid per BIP380, but CheckDescriptorChecksum requires one
		"raw(deadbeef)#":           "0 characters",
		"raw(deadbeef)#89f8spxmx":  "9 characters",
		"raw(deadbeef)#89f8spx":    "7 characters",
		"raw(deedbeef)#89f8spxm":   "does not match",
		"raw(deedbeef)##9f8spxm":   "7 characters",
		"raw(Ü)#00000000":          "not in the descriptor character set",
		"raw(deadbeef)#89f8spxM":   "does not match",
		"raw(deadbeef)#89f8spxmq":  "9 characters",
		"wpkh(02ab)#n9g43y4k#abcd": "4 characters",
	}
	for desc, want := range invalid {
		chaintest.WantInvalid(t, CheckDescriptorChecksum(desc), want)
	}
}

// Checksums of descriptors as Bitcoin Core writes them: the first is getdescriptorinfo's
// answer recorded in btcd's rpcclient/example_test.go (ExampleClient_GetDescriptorInfo);
// the others were computed with BIP380's reference Python (descsum_create) for this test.
func TestDescriptors(t *testing.T) {
	g := chaintest.MustHex(t, "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	if got, _ := AddDescriptorChecksum("wpkh([d34db33f/84'/0'/0']0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)"); got != "wpkh([d34db33f/84'/0'/0']0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#n9g43y4k" {
		t.Errorf("Bitcoin Core's example: %s", got)
	}
	origin := &KeyOrigin{Fingerprint: [4]byte{0xd3, 0x4d, 0xb3, 0x3f}, Path: []uint32{84 + hardened, hardened, hardened}}
	cases := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"wpkh", func() (string, error) { return WPKHDescriptor(g, nil) },
			"wpkh(0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#ucxz0gak"},
		{"wpkh with origin", func() (string, error) { return WPKHDescriptor(g, origin) },
			"wpkh([d34db33f/84h/0h/0h]0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#5fp02c75"},
		{"tr (BIP86 internal key)", func() (string, error) {
			return TRDescriptor(chaintest.MustHex(t, "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115"), nil)
		}, "tr(cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115)#7s05a9nk"},
		{"tr with origin", func() (string, error) {
			o := &KeyOrigin{Fingerprint: [4]byte{0x73, 0xc5, 0xda, 0x0a}, Path: []uint32{86 + hardened, hardened, hardened, 0, 0}}
			return TRDescriptor(chaintest.MustHex(t, "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115"), o)
		}, "tr([73c5da0a/86h/0h/0h/0/0]cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115)#4ep8ajzf"},
	}
	for _, c := range cases {
		got, err := c.got()
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
		if err := CheckDescriptorChecksum(got); err != nil {
			t.Errorf("%s: own checksum refused: %v", c.name, err)
		}
	}
}
