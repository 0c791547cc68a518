package host

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
	"github.com/mpcsigner/mpcsigner/web3signer"
)

// keyLocks lets signings with a key run together while a reshare of the key through this host
// waits for them, and makes them wait until the reshare has switched every party to the new
// shares. Hosts do not share these locks: a signing through another host during the switch
// meets a party at another epoch, is refused as stale, and retries with the key looked up
// again (signKey).
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.RWMutex
}

func (l *keyLocks) get(id string) *sync.RWMutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = map[string]*sync.RWMutex{}
	}
	m := l.locks[id]
	if m == nil {
		m = &sync.RWMutex{}
		l.locks[id] = m
	}
	return m
}

func (l *keyLocks) read(id string) (unlock func()) {
	m := l.get(id)
	m.RLock()
	return m.RUnlock
}

func (l *keyLocks) write(id string) (unlock func()) {
	m := l.get(id)
	m.Lock()
	return m.Unlock
}

// freshestKey asks every reachable party for a key and returns the description of the latest
// epoch: after a reshare, a party that missed it still describes the old one.
func (h *Host) freshestKey(ctx context.Context, ref string) (*wire.KeyInfo, error) {
	return h.lookKeyUp(ctx, ref, true)
}

// Reshare moves a key to fresh shares with the same public key: with an empty request a
// refresh of the same committee, otherwise a committee change to the parties and threshold
// asked. Signings with the key through this host wait while it runs. Afterwards, parties that
// held the key and are not in the new committee are asked to erase their shares; one that
// cannot be reached keeps a share that no current party will sign with (its epoch is old).
func (h *Host) Reshare(ctx context.Context, ref string, req api.ReshareRequest) (*api.Key, error) {
	key, err := h.freshestKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	unlock := h.keyLocks.write(key.ID)
	defer unlock()
	// Look again under the lock: a reshare that finished while we waited changed it.
	if key, err = h.freshestKey(ctx, key.ID); err != nil {
		return nil, err
	}
	args, err := h.reshareArgs(ctx, key, req)
	if err != nil {
		return nil, err
	}
	args.Approvals = wireApprovals(req.Approvals)
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen)
	defer cancel()
	results, err := h.runSession(ctx, args)
	if err != nil {
		return nil, err
	}
	var out *wire.KeyInfo
	for _, p := range args.Reshare.NewParties {
		r := results[p]
		if r == nil || r.Key == nil || r.Key.PublicKey != key.PublicKey || r.Key.Epoch != key.Epoch+1 {
			return nil, fmt.Errorf("%s did not return the reshared key at epoch %d: %w", p, key.Epoch+1, ErrInternal)
		}
		out = r.Key
	}
	h.retireOthers(ctx, key, args)
	h.forgetCachedKey(*key)
	h.log.Info("key reshared", "key_id", key.ID, "epoch", out.Epoch, "threshold", out.Threshold, "parties", fmt.Sprint(out.Parties))
	apiKey := toAPIKey(*out)
	return &apiKey, nil
}

// reshareArgs checks a reshare request against the key and the cluster, and chooses the
// dealers: threshold-many usable holders, preferring those that stay in the committee.
func (h *Host) reshareArgs(ctx context.Context, key *wire.KeyInfo, req api.ReshareRequest) (wire.PrepareArgs, error) {
	newParties, threshold, err := h.committee(req.Parties, req.Threshold, key.Parties, key.Threshold, "new parties")
	if err != nil {
		return wire.PrepareArgs{}, err
	}
	if key.Scheme == protocol.SchemeBLS12381 {
		if err := checkBLSThreshold(threshold, len(newParties)); err != nil {
			return wire.PrepareArgs{}, err
		}
	}
	if down := h.unreachable(newParties); len(down) > 0 {
		return wire.PrepareArgs{}, fmt.Errorf("every new party must take part, and %s unreachable: %w", describeParties(down), ErrQuorum)
	}
	if needsPreParams(key.Scheme) {
		if waiting := h.withoutPreParams(newParties); len(waiting) > 0 {
			return wire.PrepareArgs{}, fmt.Errorf("%s still generating pre-parameters, which every new party of an ECDSA key needs; try again shortly: %w", describeParties(waiting), ErrNotReady)
		}
	}
	dealers := h.chooseDealers(h.currentHolders(ctx, key), key.Threshold, newParties)
	if len(dealers) < key.Threshold {
		return wire.PrepareArgs{}, fmt.Errorf("key %s needs %d of its holders %v to deal, and only %d are reachable with its current share: %w", key.ID, key.Threshold, key.Parties, len(dealers), ErrQuorum)
	}
	participants := append(slices.Clone(dealers), newParties...)
	slices.Sort(participants)
	return wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindReshare, Scheme: key.Scheme, KeyID: key.ID, Label: key.Label,
		Parties: slices.Compact(participants),
		Reshare: &wire.ReshareArgs{
			OldParties: dealers, NewParties: newParties, NewThreshold: threshold,
			PublicKey: key.PublicKey, Epoch: key.Epoch, Created: key.Created, PKCS11ID: key.PKCS11ID,
		},
	}, nil
}

