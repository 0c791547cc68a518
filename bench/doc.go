// Package bench is the load generator behind `mpcsigner bench`: it drives a running cluster
// through one front door (the native API, Web3Signer eth2 HTTP, eth1 JSON-RPC, or PKCS#11
// through a driver the caller supplies), at one or several concurrencies, and reports
// signatures per second, latency percentiles, the cluster's CPU time per signature and errors
// by kind, beside in-process baselines measured in the same run.
//
// The seam is Driver: one way of making signatures. This package implements the HTTP front
// doors and the single-key baselines in pure Go; the PKCS#11 driver (cgo, it loads a C library)
// lives in pkcs11/p11bench and the blst BLS baseline in bench/blstkey, and the CLI wires them
// in.
//
// What it must never do:
//   - count a signature it has not verified, or has verified with the code that made it. Every
//     signature (or a random sample of them, --verify-sample) is checked with an independent
//     implementation (crypto/ecdsa, btcec, crypto/ed25519, gnark-crypto) against the key's
//     public key, after the timed window so that the check's CPU does not compete with the
//     cluster; a failed check is an error of kind "verify" and its latency is not reported.
//   - report a figure it did not measure: when the cluster's processes cannot be read from
//     /proc the CPU column says why instead of showing a number.
//   - send a request the cluster's rules must refuse: eth2 attestations use strictly
//     increasing epochs per key and at most one request per key in flight, as a validator does.
//   - hold or print a bearer token or PIN beyond handing it to the client that uses it.
package bench
