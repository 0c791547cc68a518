// Package ethereum is everything chain-specific about Ethereum's execution layer that the
// signer's front doors need: addresses from threshold public keys, the exact 32-byte digests
// that get signed (EIP-155/2718 transactions of types 0 to 4, EIP-191 personal messages,
// EIP-712 typed data), the encoding of the signatures that come back, and strict decoders for
// the inputs clients send (the JSON-RPC transaction object, EIP-712 JSON, raw RLP
// transactions).
//
// # Signing
//
// The package never holds a key and never signs by itself. Every Sign* function computes the
// digest with go-ethereum's own code, hands it to a SignFunc (the threshold protocol behind
// the caller), and then checks what came back before returning it: the recovery id is 0 or 1,
// S is in the lower half of the curve order, and the signature recovers to the address the
// caller asked to sign for. A signer that answers with another key's signature, or with a
// signature over another digest, therefore produces an error and never a wrong result.
//
// # Decoding
//
// ParseTxArgs, ParseTypedData and DecodeRawTransaction are decoders of untrusted input (trust
// rule 5): each has a size cap (MaxTxArgsBytes, MaxTypedDataBytes, MaxRawTransactionBytes;
// EIP-712 documents also have caps on their cost to encode, see MaxTypedDataWork), refuses
// rather than guesses (invalid UTF-8, duplicate keys, keys that are unknown or differ in case
// only, trailing data, deep nesting, hex quantities with leading zeros or over 64 or 256 bits,
// mixed-case addresses with a wrong EIP-55 checksum, non-canonical RLP, trailing bytes), and
// every error it returns wraps ErrInvalid and names the field at fault ("gas: ...",
// "accessList[2].storageKeys: ...", "message.to.wallet: ..."). A JSON null counts as an
// absent member. The rules that decide
// whether a transaction or message may be signed at all (policy, limits, allow lists) are not
// here: they belong to the enclave that owns the key, which uses this package to decode what
// it checks.
//
// The encodings are go-ethereum's (v1.17): core/types for transactions and their signers
// (types.LatestSignerForChainID), signer/core/apitypes for EIP-712, accounts.TextHash for
// EIP-191. This package only adds the strictness and the checks around them.
//
// It must never hold or derive a private key, sign without a SignFunc, do I/O, or import
// host, enclave or web3signer; and it must not import go-ethereum's rpc, ethclient or
// accounts/external, whose dependencies belong to the separate interop module.
package ethereum
