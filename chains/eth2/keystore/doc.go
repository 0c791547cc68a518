// Package keystore decodes and decrypts EIP-2335 (version 4) BLS12-381 keystores, the files in
// which Ethereum validator keys are exchanged, so that an existing validator key can be imported
// into a cluster and split into shares at once.
//
// Supported modules: kdf "scrypt" or "pbkdf2" (prf "hmac-sha256"), checksum "sha256", cipher
// "aes-128-ctr". Passwords are processed as EIP-2335 says: NFKD normalization, then the C0
// (U+0000-U+001F), C1 (U+0080-U+009F) and DEL (U+007F) control codes are stripped, then UTF-8.
//
// Parse is a strict decoder of untrusted input: the file is size-capped; unknown, duplicate or
// wrongly cased keys, nulls, wrong types, trailing data and malformed hex are errors; and the
// KDF parameters are bounded (scrypt n <= 2^18, r*p <= 16, 128*n*r bytes <= 256 MiB; pbkdf2
// c <= 2^22; dklen 32) so that a keystore chosen by an attacker cannot exhaust the memory or
// the CPU of the enclave that decrypts it. Every decoding error is a *FieldError naming the
// field at fault and matches ErrInvalid. Besides the EIP's fields (crypto, description, pubkey,
// path, uuid, version) Parse accepts "name", which Prysm and ethdo write. Hex strings may carry
// a 0x prefix.
//
// Decrypt checks the password against the checksum (a wrong password is ErrWrongPassword),
// decrypts the 32-byte secret, checks that it is a valid BLS12-381 secret key (non-zero, below
// the group order) and that it belongs to the keystore's pubkey, when there is one.
//
// What it must never do: log, print or quote in an error the password, the derived key or the
// secret; keep any of them after a call returns (buffers it owns are wiped, within what Go
// allows: the standard library's pbkdf2 takes the password as a string, and AES keeps its key
// schedule until collected); or run a KDF on parameters outside the bounds above. Under trust
// rule 1 a whole validator key may only be decrypted inside an enclave during an explicit import
// (or in tests and operator tooling that never sends it anywhere): callers split it and wipe it
// at once.
package keystore
