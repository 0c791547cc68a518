// Package tron is the chains.Chain for TRON: addresses of threshold secp256k1 keys and
// signatures on TRON transactions.
//
// # Addresses
//
// An address is base58check(0x41 || the last 20 bytes of Keccak-256(X || Y)), X and Y the
// coordinates of the uncompressed key: the "T..." form wallets show. The networks (mainnet,
// shasta, nile) share the address format and the signing rule; the name only documents
// which one a caller means.
//
// # Transactions
//
// Sign takes the hex of a protobuf protocol.Transaction that has raw_data (field 1) and no
// signature, the form node APIs return as raw_data_hex wrapped in a Transaction. The id is
// SHA-256 of the raw_data bytes; the key signs the id, and the signed transaction is the same
// Transaction with the 65-byte signature r || s || v (v the recovery id, 0 or 1, the form
// java-tron writes) as field 2, in hex. Signed.TxID is the id in lower-case hex, as Tronscan
// shows it.
//
// Nodes do not hash the bytes they receive: they parse the transaction and hash raw_data as
// their protobuf library writes it again. The decoder therefore insists on that canonical
// encoding (known fields in number order, zero values left out, minimal varints) for the
// messages it reads, so that the id signed is the id nodes compute. It reads only what
// deciding who signs needs: raw_data must hold exactly one contract (java-tron refuses more),
// of a type whose owner_address field this package knows, with owner_address equal to the
// key's address and no Permission_id (which would let another permission's keys be the
// signers). Anything else (unknown fields or contract types, auths, a signature already
// present, trailing bytes, more than chains.MaxTransactionBytes) is refused with an error
// wrapping chains.ErrInvalid that says what was wrong.
//
// This package must never hold a key, sign anything but the id of a checked transaction,
// return a signature it has not verified and recovered to the key, or import host or enclave.
package tron
