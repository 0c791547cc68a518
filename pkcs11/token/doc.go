// Package token is the logic of the mpcsigner PKCS#11 module (libmpcsigner-pkcs11.so) in pure
// Go: configuration, slots, sessions, login, objects, templates, signing and verification. The
// cgo layer in pkcs11/cmd/libmpcsigner-pkcs11 only converts C arguments to the Go values used
// here and back; everything that decides a CKR_* code lives in this package and is unit tested
// against a fake native API.
//
// Slot 0 shows the cluster's ECDSA keys (secp256k1, P-256; CKM_ECDSA, CKM_ECDSA_SHA256) and slot
// 1 its Ed25519 keys (CKK_EC_EDWARDS; CKM_EDDSA, plain Ed25519 over the whole message), apart
// because OpenSSL's libp11 engine fails on a token that holds Ed25519 keys.
//
// The module is a thin client of a host's native API (host/api). It must never:
//   - hold, cache, derive or export a key share or any private key material: objects carry the
//     public key only, CKA_VALUE of a private key is CKR_ATTRIBUTE_SENSITIVE, and C_WrapKey,
//     C_UnwrapKey and C_DeriveKey are not supported;
//   - run a signing protocol for a length query (C_Sign with a NULL signature buffer answers 64
//     without calling the API);
//   - make random bytes of its own: C_GenerateRandom returns bytes from the enclave behind the
//     host (POST /v1/random) or fails;
//   - hang: every API call carries a deadline (Config.Timeout, or Config.KeygenTimeout for a
//     key generation), C_Finalize cancels calls in flight, and a host that cannot reach a quorum
//     yields CKR_DEVICE_ERROR as soon as it answers.
package token
