// Package xrpl is the chains.Chain for the XRP Ledger's secp256k1 accounts: addresses of
// threshold secp256k1 keys and single signatures on transactions in the ledger's canonical
// binary format.
//
// # Addresses
//
// An account id is RIPEMD-160(SHA-256(33-byte compressed key)); the address is its base58check
// with version byte 0 in the XRP Ledger's own base58 alphabet (the "r..." form). Mainnet,
// testnet and devnet share the format; a network's NetworkID, where it has one, is a field
// of the transaction, not something this package adds.
//
// # Transactions
//
// Sign takes the hex of a transaction in canonical binary form with SigningPubKey set to
// the key and without TxnSignature (what xrpl.js's encodeForSigning and xrpl-go's
// binarycodec.Encode produce for an autofilled transaction, minus the "STX\0" prefix). The
// key signs SHA-512Half(0x53545800 || transaction); the signature is DER (canonical, low s,
// as the ledger requires of secp256k1 signatures), inserted as TxnSignature in canonical field
// order. Signed.Transaction is the signed blob and Signed.TxID its hash,
// SHA-512Half(0x54584E00 || signed blob), both in upper-case hex as the ledger's tools show
// them; Signed.Signature is the DER in upper-case hex.
//
// The decoder walks the whole binary format (field ids, the fixed-size types, Amount,
// variable-length fields, PathSet, Issue, nested objects and arrays) and refuses what it
// cannot frame or what nodes would serialize differently: unknown or unsupported type codes
// (XChainBridge, the MPT form of Issue), fields out of canonical order or repeated,
// malformed lengths, nesting deeper than rippled's 10 levels, trailing bytes, and any field
// the ledger leaves out of the signing data (TxnSignature, Signers, Signature, ...), since
// signing the blob as given would then sign other bytes than nodes check. The top level must
// carry TransactionType, Account equal to the key's account and SigningPubKey equal to the
// key: multi-signing and regular keys are not supported. Every refusal wraps
// chains.ErrInvalid and says what was wrong.
//
// This package must never hold a key, sign anything but the signing hash of a checked
// transaction, return a signature it has not verified under the key, or import host or
// enclave.
package xrpl