// currentHolders asks each usable holder of the key whether it holds the key's current share:
// a party that lost its sealed state (a replaced enclave) holds nothing, and one that missed a
// reshare holds an old share. Neither can deal; both can receive, which is how a lost party is
// restored: the others refresh the key to it.
func (h *Host) currentHolders(ctx context.Context, key *wire.KeyInfo) []protocol.PartyID {
	var out []protocol.PartyID
	for _, p := range key.Parties {
		if !h.usable(p) {
			continue
		}
		if info, err := h.askParty(ctx, p, key.ID); err == nil && info.Epoch == key.Epoch && info.PublicKey == key.PublicKey {
			out = append(out, p)
		}
	}
	return out
}

// chooseDealers picks threshold-many of the current holders, those staying in the committee
// first (they then play both parts of the run and fewer parties take part).
func (h *Host) chooseDealers(holders []protocol.PartyID, threshold int, newParties []protocol.PartyID) []protocol.PartyID {
	var staying, leaving []protocol.PartyID
	for _, p := range h.partyOrder() {
		if !slices.Contains(holders, p) {
			continue
		}
		if slices.Contains(newParties, p) {
			staying = append(staying, p)
		} else {
			leaving = append(leaving, p)
		}
	}
	dealers := append(staying, leaving...)
	if len(dealers) > threshold {
		dealers = dealers[:threshold]
	}
	slices.Sort(dealers)
	return dealers
}

// retireOthers asks every former holder that is not in the new committee (whether it dealt or
// not) to erase its share, now that every new party has saved its new one.
func (h *Host) retireOthers(ctx context.Context, key *wire.KeyInfo, args wire.PrepareArgs) {
	for _, p := range key.Parties {
		if slices.Contains(args.Reshare.NewParties, p) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
		_, err := h.callParty(cctx, p, wire.MethodKeyRetire, wire.KeyRetireArgs{Key: key.ID, Epoch: key.Epoch + 1})
		cancel()
		if err != nil {
			h.log.Warn("a former holder of a reshared key did not erase its share; no current party signs with it, retire it when it is back", "key_id", key.ID, "party", p, "err", err)
		}
	}
}

// forgetCachedKey drops what the front doors cached about a key whose shares changed.
func (h *Host) forgetCachedKey(key wire.KeyInfo) {
	h.keyCache.forget(key.ID)
	if h.eth2 == nil || key.Scheme != protocol.SchemeBLS12381 {
		return
	}
	if pk, err := web3signer.ParsePublicKey(key.PublicKey); err == nil {
		h.eth2.forget(pk)
	}
}

// wireApprovals passes an API approval on to the enclaves as it is.
func wireApprovals(a *api.Approvals) *wire.Approvals {
	if a == nil {
		return nil
	}
	return &wire.Approvals{Statement: a.Statement, Approvals: a.Approvals}
}

func needsPreParams(s protocol.Scheme) bool {
	return s == protocol.SchemeECDSASecp256k1 || s == protocol.SchemeECDSAP256
}

func (h *Host) handleReshare(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.ReshareRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.Reshare(r.Context(), r.PathValue("key"), req)
}

// refreshLoop refreshes the configured keys on schedule until ctx ends.
func (h *Host) refreshLoop(ctx context.Context) {
	every := h.cfg.Refresh.Every
	if every == 0 {
		return
	}
	h.log.Info("scheduled share refreshes", "every", every.String(), "keys", fmt.Sprint(h.cfg.Refresh.Keys))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.refreshScheduled(ctx)
		}
	}
}

// refreshScheduled refreshes each scheduled key once, logging each outcome.
func (h *Host) refreshScheduled(ctx context.Context) {
	refs := h.cfg.Refresh.Keys
	if len(refs) == 0 {
		keys, err := h.listKeyInfos(ctx)
		if err != nil {
			h.log.Warn("scheduled refresh: listing keys", "err", err)
			return
		}
		for _, k := range keys {
			refs = append(refs, k.ID)
		}
	}
	for _, ref := range refs {
		key, err := h.Reshare(ctx, ref, api.ReshareRequest{})
		if err != nil {
			h.log.Warn("scheduled refresh failed", "key", ref, "err", err)
			continue
		}
		h.log.Info("scheduled refresh done", "key_id", key.ID, "epoch", key.Epoch)
	}
}
