package xrpl

import (
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
)

// Base58 alphabets: the XRP Ledger's reorders Bitcoin's so that addresses start with 'r'.
const (
	bitcoinAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	xrplAlphabet    = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
)

// toXRPLAlphabet maps each Bitcoin base58 digit to the XRP Ledger's digit of the same value.
var toXRPLAlphabet = strings.NewReplacer(alphabetPairs()...)

func alphabetPairs() []string {
	pairs := make([]string, 0, 2*len(bitcoinAlphabet))
	for i := range len(bitcoinAlphabet) {
		pairs = append(pairs, bitcoinAlphabet[i:i+1], xrplAlphabet[i:i+1])
	}
	return pairs
}

// accountVersion is the version byte of an account address.
const accountVersion = 0x00

// accountID is RIPEMD-160(SHA-256(compressed key)), what AccountID fields hold.
func accountID(compressed []byte) []byte { return btcutil.Hash160(compressed) }

// encodeAddress is the classic "r..." address of an account id. Base58check is the same
// computation in both alphabets (version byte, payload, double SHA-256 checksum), so the
// Bitcoin encoding is computed and its digits renamed.
func encodeAddress(id []byte) string {
	return toXRPLAlphabet.Replace(base58.CheckEncode(id, accountVersion))
}
