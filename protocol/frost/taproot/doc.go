// Package taproot is the threshold BIP340 engine of mpcsigner: Schnorr signatures on secp256k1
// for Taproot key-path spends, with the secret key shared t-of-n among the enclaves of a
// cluster. It implements protocol.Engine for protocol.SchemeBIP340 with FROST. Keygen wraps
// github.com/taurusgroup/multi-party-sig (frost.KeygenTaproot); that library is alpha and
// unaudited: only mps.go knows it, behind this package's own payload encoding, share format
// and checks, so that it can be replaced without changing either. Signing is this package's
// own: RFC 9591's two rounds adapted to BIP340, on btcec (frost.go, sign.go), and
// protocol.Presigner, which runs the first round ahead of time (presign.go). Engine.Reshare
// (reshare.go, over protocol/internal/reshare) refreshes the shares or moves them to another
// committee with the same public key.
//
// Side channels: every multiplication of a secret scalar by the generator in this package's
// own code is constant-time (mulBaseSecret, over protocol/internal/ctsecp: a fixed-window comb
// with a masked table scan and complete addition formulas): the nonces in commit (frost.go),
// the own share in the share check (share.go), and the reshare group's BaseMul, which
// protocol/internal/reshare calls with its polynomial's coefficients and the subshares it
// receives. The scalar arithmetic on secrets (ModNScalar) is constant-time too. What remains
// variable-time works on public values only: mulBase (btcec's ScalarBaseMultNonConst) for the
// BIP341 tweak and the check of a received signature share, mulPoint for binding factors and
// Lagrange coefficients times public points, and btcec's BIP340 verification. The exception
// is keygen: the wrapped library multiplies its secret polynomial with decred's variable-time
// ScalarBaseMultNonConst and ScalarMultNonConst (its pkg/math/curve; only its scalar type is
// saferith). That happens once per key, at keygen, and cannot be changed without changing the
// library (a later reshare does not undo it: the polynomial's constant is the key itself).
//
// Keys follow BIP86. Keygen is FROST's distributed key generation, without a dealer; it makes
// the internal key P (normalized to an even y) and reports the 32-byte x-only output key
// Q = P + int(hash_TapTweak(x(P)))·G: the key a P2TR output commits to (scriptPubKey
// 0x5120 || x(Q)) and signatures verify under. The share keeps P and untweaked Shamir shares
// of its secret (InternalKey returns P, for PSBT_IN_TAP_INTERNAL_KEY); signing adds the tweak
// to the shares (q_i = ±(x_i + t), and the public shares to match) and signs under Q with
// them. Importing an existing key is refused.
//
// Signing is two rounds of FROST (RFC 9591 adapted to BIP340; frost.go says how) over the
// 32-byte message given as SignParams.Digest (the BIP341 signature hash): nonce commitments,
// then signature shares, each share computed over the binding factors of the whole commitment
// list and checked against its signer's tweaked public share. Every signer ends with the same
// 64-byte BIP340 signature, which the run verifies with btcec's BIP340 verifier
// (github.com/btcsuite/btcd/btcec/v2/schnorr) under the output key before it reports it.
// Engine.Presign runs round 1 alone and ends with a presignature, whose Sign runs round 2 over
// a digest bound later; the wire format is the same.
//
// Nonces: a signing run draws its nonce pair inside Start as RFC 9591's nonce_generate does
// (a tagged hash of 32 fresh random bytes and the secret share), uses it for one signature
// share and wipes it as soon as that share exists, or when the run ends. A presign run draws
// its pair the same way and hands it to its presignature, which keeps it in this process's
// memory only (never serialized, persisted or sent) until exactly one online run takes it
// (Sign, under a mutex) or Discard wipes it, as the Ed25519 engine's presignatures do. A crash
// loses nonces instead of reusing them, so nothing about them needs to be recorded durably
// (trust rule 4); the enclave records what it binds to a presignature before calling Sign.
//
// What it must never do: reuse a nonce (two signatures with one nonce pair reveal the
// share); log, print or otherwise expose a key share, a nonce or a share dealt to another
// party (shares leave this package only as KeygenOutput.Share, which the caller must keep
// sealed, and as the point-to-point keygen payloads, which the enclave's channel layer must
// encrypt); quote secret bytes in an error; or report a signature that btcec has not
// verified under the output key. Every buffer the package owns that holds a secret (shares,
// nonces, the scalars signing derives from them) is zeroized when done with; what the keygen
// library holds internally (its polynomial) cannot be reached and is dropped, not zeroized.
//
// Signing runs share no state but the process's cache of tweaked shares (signkey.go): decoding
// a share, checking it and tweaking it to the output key cost about half as much CPU as a
// signer's part of a signing, so each share is decoded once per process and kept, bounded, in memory
// only, keyed by the SHA-256 of all its bytes, and wiped when evicted or idle; every run works
// on its own copy of the secret and wipes it. The cache's comment argues why that is
// acceptable.
//
// Payloads (see wire.go for the layout) carry the session nonce, the sender and the round
// in a fixed header, then a fixed-size body per kind; they are decoded strictly, with size
// caps, before anything reaches the keygen library (whose own CBOR decoders never see outside
// bytes) or signing's arithmetic. A malformed or misplaced payload is blamed on its sender.
// Failures are *protocol.Error values naming the culprits the protocol can identify: a payload
// that does not decode or does not fit, a keygen share that does not match its sender's
// commitments, a proof of knowledge or a signature share that does not verify. What it cannot
// identify: a party that shows different round-1 broadcasts to different parties (detected in
// round 2, when views or commitment-list digests differ, but whether the broadcaster or the
// reporter lies is unknowable without signed broadcasts, so no one is blamed), and a party
// that stays silent (the caller's timeout).
//
// Runs follow the protocol.Run contract as the other engines do: Start and Handle never wait
// for the Outgoing reader (a run queues what it emits); Handle may be called from several
// goroutines at once; the result (success or failure) is sent on Done exactly once, and only
// after every payload queued before it has been taken from Outgoing, unless Abort hurries it;
// nothing is sent on Outgoing after Done has yielded; Start and Handle return ErrEnded once
// the run has ended.
//
// Transport requirements: point-to-point payloads carry secret shares and need confidential,
// authenticated channels; broadcast payloads need authenticated channels (consistency is
// checked in round 2, as above).
package taproot
