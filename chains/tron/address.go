package tron

import (
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/base58"
	"golang.org/x/crypto/sha3"
)

// addressPrefix is the first byte of every TRON address (mainnet and the public testnets).
const addressPrefix = 0x41

// addressBytes is the 21-byte address of a key: 0x41 || Keccak-256(X || Y)[12:], as in
// Ethereum but with the prefix byte, and the form owner_address fields hold.
func addressBytes(key *btcec.PublicKey) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(key.SerializeUncompressed()[1:]) // X || Y, without the 0x04 tag
	return append([]byte{addressPrefix}, h.Sum(nil)[12:]...)
}

// encodeAddress is the base58check ("T...") form of a 21-byte address: base58 of the bytes
// and the first four bytes of their double SHA-256.
func encodeAddress(addr []byte) string {
	return base58.CheckEncode(addr[1:], addr[0])
}
