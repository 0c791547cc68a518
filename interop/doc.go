// Package interop drives real third-party clients (used as libraries) against a devnet of the
// mpcsigner binary. It is its own Go module so that those clients' large dependency graphs
// stay out of the product's go.mod.
//
// It must never import the product's packages: it meets the product as a user does, through
// the binary named by MPCSIGNER_BIN, its CLI, devnet.json and HTTP. Without MPCSIGNER_BIN
// the tests skip.
package interop
