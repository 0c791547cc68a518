// Package ethereum drives go-ethereum, used as a library, against a devnet of the mpcsigner
// binary: its external-signer client (accounts/external) and its JSON-RPC client sign through
// the devnet's eth1 front door, and a real EVM (go-ethereum's simulated backend, served over
// HTTP as the front door's downstream node) executes what they signed.
//
// It is a Go module of its own, apart from ../ (whose Prysm pins an older go-ethereum), and it
// must never import the product's packages: it meets the product as a user does, through the
// binary named by MPCSIGNER_BIN, its CLI, devnet.json and HTTP. Without MPCSIGNER_BIN the
// tests skip.
package ethereum
