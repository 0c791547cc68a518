package bitcoin

import (
	"github.com/btcsuite/btcd/chaincfg"
)

// Network is one network of a chain that spends with Bitcoin's script and sighash rules:
// its name in the API and the parameters its addresses are encoded with. Of the parameters,
// only the address prefixes are used here (Bech32HRPSegwit above all); the sighash does not
// depend on the network.
type Network struct {
	name   string
	params *chaincfg.Params
}

// NewNetwork names a network with its parameters. Chains other than Bitcoin that share its
// rules (chains/litecoin) build their networks with it.
func NewNetwork(name string, params *chaincfg.Params) *Network {
	return &Network{name: name, params: params}
}

// Name is the network's name in the API ("mainnet", "regtest", ...).
func (n *Network) Name() string { return n.name }

// Params are the network's parameters. They are shared: do not modify them.
func (n *Network) Params() *chaincfg.Params { return n.params }

// Bitcoin's networks, the default first. "testnet" is testnet3, as Bitcoin Core's
// -testnet; signet is the default public signet.
var (
	Mainnet = NewNetwork("mainnet", &chaincfg.MainNetParams)
	Testnet = NewNetwork("testnet", &chaincfg.TestNet3Params)
	Signet  = NewNetwork("signet", &chaincfg.SigNetParams)
	Regtest = NewNetwork("regtest", &chaincfg.RegressionNetParams)
)
