// Package cosmos is the chains.Chain for Cosmos SDK chains whose accounts are plain secp256k1
// keys (/cosmos.crypto.secp256k1.PubKey): the Cosmos Hub, Osmosis, Celestia, dYdX and the many
// others that share the SDK's account and transaction formats.
//
// # Networks and addresses
//
// A network is a bech32 human-readable prefix ("cosmos", "osmo", "celestia", ...). Networks
// lists a few common ones, with "cosmos" the default, but Address and Sign accept any prefix
// that BIP-173 allows (1 to 51 characters from '!' to '~', no upper case, so that the address
// stays within BIP-173's 90 characters). The address of a key is
// bech32(prefix, RIPEMD-160(SHA-256(33-byte compressed key))), the SDK's AccAddress.
// Chains whose accounts are Ethereum-style keys (Injective, Evmos and other ethsecp256k1
// chains) derive addresses differently and are not served by this package.
//
// # Transactions
//
// Sign takes the standard base64 of a protobuf SignDoc (SIGN_MODE_DIRECT: body_bytes = 1,
// auth_info_bytes = 2, chain_id = 3, account_number = 4), signs SHA-256 of those bytes, and
// returns the base64 of the TxRaw (body_bytes = 1, auth_info_bytes = 2, signatures = 3) that
// nodes accept, its id (upper-case hex SHA-256 of the TxRaw, as explorers show it), and the
// 64-byte r||s signature (s low: the SDK refuses high-s signatures) in hex.
//
// The SignDoc must be in the canonical encoding that nodes rebuild to verify, its AuthInfo
// must name exactly one signer, the key being used, as a /cosmos.crypto.secp256k1.PubKey
// with SIGN_MODE_DIRECT. The decoders read only what these checks need, strictly: a size
// cap, no unknown fields, no repeated singular fields, no groups or unexpected wire types, no
// non-minimal varints, no trailing bytes. Every refusal wraps chains.ErrInvalid and says what
// was wrong. The transaction body is signed as it is and not interpreted: what it may do is
// for the enclave's policy, not for this package.
//
// This package must never hold a key, sign anything but the SHA-256 of a checked SignDoc,
// return a signature it has not verified under the key, or import host or enclave.
package cosmos
