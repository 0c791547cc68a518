// Package chains holds interop tests that check each chain's signed transactions with that
// chain's own Go library (the SDK its wallets use, listed in go.mod), against a devnet of the
// mpcsigner binary: the devnet signs, and the chain's library decodes the result and verifies
// its signature, independently of the product's code.
//
// It is a Go module of its own so that those libraries' dependency graphs stay out of the
// product's go.mod, and it must never import the product's packages: it meets the product as
// a user does, through the binary named by MPCSIGNER_BIN (started by ../harness), its CLI,
// devnet.json and HTTP. Without MPCSIGNER_BIN the tests skip; make interop runs them.
package chains
