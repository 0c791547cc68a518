package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// derivable reports whether keys of a scheme have non-hardened derivation below them.
func derivable(s protocol.Scheme) bool { return s == protocol.SchemeECDSASecp256k1 }

// drawChainCode has every holder of a key draw its secret chain code together, and returns the
// key as they then describe it. Every holder must answer with the same chain code id.
func (h *Host) drawChainCode(ctx context.Context, key *wire.KeyInfo) (*wire.KeyInfo, error) {
	if down := h.unreachable(key.Parties); len(down) > 0 {
		return nil, fmt.Errorf("every holder of key %s draws its chain code, and %s unreachable: %w", key.ID, describeParties(down), ErrQuorum)
	}
	args := wire.PrepareArgs{Session: newSessionID(), Kind: wire.KindChainCode, Scheme: key.Scheme, Parties: slices.Clone(key.Parties), KeyID: key.ID}
	results, err := h.runSession(ctx, args)
	if err != nil {
		return nil, err
	}
	var out *wire.KeyInfo
	for _, p := range key.Parties {
		r := results[p]
		if r == nil || r.Key == nil || r.Key.ChainCodeID == "" {
			return nil, fmt.Errorf("%s did not report the chain code of key %s: %w", p, key.ID, ErrInternal)
		}
		if out != nil && r.Key.ChainCodeID != out.ChainCodeID {
			return nil, fmt.Errorf("the holders of key %s disagree on its chain code: %w", key.ID, ErrProtocol)
		}
		out = r.Key
	}
	return out, nil
}

// withChainCode returns the key with its chain code drawn (drawing it first for a key made
// before derivation existed, or whose first draw failed).
func (h *Host) withChainCode(ctx context.Context, key *wire.KeyInfo) (*wire.KeyInfo, error) {
	if !derivable(key.Scheme) {
		return nil, fmt.Errorf("key %s is %s: only ecdsa-secp256k1 keys have non-hardened derivation below them (BIP32 has none for Ed25519, EIP-2333 none for BLS): %w", key.ID, key.Scheme, ErrBadRequest)
	}
	if key.ChainCodeID != "" {
		return key, nil
	}
	return h.drawChainCode(ctx, key)
}

// deriveAt asks a holder of the key for its child public key at path (and the xpub when asked).
func (h *Host) deriveAt(ctx context.Context, key *wire.KeyInfo, path, xpub string) (*wire.DeriveReply, error) {
	var lastErr error
	for _, p := range h.partyOrder() {
		if !slices.Contains(key.Parties, p) || !h.reachable(p) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
		body, err := h.callParty(cctx, p, wire.MethodKeyDerive, wire.DeriveArgs{Key: key.ID, Path: path, XPub: xpub})
		cancel()
		if err != nil {
			lastErr = fromRemote(p, err)
			if errors.Is(lastErr, ErrBadRequest) {
				return nil, lastErr
			}
			continue
		}
		var r wire.DeriveReply
		if err := wire.DecodeJSON(body, &r); err != nil {
			return nil, fmt.Errorf("%s returned an unreadable derived key: %w", p, ErrInternal)
		}
		return &r, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no holder of key %s is reachable: %w", key.ID, ErrQuorum)
	}
	return nil, lastErr
}

// childKey is key as seen at a derivation path: the same key, with the child's public key.
// Signing with it (signPayload.path) signs for the child.
func (h *Host) childKey(ctx context.Context, key *wire.KeyInfo, path string) (*wire.KeyInfo, error) {
	key, err := h.withChainCode(ctx, key)
	if err != nil {
		return nil, err
	}
	r, err := h.deriveAt(ctx, key, path, "")
	if err != nil {
		return nil, err
	}
	child := *key
	child.PublicKey = r.PublicKey
	return &child, nil
}

// XPub returns the extended public key of a key at a path, for watch-only wallets. It reveals
// the chain code below that path: anyone holding it and one child private key could compute
// the parent's, which is why no child private key ever exists outside the enclaves.
func (h *Host) XPub(ctx context.Context, ref, path, network string) (*api.XPub, error) {
	if path == "" {
		path = "m"
	}
	if network == "" {
		network = "mainnet"
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen)
	defer cancel()
	key, err := h.findKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if key, err = h.withChainCode(ctx, key); err != nil {
		return nil, err
	}
	r, err := h.deriveAt(ctx, key, path, network)
	if err != nil {
		return nil, err
	}
	return &api.XPub{KeyID: key.ID, Path: r.Path, Network: network, PublicKey: r.PublicKey, XPub: r.XPub}, nil
}

func (h *Host) handleXPub(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	return h.XPub(r.Context(), r.PathValue("key"), q.Get("path"), q.Get("network"))
}
