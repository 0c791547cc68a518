package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/aptos"
	"github.com/mpcsigner/mpcsigner/chains/bitcoin"
	"github.com/mpcsigner/mpcsigner/chains/cosmos"
	"github.com/mpcsigner/mpcsigner/chains/ethereum"
	"github.com/mpcsigner/mpcsigner/chains/litecoin"
	"github.com/mpcsigner/mpcsigner/chains/solana"
	"github.com/mpcsigner/mpcsigner/chains/stellar"
	"github.com/mpcsigner/mpcsigner/chains/sui"
	"github.com/mpcsigner/mpcsigner/chains/tron"
	"github.com/mpcsigner/mpcsigner/chains/xrpl"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// chainRegistry is every chain the native API signs for.
func chainRegistry() *chains.Registry {
	r, err := chains.NewRegistry(
		bitcoin.Bitcoin(),
		litecoin.Chain(),
		ethereum.Chain(),
		solana.Chain(),
		aptos.Chain(),
		sui.Chain(),
		stellar.Chain(),
		cosmos.Chain(),
		tron.Chain(),
		xrpl.Chain(),
	)
	if err != nil {
		panic(err) // the list above is fixed: a duplicate is a programming error, caught by every test
	}
	return r
}

// keySigner is a chains.Signer for one threshold key: each signature is one signing session
// of the cluster, bounded by the sign timeout.
type keySigner struct {
	h    *Host
	key  *wire.KeyInfo // for a derived key, with the child's public key
	pub  []byte
	path string // the derivation path below the key, if any
}

func (h *Host) signerFor(key *wire.KeyInfo) (*keySigner, error) {
	pub, err := hex.DecodeString(key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s has an unreadable public key: %w", key.ID, ErrInternal)
	}
	return &keySigner{h: h, key: key, pub: pub}, nil
}

func (s *keySigner) Scheme() protocol.Scheme { return s.key.Scheme }
func (s *keySigner) PublicKey() []byte       { return append([]byte(nil), s.pub...) }

func (s *keySigner) SignDigest(ctx context.Context, digest [32]byte) (chains.Signature, error) {
	return s.sign(ctx, signPayload{bytes: digest[:]})
}

func (s *keySigner) SignMessage(ctx context.Context, msg []byte) (chains.Signature, error) {
	if len(msg) > api.MaxMessageBytes {
		return chains.Signature{}, chains.Invalid("the message to sign is %d bytes, over the limit of %d", len(msg), api.MaxMessageBytes)
	}
	return s.sign(ctx, signPayload{bytes: msg, isMessage: true})
}

func (s *keySigner) sign(ctx context.Context, p signPayload) (chains.Signature, error) {
	ctx, cancel := context.WithTimeout(ctx, s.h.cfg.Timeouts.Sign)
	defer cancel()
	p.path = s.path
	resp, err := s.h.signKey(ctx, s.key, p, nil)
	if err != nil {
		return chains.Signature{}, err
	}
	sig, err := hex.DecodeString(resp.Signature)
	if err != nil {
		return chains.Signature{}, fmt.Errorf("the cluster returned an unreadable signature: %w", ErrInternal)
	}
	out := chains.Signature{Sig: sig}
	if resp.RecoveryID != nil {
		out.RecoveryID = *resp.RecoveryID
	}
	return out, nil
}

// Chains lists the chains the host signs for.
func (h *Host) Chains() []api.ChainInfo {
	var out []api.ChainInfo
	for _, name := range h.chains.Names() {
		c, _ := h.chains.Lookup(name)
		info := api.ChainInfo{Name: name, Networks: c.Networks()}
		for _, s := range c.Schemes() {
			info.Schemes = append(info.Schemes, string(s))
		}
		out = append(out, info)
	}
	return out
}

// Address returns a key's address on a chain.
func (h *Host) Address(ctx context.Context, ref, chainName, network, path string) (*api.Address, error) {
	c, err := h.chains.Lookup(chainName)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	key, err := h.findKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if key, err = h.childKey(ctx, key, path); err != nil {
			return nil, err
		}
	}
	if network == "" && len(c.Networks()) > 0 {
		network = c.Networks()[0]
	}
	pub, err := hex.DecodeString(key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s has an unreadable public key: %w", key.ID, ErrInternal)
	}
	addr, err := c.Address(key.Scheme, pub, network)
	if err != nil {
		return nil, err
	}
	return &api.Address{KeyID: key.ID, Chain: c.Name(), Network: network, Address: addr, Path: path}, nil
}

// SignTransaction signs an unsigned transaction of a chain with a key.
func (h *Host) SignTransaction(ctx context.Context, chainName string, req api.ChainSignRequest) (*api.ChainSignResponse, error) {
	c, err := h.chains.Lookup(chainName)
	if err != nil {
		return nil, err
	}
	if len(req.Transaction) > chains.MaxTransactionBytes {
		return nil, chains.Invalid("transaction of %d bytes is over the limit of %d", len(req.Transaction), chains.MaxTransactionBytes)
	}
	if req.Transaction == "" || req.Key == "" {
		return nil, fmt.Errorf("key and transaction are required: %w", ErrBadRequest)
	}
	lookup, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	key, err := h.findKey(lookup, req.Key)
	cancel()
	if err != nil {
		return nil, err
	}
	if err := chains.CheckScheme(c, key.Scheme); err != nil {
		return nil, err
	}
	if req.Path != "" {
		derive, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen)
		key, err = h.childKey(derive, key, req.Path)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	signer, err := h.signerFor(key)
	if err != nil {
		return nil, err
	}
	signer.path = req.Path
	network := req.Network
	signed, err := c.Sign(ctx, signer, chains.SignRequest{Transaction: req.Transaction, Network: network})
	if err != nil {
		return nil, err
	}
	return &api.ChainSignResponse{
		KeyID: key.ID, Chain: c.Name(), Network: network,
		Transaction: signed.Transaction, TxID: signed.TxID, Signature: signed.Signature,
	}, nil
}

func (h *Host) handleChains(w http.ResponseWriter, r *http.Request) (any, error) {
	return api.ChainList{Chains: h.Chains()}, nil
}

func (h *Host) handleAddress(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	if q.Get("chain") == "" {
		return nil, fmt.Errorf("the chain query parameter is required (GET %s lists the chains): %w", api.PathChains, ErrBadRequest)
	}
	return h.Address(r.Context(), r.PathValue("key"), q.Get("chain"), q.Get("network"), q.Get("path"))
}

func (h *Host) handleChainSign(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.ChainSignRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.SignTransaction(r.Context(), r.PathValue("chain"), req)
}
