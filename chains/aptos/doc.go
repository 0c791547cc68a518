// Package aptos is everything chain-specific about Aptos that the signer needs: the address
// of a threshold Ed25519 key, a strict decoder for the BCS RawTransaction, the message an
// Ed25519 key signs for it, and the signed transaction and its hash.
//
// # Addresses
//
// The address of an account created for a single Ed25519 key is its authentication key,
// sha3-256(public key || 0x00), written 0x and 64 lower-case hex digits (AIP-40's long form).
// An account that rotated its key keeps its old address; such accounts are out of scope.
//
// # Transactions
//
// A transaction is the hex (an optional 0x prefix) of a BCS RawTransaction:
//
//	sender [32]byte, sequence_number u64, payload TransactionPayload, max_gas_amount u64,
//	gas_unit_price u64, expiration_timestamp_secs u64, chain_id u8
//
// with the payload one of Script (0), EntryFunction (2), Multisig (3) or Payload (4, the V1
// inner payload with an executable and extra configuration). Its sender must be the key's
// address. The key signs, as PureEdDSA, the signing message sha3-256("APTOS::RawTransaction")
// || raw bytes; the signed transaction is the BCS SignedTransaction
//
//	raw bytes || 0x00 (TransactionAuthenticator::Ed25519) || 0x20 || public key || 0x40 || signature
//
// in 0x-prefixed hex, ready for the REST API's BCS submission (Content-Type
// application/x.aptos.signed_transaction+bcs). The transaction id is its hash,
// sha3-256(sha3-256("APTOS::Transaction") || 0x00 || signed bytes), as aptos-go-sdk's
// SignedTransaction.Hash computes it.
//
// Transactions with secondary signers or a fee payer (RawTransactionWithData) are another
// signing message and another authenticator, and are refused: the hex must be exactly one
// RawTransaction.
//
// # Networks
//
// "mainnet" (chain id 1, the default for addresses), "testnet" (2), "devnet" (any chain id
// but 1 and 2: it changes at every reset) and "localnet" (4). The address does not depend on
// the network. A transaction names its chain itself; when Sign is given a network, the chain
// id must agree with it, and with none, the transaction's own chain id stands.
//
// # Decoding
//
// DecodeRawTransaction is a decoder of untrusted input: it refuses a transaction over
// MaxTransactionBytes, non-canonical BCS (ULEB128 not in its shortest form or over 32 bits,
// booleans and option tags other than 0 and 1, invalid UTF-8), unknown and deprecated enum
// variants (ModuleBundle), identifiers that are not Move identifiers, type tags nested more
// than eight deep (Move's own limit), and trailing bytes. Every refusal wraps
// chains.ErrInvalid and names the field at fault.
//
// The package must never hold or derive a private key, sign by itself, do I/O, or import
// host, enclave or an Aptos SDK: the SDK checks this package from the interop tests instead.
package aptos
