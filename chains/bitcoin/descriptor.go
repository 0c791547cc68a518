package bitcoin

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains"
)

// Output script descriptors (BIP380) for the two kinds of key here: wpkh (BIP382) for an
// ECDSA key, tr (BIP386) for a BIP340 key's internal key. Bitcoin Core's external-signer
// interface answers getdescriptors with these.

// KeyOrigin is a BIP380 key origin: the fingerprint of the key a path starts from and the
// path. Path elements with bit 31 set are hardened.
type KeyOrigin struct {
	Fingerprint [4]byte
	Path        []uint32
}

const hardened = 1 << 31

// String is the origin as a descriptor writes it, "[d34db33f/84h/0h/0h]", with BIP380's
// "h" for hardened steps.
func (o KeyOrigin) String() string {
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(hex.EncodeToString(o.Fingerprint[:]))
	for _, step := range o.Path {
		if step >= hardened {
			fmt.Fprintf(&b, "/%dh", step-hardened)
		} else {
			fmt.Fprintf(&b, "/%d", step)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// WPKHDescriptor is wpkh(KEY)#checksum for a compressed secp256k1 key, with origin (may be
// nil) in front of the key.
func WPKHDescriptor(pub []byte, origin *KeyOrigin) (string, error) {
	if _, err := parseECDSAKey(pub); err != nil {
		return "", err
	}
	return AddDescriptorChecksum("wpkh(" + originPrefix(origin) + hex.EncodeToString(pub) + ")")
}

// TRDescriptor is tr(KEY)#checksum for a taproot internal key (x-only) with no script tree:
// the output it describes pays to TaprootOutputKey(internalKey). origin may be nil.
func TRDescriptor(internalKey []byte, origin *KeyOrigin) (string, error) {
	if _, err := parseXOnlyKey("internal key", internalKey); err != nil {
		return "", err
	}
	return AddDescriptorChecksum("tr(" + originPrefix(origin) + hex.EncodeToString(internalKey) + ")")
}

func originPrefix(o *KeyOrigin) string {
	if o == nil {
		return ""
	}
	return o.String()
}

// The BIP380 checksum: a BCH code over the descriptor's characters, each mapped to a 5-bit
// symbol (its position within a group of 32 in the input character set) plus, for every
// three characters, one symbol made of their group numbers.
const (
	descriptorCharset = "0123456789()[],'/*abcdefgh@:$%{}" +
		"IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~" +
		"ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
	checksumCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	checksumLength  = 8
)

// descsumPolymod folds one 5-bit symbol into the checksum state.
func descsumPolymod(c uint64, val int) uint64 {
	c0 := c >> 35
	c = (c&0x7ffffffff)<<5 ^ uint64(val)
	for i, g := range [5]uint64{0xf5dee51989, 0xa9fdca3312, 0x1bab10e32d, 0x3706b1677a, 0x644d626ffd} {
		if c0>>i&1 != 0 {
			c ^= g
		}
	}
	return c
}

// DescriptorChecksum is the 8-character BIP380 checksum of a descriptor without its
// "#checksum" suffix.
func DescriptorChecksum(desc string) (string, error) {
	c := uint64(1)
	cls, clsCount := 0, 0
	for i := 0; i < len(desc); i++ {
		pos := strings.IndexByte(descriptorCharset, desc[i])
		if pos < 0 {
			return "", chains.Invalid("descriptor: character %q at offset %d is not in the descriptor character set", desc[i], i)
		}
		c = descsumPolymod(c, pos&31)
		cls = cls*3 + pos>>5
		if clsCount++; clsCount == 3 {
			c = descsumPolymod(c, cls)
			cls, clsCount = 0, 0
		}
	}
	if clsCount > 0 {
		c = descsumPolymod(c, cls)
	}
	for i := 0; i < checksumLength; i++ {
		c = descsumPolymod(c, 0)
	}
	c ^= 1
	out := make([]byte, checksumLength)
	for i := range out {
		out[i] = checksumCharset[c>>(5*(7-i))&31]
	}
	return string(out), nil
}

// AddDescriptorChecksum returns desc#checksum.
func AddDescriptorChecksum(desc string) (string, error) {
	sum, err := DescriptorChecksum(desc)
	if err != nil {
		return "", err
	}
	return desc + "#" + sum, nil
}

// CheckDescriptorChecksum checks a descriptor that ends in "#checksum". BIP380 lets a
// descriptor leave the checksum out; this function is for the ones that must carry it.
func CheckDescriptorChecksum(desc string) error {
	cut := strings.LastIndexByte(desc, '#')
	if cut < 0 {
		return chains.Invalid("descriptor: no #checksum")
	}
	body, sum := desc[:cut], desc[cut+1:]
	if len(sum) != checksumLength {
		return chains.Invalid("descriptor: checksum %q is %d characters, want %d", sum, len(sum), checksumLength)
	}
	want, err := DescriptorChecksum(body)
	if err != nil {
		return err
	}
	if sum != want {
		return chains.Invalid("descriptor: checksum %q does not match the descriptor (want %q)", sum, want)
	}
	return nil
}
