// Package ed25519 is the threshold Ed25519 engine of mpcsigner (Engine.Reshare in reshare.go
// refreshes or moves its shares with the same public key): FROST as RFC 9591 specifies it, ciphersuite FROST(Ed25519, SHA-512), with the secret key shared t-of-n among the
// enclaves of a cluster. Its signatures are ordinary RFC 8032 Ed25519 signatures (Solana,
// Aptos, Sui, SSH, ...): 32-byte public keys, 64-byte signatures R || S that crypto/ed25519 and
// every other Ed25519 verifier accept. It implements protocol.Engine for
// protocol.SchemeEd25519: signing is this package's own implementation of RFC 9591 (frost.go)
// on filippo.io/edwards25519, key generation runs on github.com/bytemare/dkg.
//
// Keygen is the Pedersen DKG with Feldman commitments and Schnorr proofs of knowledge that the
// FROST paper describes (bytemare/dkg), without a dealer, in two rounds: every party broadcasts
// commitments to a random polynomial of degree t-1 with a proof that it knows the constant
// term, then sends every other party its evaluation privately. Every message is checked on
// arrival and the sender of a bad one is blamed: a proof that does not verify, a share that
// does not match its dealer's commitments. (bytemare's proof binds the prover's identifier
// but no session context; every payload of this package names the session nonce and its
// sender, and the channels authenticate senders.) Importing an existing key is not supported.
//
// Signing is FROST's two rounds, with every signer acting as the coordinator: each signer
// draws fresh nonces inside the run and broadcasts their commitments; once it holds the
// commitments of all t signers it computes its signature share and broadcasts it; once it
// holds every share it sums them, checks every other signer's share against that signer's
// public share (blaming the signers of bad ones) and verifies the result with crypto/ed25519
// before it reports it, so every signer ends with the same 64-byte signature. (With two
// signers the crypto/ed25519 check is the check of the other's share, and the share is
// checked on its own only to name the culprit of a signature that fails: see finishLocked.)
// Secret values (the key share, the nonces) are computed on in constant time; the
// variable-time operations, which are faster, see public values only.
//
// FROST identifiers are positions: the party at index i of a key's ascending party list has
// identifier i+1 (so identifiers are 1..n, as bytemare requires, and equal the party numbers
// when the parties are 1..n, as in every keygen the enclave runs).
//
// The message: Ed25519 signs the message itself (it hashes it with SHA-512 internally and
// has no prehashed form in RFC 9591). This engine signs protocol.SignParams.Message when it is
// set (a Solana or Aptos transaction, a CKM_EDDSA input: up to protocol.MaxMessageBytes), and
// otherwise the 32 bytes of protocol.SignParams.Digest as the message; a verifier must be
// given those same bytes.
//
// What it must never do: reuse a nonce (a run draws its nonces in Start, or a presign run
// ahead of time, uses them for exactly one signature share, and zeroizes them; they are never
// serialized, persisted or sent, so a crash destroys them; the enclave records each
// presignature's binding before its online run starts, see presign.go); log, print or
// otherwise expose a key share, a nonce, a secret polynomial or a share dealt to another party
// (shares leave this package only as KeygenOutput.Share, which the caller must keep sealed, and
// in the point-to-point keygen payloads, which the enclave's channel layer must encrypt); quote
// secret bytes in an error; or return a signature crypto/ed25519 does not accept. Every payload
// and the share have strict, versioned, size-capped encodings (canonical point and scalar
// encodings only, points in the prime-order subgroup and never the identity); decoding never
// panics.
//
// Signing runs share no state but the process's cache of decoded shares (signkey.go), so any
// number run at once. Decoding and checking a share costs more than the rest of a signer's
// work, so each share is decoded once per process and kept, bounded, in memory only, keyed by
// the digest of all its bytes; every run works on its own copy of the secret and wipes it.
// The cache's comment argues why holding decoded shares this way is acceptable.
//
// Runs follow the protocol.Run contract as the bls engine does: Start and Handle never wait
// for the Outgoing reader (a run queues what it emits); Handle may be called from several
// goroutines at once; a payload of the next round that arrives before this party has finished
// the current one is kept and handled when its turn comes; an identical replay of a payload is
// ignored and a different second payload of the same kind from the same sender is blamed on
// it; the result (success or failure) is sent on Done exactly once, and only after every
// payload queued before it has been taken from Outgoing, unless Abort hurries it; nothing is
// sent on Outgoing after Done has yielded; Start and Handle return ErrEnded once the run has
// ended. Failures are *protocol.Error values naming the culprit parties where the fault can be
// attributed.
//
// Transport requirements: keygen's point-to-point payloads carry secret shares and need
// confidential, authenticated channels; every payload needs an authenticated sender. Broadcast
// consistency is checked rather than assumed: a keygen share carries a digest of every
// party's round-1 broadcast as its sender saw it, and a signature share carries the
// commitments its signer used, so a party that shows different broadcasts to different
// parties makes the run fail (with the culprit named when the evidence names it, for example
// when a signer's own commitment differs from what it sent this party) instead of leaving the
// honest parties with different keys or signatures.
package ed25519
