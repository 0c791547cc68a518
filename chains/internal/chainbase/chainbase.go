// Package chainbase is the part of a chains.Chain that reads the same in every chain package:
// the name, key schemes and networks a chain describes itself with, and the check of a
// request's key scheme and network against them.
//
// It must never hold a key, do I/O, or hold anything chain-specific: each chain package says
// what its name, schemes and networks are, and does its own addresses and signing.
package chainbase

import (
	"slices"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Info is what a chain describes itself with. A chain's type embeds it to have the Name,
// Schemes and Networks methods of chains.Chain; a zero Info describes no chain, so chain
// values are made from the package's Info, never as a zero value.
type Info struct {
	name     string
	schemes  []protocol.Scheme
	networks []string
}

// New returns the Info of the chain name, which takes keys of schemes (preferred first) on
// networks (the default first).
func New(name string, schemes []protocol.Scheme, networks ...string) Info {
	return Info{name: name, schemes: slices.Clone(schemes), networks: slices.Clone(networks)}
}

// Name is the chain's name in the API and the CLI.
func (i Info) Name() string { return i.name }

// Schemes lists the key schemes the chain accepts, preferred first; the caller may keep or
// change the slice.
func (i Info) Schemes() []protocol.Scheme { return slices.Clone(i.schemes) }

// Networks lists the chain's networks, the default first; the caller may keep or change the
// slice.
func (i Info) Networks() []string { return slices.Clone(i.networks) }

// Check refuses a key scheme c does not use and a network c does not have, with
// chains.CheckScheme's and chains.CheckNetwork's errors, and returns the network to use (the
// default for "").
func Check(c chains.Chain, scheme protocol.Scheme, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	return chains.CheckNetwork(c, network)
}
