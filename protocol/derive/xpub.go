package derive

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Network selects the version bytes of a serialized extended public key.
type Network int

const (
	// Mainnet keys serialize as "xpub..." (version 0x0488B21E).
	Mainnet Network = iota + 1
	// Testnet keys (testnet, signet, regtest) serialize as "tpub..." (version 0x043587CF).
	Testnet
)

func (n Network) String() string {
	switch n {
	case Mainnet:
		return "mainnet"
	case Testnet:
		return "testnet"
	}
	return fmt.Sprintf("network(%d)", int(n))
}

// version returns BIP32's 4-byte version for public keys on n.
func (n Network) version() ([4]byte, error) {
	switch n {
	case Mainnet:
		return [4]byte{0x04, 0x88, 0xb2, 0x1e}, nil
	case Testnet:
		return [4]byte{0x04, 0x35, 0x87, 0xcf}, nil
	}
	return [4]byte{}, fmt.Errorf("unknown network %v (want Mainnet or Testnet)", n)
}

// xpubSize is BIP32's serialization without the checksum: version (4) | depth (1) | parent
// fingerprint (4) | child number (4) | chain code (32) | compressed public key (33).
const xpubSize = 4 + 1 + 4 + 4 + 32 + btcec.PubKeyBytesLenCompressed

// XPub returns the Base58Check extended public key of the descendant path of the key parent
// (33-byte compressed) with chain code chainCode, on network net. The parent counts as the
// root: the result has depth len(path), the fingerprint of the immediate parent and the last
// index as its child number (all zero for the empty path), so watch-only wallets derive from
// it exactly the children Child derives.
//
// An extended public key contains the chain code: whoever holds it and any one child secret key
// below it can compute the secret key it extends. Export it only on purpose.
func XPub(parent []byte, chainCode [32]byte, path []uint32, net Network) (string, error) {
	d, err := Child(parent, protocol.Derivation{ChainCode: chainCode, Path: path})
	if err != nil {
		return "", err
	}
	defer d.Wipe()
	return d.XPub(net)
}

// XPub serializes d as a Base58Check extended public key on net (see the package function).
func (d *Derived) XPub(net Network) (string, error) {
	version, err := net.version()
	if err != nil {
		return "", fmt.Errorf("derive: %w", err)
	}
	if len(d.PublicKey) != btcec.PubKeyBytesLenCompressed {
		return "", fmt.Errorf("derive: public key of %d bytes (want 33)", len(d.PublicKey))
	}
	b := make([]byte, 0, xpubSize+4)
	b = append(b, version[:]...)
	b = append(b, d.Depth)
	b = append(b, d.ParentFingerprint[:]...)
	b = binary.BigEndian.AppendUint32(b, d.ChildNumber)
	b = append(b, d.ChainCode[:]...)
	b = append(b, d.PublicKey...)
	b = append(b, checksum(b)...)
	s := base58.Encode(b)
	clear(b)
	return s, nil
}

// checksum is Base58Check's: the first 4 bytes of SHA-256(SHA-256(b)).
func checksum(b []byte) []byte {
	first := sha256.Sum256(b)
	second := sha256.Sum256(first[:])
	return second[:4]
}

// fingerprint is BIP32's key identifier, cut to 4 bytes: HASH160 of the compressed key.
func fingerprint(k *btcec.PublicKey) [4]byte {
	var fp [4]byte
	copy(fp[:], btcutil.Hash160(k.SerializeCompressed()))
	return fp
}
