package bitcoin

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Chain is a chain that spends with Bitcoin's script and sighash rules (Bitcoin itself,
// Litecoin), as a chains.Chain. Its transactions are base64 PSBTs (BIP174 version 0).
type Chain struct {
	name string
	nets []*Network
}

// NewChain is the chain name with its networks, the default first.
func NewChain(name string, nets ...*Network) (*Chain, error) {
	if len(nets) == 0 {
		return nil, fmt.Errorf("bitcoin: chain %q has no networks", name)
	}
	seen := map[string]bool{}
	for _, n := range nets {
		if n == nil || n.name == "" || n.params == nil || n.params.Bech32HRPSegwit == "" {
			return nil, fmt.Errorf("bitcoin: chain %q: a network lacks a name or a bech32 prefix", name)
		}
		if seen[n.name] {
			return nil, fmt.Errorf("bitcoin: chain %q: network %q given twice", name, n.name)
		}
		seen[n.name] = true
	}
	return &Chain{name: name, nets: append([]*Network(nil), nets...)}, nil
}

var bitcoinChain = mustChain(NewChain("bitcoin", Mainnet, Testnet, Signet, Regtest))

func mustChain(c *Chain, err error) *Chain {
	if err != nil {
		panic(err)
	}
	return c
}

// Bitcoin is Bitcoin: mainnet (the default), testnet, signet and regtest.
func Bitcoin() *Chain { return bitcoinChain }

func (c *Chain) Name() string { return c.name }

// Schemes are ECDSA (P2WPKH addresses) first, then BIP340 (P2TR key-path addresses).
func (c *Chain) Schemes() []protocol.Scheme {
	return []protocol.Scheme{protocol.SchemeECDSASecp256k1, protocol.SchemeBIP340}
}

func (c *Chain) Networks() []string {
	names := make([]string, len(c.nets))
	for i, n := range c.nets {
		names[i] = n.name
	}
	return names
}

// Network is the network named name ("" for the default), or an ErrInvalid error listing
// the chain's networks.
func (c *Chain) Network(name string) (*Network, error) {
	if name == "" {
		return c.nets[0], nil
	}
	for _, n := range c.nets {
		if n.name == name {
			return n, nil
		}
	}
	return nil, chains.Invalid("chain %s has no network %q: it has %v", c.name, name, c.Networks())
}

// Address is the P2WPKH address of an ECDSA key or the P2TR address of a BIP340 output key.
func (c *Chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	net, err := c.Network(network)
	if err != nil {
		return "", err
	}
	if scheme == protocol.SchemeBIP340 {
		return P2TRAddress(net, pub)
	}
	return P2WPKHAddress(net, pub)
}

// Sign signs, with s, the inputs of a base64 PSBT that spend s's address, finalizes them,
// and returns the updated PSBT in base64; TxID is set when every input is then final. A
// PSBT with no input of s's is refused. Signature is the last signature made, as the PSBT
// carries it. Larger PSBTs (up to MaxPSBTBytes) and several keys at once go through
// SignPSBT.
func (c *Chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if err := chains.CheckScheme(c, s.Scheme()); err != nil {
		return nil, err
	}
	net, err := c.Network(req.Network)
	if err != nil {
		return nil, err
	}
	if len(req.Transaction) > chains.MaxTransactionBytes {
		return nil, chains.Invalid("transaction: %d characters is over the %d limit", len(req.Transaction), chains.MaxTransactionBytes)
	}
	raw, err := DecodePSBT(req.Transaction)
	if err != nil {
		return nil, err
	}
	res, err := SignPSBT(ctx, net, []Key{{ID: "signer", Signer: s}}, raw, SignOptions{Finalize: true})
	if err != nil {
		return nil, err
	}
	if len(res.Signatures) == 0 {
		addr, _ := c.Address(s.Scheme(), s.PublicKey(), net.name)
		return nil, chains.Invalid("transaction: no input of this PSBT spends %s, the key's address", addr)
	}
	return &chains.Signed{
		Transaction: EncodePSBT(res.PSBT),
		TxID:        res.TxID,
		Signature:   hex.EncodeToString(res.Signatures[len(res.Signatures)-1].Signature),
	}, nil
}
