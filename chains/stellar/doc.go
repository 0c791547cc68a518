// Package stellar is everything chain-specific about Stellar that the signer needs: the
// account id of a threshold Ed25519 key, a strict decoder for XDR transaction envelopes, the
// hash a key signs for a transaction on a network, and the signed envelope.
//
// # Addresses
//
// The StrKey account id (SEP-23): base32 of version byte 6<<3 || public key || CRC16-XModem,
// 56 characters starting with G.
//
// # Transactions
//
// A transaction is the base64 (standard alphabet, padded) of the XDR TransactionEnvelope, as
// the SDKs' ToXDR/toEnvelope and Horizon's and Stellar RPC's submission endpoints use it. It
// must be a v1 envelope (ENVELOPE_TYPE_TX; v0 and fee-bump envelopes are refused) with an
// empty signature list, and its source account must be the key's account, plain (G...) or
// muxed (M..., any id). The key signs, as a 32-byte Ed25519 message, the signature payload
//
//	sha256(sha256(network passphrase) || ENVELOPE_TYPE_TX (int32 2) || Transaction XDR)
//
// which is also the transaction hash explorers show; Signed.TxID is its hex. The signed
// envelope is the same envelope with one DecoratedSignature: the last four bytes of the public
// key as its hint and the 64-byte signature.
//
// # Networks
//
// "public" (the default, passphrase "Public Global Stellar Network ; September 2015") and
// "testnet" ("Test SDF Network ; September 2015"). The account id does not depend on the
// network; the signature does.
//
// # Decoding
//
// The Transaction's XDR ends where the signature list begins, and no length marks that spot,
// so DecodeEnvelope walks every field of the Transaction: preconditions, memo, every
// operation body of the 27 operation types, Soroban host functions with their SCVals and
// authorization entries, and the Soroban transaction data. It follows the XDR definitions
// that go-stellar-sdk v0.7.3 ships (its Stellar-*.x files), which include some arms newer
// than the network's current protocol; the network refuses those, not this package. It
// refuses an envelope over MaxEnvelopeBytes, any union discriminant or enum value the
// definitions do not have, variable-length items over their bound (string<28> memos, at most
// 100 operations, 20 signatures, ...), non-zero XDR padding, optional flags and booleans
// other than 0 and 1, recursive values (SCVals, claim predicates, authorized invocations)
// nested more than 64 deep, and trailing bytes. Every refusal wraps chains.ErrInvalid and
// names the field at fault.
//
// The package must never hold or derive a private key, sign by itself, do I/O, or import
// host, enclave or a Stellar SDK: the SDK checks this package from the interop tests instead.
package stellar
