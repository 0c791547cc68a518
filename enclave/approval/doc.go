// Package approval checks, inside each enclave, that a quorum of operators approved a lifecycle
// operation (backup export, backup restore, share refresh, committee change) before the enclave
// takes part in it. The host only carries statements and approvals; it cannot forge an approval,
// replay one, or stretch one to another key, cluster, operation or parameter, because every
// enclave verifies the operators' Ed25519 signatures itself against the operators configured in
// its measured configuration (DESIGN.md, trust rule 2).
//
// This package must never count an approval whose signature does not verify over exactly the
// canonical bytes of the statement being authorised, never count one operator twice, never
// accept an expired statement or a nonce its ledger has seen, and never import host, web3signer
// or pkcs11. Operators' private keys belong to operators: the enclave never holds one, and only
// the operator CLI calls Sign, NewCertificate and the key file functions.
//
// # Operator certificates
//
// An operator is an Ed25519 key with a name. The operator hands out a self-signed certificate,
// one line of text, to whoever configures the cluster:
//
//	mpcsigner-operator-v1 <name> <created> <public key> <signature>
//
// name matches [a-z0-9][a-z0-9._-]{0,31}; created is RFC 3339 in UTC with whole seconds
// (2025-01-02T03:04:05Z); the public key (32 bytes) and signature (64 bytes) are standard
// base64 with padding. Fields are separated by exactly one space. The signature is Ed25519 over
//
//	"mpcsigner operator certificate v1\n" + "<name> <created> <public key>"
//
// and proves that whoever made the certificate holds the key (it does not prove who they are:
// that is the configurer's job). Public keys of small order are refused. There is exactly one
// valid text per certificate, so texts can be compared byte for byte.
//
// # Statements
//
// An operation is described by a statement, exchanged as JSON:
//
//	{"version":1,"operation":"key.reshare","cluster":"prod-1","key_id":"<32 hex>",
//	 "params":{"new_parties":"1,2,3,4","new_threshold":"3"},"nonce":"<32 hex>",
//	 "not_after":"2025-01-02T03:04:05Z"}
//
// Operators sign its canonical bytes, which are unambiguous (every variable field is length
// prefixed) and domain separated:
//
//	mpcsigner approval v1\n
//	operation <len>:<operation>\n
//	cluster <len>:<cluster>\n
//	key_id <len>:<key id>\n
//	params <count>\n
//	param <len>:<name> <len>:<value>\n     (one line per parameter, ascending by name)
//	nonce <len>:<nonce>\n
//	not_after <Unix seconds>\n
//
// Lengths are decimal byte counts. The nonce (16 random bytes in lowercase hex) makes each
// statement single use: an enclave records it in its NonceLedger when it acts on the statement.
// not_after bounds how long a statement can wait, and how long a ledger must remember its nonce.
//
// # Approvals
//
// An approval is one operator's signature over a statement's canonical bytes, exchanged as one
// JSON object (the CLI prints one per line):
//
//	{"version":1,"operator":"alice","public_key":"<base64>","statement_sha256":"<64 hex>",
//	 "signature":"<base64>"}
//
// The operator is found by public key; the name must be that key's configured name.
// statement_sha256 is the SHA-256 of the canonical bytes: it tells an approval for another
// statement from a forged one, and lets tools match approvals to statements. Decoders refuse
// unknown, duplicate or differently cased keys, trailing data and oversized input.
package approval
