// Package nitro attests and verifies AWS Nitro Enclaves attestation documents.
//
// The Attester asks the Nitro Security Module (/dev/nsm) for a document; it only works inside a
// Nitro Enclave. The Verifier checks a document completely with our own strict COSE_Sign1
// (ES384) codec and crypto/x509: the CA bundle must start at a pinned root, every certificate
// must be valid at the given time, the leaf key must be ECDSA P-384, the signature must verify,
// the document must not come from a debug-mode enclave, every PCR the policy pins must match,
// and the timestamp must be fresh.
//
// This package must never accept a document it could not check completely, never trust a root
// that was not pinned by the caller, and never panic on any input: every document is
// attacker-controlled bytes. It checks what a document attests, not what it is presented with:
// comparing Document.PublicKey and Document.UserData with the key and data a peer presents is
// the caller's binding check (attestation.ErrBinding).
package nitro
