// Package solana is everything chain-specific about Solana that the signer needs: the address
// of a threshold Ed25519 key, a strict decoder for the wire transaction, and the encoding of
// the signature into it.
//
// # Addresses
//
// An address is the base58 (Bitcoin alphabet) encoding of the 32-byte Ed25519 public key.
//
// # Transactions
//
// A transaction travels as base64 (standard alphabet, padded) of the wire format that
// solana-web3.js serializes and the sendTransaction RPC takes:
//
//	compact-u16 n | n × 64-byte signature | message
//
// where the message is either legacy or versioned (v0):
//
//	[0x80 | version]                         v0 only; a legacy message starts with its header
//	header: num_required_signatures u8, num_readonly_signed u8, num_readonly_unsigned u8
//	compact-u16 k | k × 32-byte account key
//	32-byte recent blockhash
//	compact-u16 i | i × (program_id_index u8, compact-u16 a | a × u8 account index,
//	                     compact-u16 d | d bytes of data)
//	compact-u16 t | t × (32-byte table key, compact-u16 w | w × u8, compact-u16 r | r × u8)
//	                                          v0 only: address table lookups
//
// The unsigned transaction has its signature slots zero-filled. Sign puts the key's signature
// into the slot of the key's position among the first num_required_signatures account keys
// and leaves the other slots as they came, so a transaction that several keys sign can pass
// through each in turn; the key's own slot must still be zero.
//
// The signature is Ed25519 (PureEdDSA) over the message bytes exactly as they appear on the
// wire. The transaction id is the base58 of the first signature (the fee payer's); when that
// slot is still empty the transaction has no id yet and Signed.TxID is empty.
//
// # Networks
//
// The bytes signed do not depend on the cluster, so "mainnet-beta" (the default), "devnet"
// and "testnet" all give the same address and the same signature; they are listed so that
// callers can name the cluster they mean.
//
// # Decoding
//
// DecodeTransaction is a decoder of untrusted input: it refuses a transaction larger than a
// packet (MaxTransactionBytes), non-canonical compact-u16 lengths, message versions other
// than legacy and v0, a signature count that differs from num_required_signatures, the
// header and index inconsistencies Solana's own sanitize step refuses (a read-only fee payer,
// more signers than keys, a program at index 0 or out of range, an account index out of
// range, an empty lookup table, more than 256 accounts in all), duplicate account keys, and
// trailing bytes. Every refusal wraps chains.ErrInvalid and names the field at fault.
//
// The package must never hold or derive a private key, sign by itself, do I/O, or import
// host, enclave or a Solana SDK: the SDK checks this package from the interop tests instead.
package solana
