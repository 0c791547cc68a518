// Package ecdsa is the threshold-ECDSA engine of mpcsigner: it runs the GG18/GG20 protocols of
// tss-lib v3 (github.com/bnb-chain/tss-lib/v3) on secp256k1 behind protocol.Run, so that n
// parties generate a key together (NewKeygen) and any t of them sign a 32-byte digest under it
// (NewSign), producing an ordinary, low-S ECDSA signature with its recovery id. It also moves a
// key to fresh shares with tss-lib's resharing (Engine.Reshare: a refresh, or a committee change
// with the same public key) and signs with non-hardened BIP32 children of a key (a
// protocol.Derivation, through tss-lib's key-derivation delta; secp256k1 only).
//
// What it adds to tss-lib:
//
//   - Inputs are validated before tss-lib sees them (tss-lib panics on some bad inputs, e.g.
//     invalid pre-params or a signer missing from the key data); no input to this package is
//     meant to panic.
//   - Every run is bound to a caller-chosen 32-byte session nonce (tss-lib otherwise falls back
//     to no session binding for keygen).
//   - Inbound payloads are checked before they reach tss-lib: size, sender, message type, the
//     broadcast flag each message type must arrive with, and one message per sender and type (an
//     identical replay is ignored, a conflicting one is blamed on the sender).
//   - A signature is released only after it has been checked here, independently of tss-lib:
//     S is low (<= N/2), (r, s) verifies against the group key (or the derived child key) with
//     btcec, and the recovery id is the one that recovers that key.
//   - Failures are *protocol.Error values naming, where tss-lib can tell, the culprit parties.
//
// What it must never do: log or expose a key share, pre-params (they hold Paillier secret
// keys), a signing nonce or any other secret. Shares leave this package only as
// KeygenOutput.Share, which the caller must keep sealed; Share, KeygenConfig and SignConfig
// print without their secrets. It must never return a signature it has not verified against
// the group key.
//
// Runs: Start and Handle never wait for the Outgoing reader; a run queues what it emits without
// bound. Handle may be called from several goroutines at once. A run's result (success or
// failure) becomes readable on Done only after every payload it emitted before the result has
// been taken from Outgoing, because the peers need those payloads to finish, or to detect the
// failure themselves and blame the right party. So keep reading Outgoing until Done yields (as
// in a select over both), or call Abort, which makes Done yield at once and drops what is not
// yet taken. Outgoing is never closed; nothing is sent on it once Done has yielded. Start and
// Handle return ErrEnded once the run has ended.
//
// Transport requirements (tss-lib's, passed on): point-to-point payloads carry secret material
// and need confidential, authenticated channels; broadcast payloads need an authenticated,
// consistent broadcast (every party sees the same payload). The enclave must call Abort on
// every run it abandons (for example on a timeout), or the run's goroutine stays alive.
package ecdsa
