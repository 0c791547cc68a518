package ethereum

import (
	"crypto/ecdsa"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// CompressedPublicKeyLen is the length of a SEC1 compressed secp256k1 public key.
const CompressedPublicKeyLen = 33

// Address returns the Ethereum address (the last 20 bytes of the Keccak-256 of X||Y) of a
// 33-byte SEC1 compressed secp256k1 public key, the form the threshold engines report. The
// point is decompressed, which also checks that it lies on the curve.
func Address(compressedPub []byte) (common.Address, error) {
	pub, err := decompress(compressedPub)
	if err != nil {
		return common.Address{}, err
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// UncompressedPublicKey returns the 65-byte SEC1 uncompressed form 0x04||X||Y of a compressed
// secp256k1 public key: the form Web3Signer's eth1 API lists (eth_accounts answers addresses,
// the public-keys endpoint these bytes).
func UncompressedPublicKey(compressedPub []byte) ([]byte, error) {
	pub, err := decompress(compressedPub)
	if err != nil {
		return nil, err
	}
	return crypto.FromECDSAPub(pub), nil
}

// decompress parses a compressed key; the length and prefix are checked here so the error
// says what was expected rather than what the curve library found.
func decompress(compressedPub []byte) (*ecdsa.PublicKey, error) {
	if len(compressedPub) != CompressedPublicKeyLen {
		return nil, invalid("public key", "%d bytes, want %d (SEC1 compressed)", len(compressedPub), CompressedPublicKeyLen)
	}
	if p := compressedPub[0]; p != 0x02 && p != 0x03 {
		return nil, invalid("public key", "prefix %#02x, want 0x02 or 0x03 (SEC1 compressed)", p)
	}
	pub, err := crypto.DecompressPubkey(compressedPub)
	if err != nil {
		return nil, invalidErr("public key", err)
	}
	return pub, nil
}
