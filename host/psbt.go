package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/bitcoin"
	"github.com/mpcsigner/mpcsigner/chains/litecoin"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// SignPSBT signs the inputs of a PSBT that spend outputs of the cluster's keys (all of them,
// or those req.Keys names); the bitcoin package decides which inputs those are and computes
// every sighash from the PSBT's own UTXO data.
func (h *Host) SignPSBT(ctx context.Context, req api.PSBTRequest) (*api.PSBTResponse, error) {
	if req.PSBT == "" {
		return nil, fmt.Errorf("psbt is required: %w", ErrBadRequest)
	}
	raw, err := bitcoin.DecodePSBT(req.PSBT)
	if err != nil {
		return nil, err
	}
	net, err := psbtNetwork(req.Chain, req.Network)
	if err != nil {
		return nil, err
	}
	keys, err := h.psbtKeys(ctx, req.Keys)
	if err != nil {
		return nil, err
	}
	res, err := bitcoin.SignPSBT(ctx, net, keys, raw, bitcoin.SignOptions{Finalize: req.Finalize})
	if err != nil {
		return nil, err
	}
	out := &api.PSBTResponse{PSBT: bitcoin.EncodePSBT(res.PSBT), SignedInputs: res.SignedInputs, Complete: res.Complete}
	if out.SignedInputs == nil {
		out.SignedInputs = []int{}
	}
	if res.Tx != nil {
		out.Transaction = hex.EncodeToString(res.Tx)
	}
	return out, nil
}

// psbtKeys is every key that can own a Bitcoin output (ECDSA secp256k1 and BIP340), or the
// ones named.
func (h *Host) psbtKeys(ctx context.Context, named []string) ([]bitcoin.Key, error) {
	lookup, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	var infos []wire.KeyInfo
	if len(named) == 0 {
		all, err := h.listKeyInfos(lookup)
		if err != nil {
			return nil, err
		}
		infos = all
	}
	for _, ref := range named {
		info, err := h.findKey(lookup, ref)
		if err != nil {
			return nil, err
		}
		if !bitcoinScheme(info.Scheme) {
			return nil, chains.Invalid("key %s is %s: Bitcoin outputs are owned by ecdsa-secp256k1 (P2WPKH) and bip340 (P2TR) keys", ref, info.Scheme)
		}
		infos = append(infos, *info)
	}
	var out []bitcoin.Key
	for i := range infos {
		info := &infos[i]
		if !bitcoinScheme(info.Scheme) || slices.ContainsFunc(out, func(k bitcoin.Key) bool { return k.ID == info.ID }) {
			continue
		}
		signer, err := h.signerFor(info)
		if err != nil {
			return nil, err
		}
		out = append(out, bitcoin.Key{ID: info.ID, Signer: signer, InternalKey: checkedInternalKey(info)})
	}
	return out, nil
}

func bitcoinScheme(s protocol.Scheme) bool {
	return s == protocol.SchemeECDSASecp256k1 || s == protocol.SchemeBIP340
}

// checkedInternalKey is a BIP340 key's internal key when it does tweak (BIP86) to the key's
// output key, and nil otherwise: the enclaves report it, but a PSBT must not name an internal
// key the output does not commit to.
func checkedInternalKey(info *wire.KeyInfo) []byte {
	if info.Scheme != protocol.SchemeBIP340 || info.InternalKey == "" {
		return nil
	}
	internal, err := hex.DecodeString(info.InternalKey)
	if err != nil {
		return nil
	}
	p, err := schnorr.ParsePubKey(internal)
	if err != nil {
		return nil
	}
	if hex.EncodeToString(schnorr.SerializePubKey(txscript.ComputeTaprootKeyNoScript(p))) != info.PublicKey {
		return nil
	}
	return internal
}

func (h *Host) handlePSBT(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.PSBTRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.SignPSBT(r.Context(), req)
}

// psbtChains are the chains whose PSBTs the endpoint signs, by name ("" is bitcoin).
var psbtChains = map[string]func() *bitcoin.Chain{"": bitcoin.Bitcoin, "bitcoin": bitcoin.Bitcoin, "litecoin": litecoin.Chain}

// psbtNetwork is the network a PSBT is signed for; it names addresses in errors (the bytes
// signed do not depend on it).
func psbtNetwork(chain, network string) (*bitcoin.Network, error) {
	c, ok := psbtChains[chain]
	if !ok {
		return nil, chains.Invalid("chain %q has no PSBTs here: use bitcoin or litecoin", chain)
	}
	return c().Network(network)
}
