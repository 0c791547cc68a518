// Package interop drives real third-party clients (used as libraries) against a devnet of the
// mpcsigner binary. It is its own Go module so that those clients' large dependency graphs
// stay out of the product's go.mod.
//
// It must never import the product's packages: it meets the product as a user does, through
// the binary named by MPCSIGNER_BIN, its CLI, devnet.json and HTTP. Without MPCSIGNER_BIN
// the tests skip; make interop builds the binary and runs them.
//
// The modules under this directory:
//
//	.           Prysm's Web3Signer client (this package)
//	ethereum/   go-ethereum's external-signer and JSON-RPC clients, and its EVM
//	chains/     each chain's own Go library checking what the devnet signed for it
//	harness/    the devnet harness the others share: it starts `mpcsigner devnet`, runs the
//	            CLI, calls the native API and records HTTP exchanges. Standard library only;
//	            each module requires it with a replace of its directory, because modules
//	            cannot share test code.
package interop
