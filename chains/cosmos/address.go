package cosmos

import (
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/bech32"

	"github.com/mpcsigner/mpcsigner/chains"
)

// DefaultPrefix is the bech32 prefix used when a request names no network: the Cosmos Hub's.
const DefaultPrefix = "cosmos"

// commonPrefixes are listed by Networks as examples; any valid prefix is accepted.
var commonPrefixes = []string{DefaultPrefix, "osmo", "celestia", "dydx", "juno", "akash", "stars", "noble"}

// maxPrefixLen keeps an address of a 20-byte hash within BIP-173's 90 characters: the
// separator, 32 data characters and a 6-character checksum follow the prefix.
const maxPrefixLen = 90 - 1 - 32 - 6

// prefixFor returns the bech32 prefix for network ("" is DefaultPrefix), refusing anything
// BIP-173 does not allow as a human-readable part. Upper case is refused rather than folded:
// bech32 strings must not mix cases, and a prefix is a name the caller should spell as the
// chain does.
func prefixFor(network string) (string, error) {
	if network == "" {
		return DefaultPrefix, nil
	}
	if len(network) > maxPrefixLen {
		return "", chains.Invalid("cosmos: bech32 prefix %q is longer than %d characters", network, maxPrefixLen)
	}
	for i := 0; i < len(network); i++ {
		c := network[i]
		if c < 33 || c > 126 {
			return "", chains.Invalid("cosmos: bech32 prefix %q has a character outside '!'..'~'", network)
		}
		if c >= 'A' && c <= 'Z' {
			return "", chains.Invalid("cosmos: bech32 prefix %q has upper case: spell it in lower case", network)
		}
	}
	return network, nil
}

// encodeAddress is the SDK's AccAddress for a compressed secp256k1 key, in bech32 with prefix.
func encodeAddress(prefix string, compressed []byte) (string, error) {
	data, err := bech32.ConvertBits(btcutil.Hash160(compressed), 8, 5, true)
	if err != nil {
		return "", err
	}
	return bech32.Encode(prefix, data)
}
