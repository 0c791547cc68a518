// Package bls is the threshold-BLS engine of mpcsigner: BLS signatures on BLS12-381 as
// Ethereum's consensus layer uses them (public keys in G1, 48 bytes compressed; signatures in
// G2, 96 bytes compressed; ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_), with the
// secret key shared t-of-n among the enclaves of a cluster. It implements protocol.Engine for
// protocol.SchemeBLS12381 on top of blst (github.com/supranational/blst).
// Engine.Reshare (reshare.go, over protocol/internal/reshare) refreshes the shares or moves them
// to another committee with the same public key.
//
// Keygen is a Joint-Feldman distributed key generation without a dealer: every party deals a
// random polynomial of degree t-1, broadcasts Feldman commitments to its coefficients and sends
// every other party its evaluation privately; each party checks what it receives against the
// commitments and blames the sender of anything that does not check out. No party ever holds
// the whole secret key. (Joint-Feldman lets a rushing party bias the distribution of the group
// key, not learn it; that is acceptable for signing keys.)
//
// Import (protocol.KeygenParams.Import) brings in an existing secret key x, such as a
// validator key decrypted from an EIP-2335 keystore inside the dealer's enclave. It is the same
// run with one dealer: the dealer deals a random polynomial of degree t-1 whose constant term is
// x, broadcasts its Feldman commitments and sends every other party its evaluation, then wipes
// x and the polynomial and ends; the other parties deal nothing, check that the constant
// commitment is the expected public key x·G1 and that their share matches the commitments, and
// blame the dealer otherwise (a dealing from any other party is refused and blamed on its
// sender). Every party ends with a share in the same format as after a DKG, so signing is
// unchanged. The dealer ends without hearing from the others: whoever runs the import collects
// every party's result before calling it done.
//
// Signing is a single round: every signer broadcasts its partial signature x_j·H(m); every
// signer checks each partial against that signer's public share, combines them by Lagrange
// interpolation in G2, and verifies the result under the group key. BLS is deterministic, so
// the threshold signature is exactly the signature the whole secret key would make.
//
// What it must never do: log, print or otherwise expose a key share, the secret polynomial, an
// imported secret key or a share dealt to another party (shares leave this package only as KeygenOutput.Share, which the
// caller must keep sealed, and as the point-to-point keygen payloads, which the enclave's
// channel layer must encrypt); quote secret bytes in an error; or return a signature it has not
// verified under the group key. Every payload and the share have strict, versioned,
// size-capped encodings; decoding never panics.
//
// Runs follow the protocol.Run contract as the ecdsa engine does: Start and Handle never wait
// for the Outgoing reader (a run queues what it emits); Handle may be called from several
// goroutines at once; the result (success or failure) is sent on Done exactly once, and only
// after every payload queued before it has been taken from Outgoing, unless Abort hurries it;
// nothing is sent on Outgoing after Done has yielded; Start and Handle return ErrEnded once the
// run has ended. Failures are *protocol.Error values naming the culprit parties where the
// fault can be attributed.
//
// Transport requirements: point-to-point payloads carry secret shares and need confidential,
// authenticated channels; broadcast payloads need authenticated, consistent broadcast (a party
// that shows different commitments to different parties would otherwise leave the honest
// parties with different group keys).
package bls
