// Package sui is everything chain-specific about Sui that the signer needs: the address of a
// threshold Ed25519 key, a strict decoder for BCS TransactionData, the digest an Ed25519 key
// signs for it, and the serialized signature Sui expects next to the transaction.
//
// # Addresses
//
// blake2b-256(0x00 || public key), the 0x00 being Ed25519's signature scheme flag, written 0x
// and 64 lower-case hex digits.
//
// # Transactions
//
// A transaction is the base64 (standard alphabet, padded) of BCS TransactionData, as
// Transaction.build() in the Sui SDKs and the unsafe_* RPC methods return it:
//
//	TransactionData::V1 { kind: ProgrammableTransaction { inputs, commands }, sender,
//	                      gas_data { payment, owner, price, budget }, expiration }
//
// Its sender must be the key's address (a sponsored transaction's gas owner signs separately).
// The key signs the 32-byte digest blake2b-256(intent || transaction bytes), the intent being
// [0, 0, 0] (TransactionData, version 0, Sui), as the 32-byte Ed25519 message.
//
// A signed Sui transaction travels as two values, the unchanged transaction bytes and a list
// of serialized signatures, which sui_executeTransactionBlock (tx_bytes, signatures) and the
// SDKs' executeTransaction take in base64. So Signed.Transaction is the request's base64
// unchanged, and Signed.Signature is the hex of the serialized signature
// 0x00 || signature || public key (97 bytes): base64 those bytes to pass them to Sui.
// Signed.TxID is the transaction digest, base58(blake2b-256("TransactionData::" || bytes)).
//
// # Networks
//
// "mainnet" (the default), "testnet", "devnet" and "localnet". The address and the signed
// bytes do not depend on the network.
//
// # Decoding
//
// DecodeTransactionData is a decoder of untrusted input, written from the BCS schema of
// sui-types (transaction.rs): it walks the whole programmable transaction to reach the sender
// and the end, and refuses a transaction over MaxTransactionBytes, the system transaction
// kinds, unknown enum variants, non-canonical BCS (ULEB128 not in its shortest form or over
// 32 bits, option tags other than 0 and 1, invalid UTF-8), digests that are not 32 bytes,
// module, function and type names that are not Move identifiers, type arguments nested as
// deep as the protocol refuses (16), and trailing bytes. Every refusal wraps
// chains.ErrInvalid and names the field at fault. The other protocol limits (argument counts,
// gas objects, ...) are left to the network, which refuses a transaction that breaks them.
//
// The package must never hold or derive a private key, sign by itself, do I/O, or import
// host, enclave or a Sui SDK: the SDK checks this package from the interop tests instead.
package sui
