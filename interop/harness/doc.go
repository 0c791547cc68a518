// Package harness starts devnets of the mpcsigner binary for the interop tests and talks to
// them as a user does: it runs `mpcsigner devnet` (the binary named by MPCSIGNER_BIN) on free
// ports in a test's temporary directory, reads its devnet.json, runs the binary's CLI against
// it, calls its native API with the devnet's bearer token, and records the HTTP exchanges a
// third-party client makes so that a failure shows what went over the wire.
//
// The interop tests are Go modules of their own (../, ../ethereum, ../chains), each with the
// dependency graph of the clients it drives. Modules cannot share test code, so the harness
// is this small module, standard library only, which each of them requires through a replace
// of ../harness.
//
// It must never import the product's packages: it meets the product only through the binary,
// its CLI, devnet.json and HTTP. And it must never talk to anything but 127.0.0.1: the devnet
// binds only loopback, and Start refuses a devnet.json that names any other host.
//
// Without MPCSIGNER_BIN every test that asks for the binary skips, saying how to run it
// (make interop in the repository root).
package harness
