// The devnet harness the interop modules share: it starts devnets of the mpcsigner binary and
// talks to them. Standard library only, so that requiring it adds nothing to a module's graph.
module github.com/mpcsigner/mpcsigner/interop/harness

go 1.26
