package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/chains/eth2"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
	"github.com/mpcsigner/mpcsigner/web3signer"
)

// eth2Backend serves the Web3Signer API from this host's cluster. A BLS signature needs no
// interaction between enclaves: each of t signers checks the request against its own slashing
// protection and returns a partial signature, and the host (which holds nothing secret)
// combines them and verifies the result.
type eth2Backend struct {
	h *Host
	// verifier checks combined signatures in batches across concurrent requests: under load
	// that halves the host's CPU per signature.
	verifier *bls.BatchVerifier
	// partials groups concurrent eth2.sign calls to one party into eth2.sign.batch calls;
	// nil when batching is off.
	partials *coalescer[protocol.PartyID, wire.Eth2SignArgs, []byte]

	mu   sync.Mutex
	keys map[web3signer.PublicKey]*eth2Key
}

// eth2Key is what the host caches about a validator key: its public description and the
// public shares that combine partials. Both are public; a stale entry costs at most a failed
// signature, which evicts it.
type eth2Key struct {
	info  wire.KeyInfo
	group *bls.GroupKey
}

func newEth2Backend(h *Host) *eth2Backend {
	b := &eth2Backend{h: h, keys: map[web3signer.PublicKey]*eth2Key{}, verifier: bls.NewBatchVerifier(64)}
	if cfg := h.cfg.Batch.withDefaults(); !cfg.Disabled {
		b.partials = newCoalescer(min(cfg.MaxSize, wire.MaxEth2Batch), cfg.InFlight, b.askBatch)
	}
	return b
}

// Sign has t enclaves each check and sign req, and combines their partial signatures.
func (b *eth2Backend) Sign(ctx context.Context, pk web3signer.PublicKey, req *eth2.Request, root [32]byte, net *eth2.Network) ([]byte, error) {
	sig, err := b.sign(ctx, pk, req, root, net)
	return sig, toWeb3SignerError(err)
}

func (b *eth2Backend) sign(ctx context.Context, pk web3signer.PublicKey, req *eth2.Request, root [32]byte, net *eth2.Network) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.h.cfg.Timeouts.Sign)
	defer cancel()
	key, err := b.key(ctx, pk)
	if err != nil {
		return nil, err
	}
	args := wire.Eth2SignArgs{
		PublicKey:          hex.EncodeToString(pk[:]),
		Request:            req.Canonical(),
		GenesisForkVersion: hex.EncodeToString(net.GenesisForkVersion[:]),
	}
	if x := net.VoluntaryExitFork; x != nil {
		epoch := uint64(x.DenebForkEpoch)
		args.ExitDenebEpoch, args.ExitCapellaVersion = &epoch, hex.EncodeToString(x.CapellaForkVersion[:])
	}
	partials, err := b.collectPartials(ctx, key, args, req.Slashable().Kind != eth2.SlashNone)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// A party we cached as a holder holds nothing now (the key's committee shrank
			// through another host): the next request looks the key up again.
			b.forget(pk)
		}
		return nil, err
	}
	sig, err := key.group.CombineWith(b.verifier, root[:], partials)
	if err != nil {
		if again := b.reloaded(ctx, pk, key); again != nil {
			// The key was reshared since we cached its public shares (through another host):
			// the partials are of the new shares, so combine them with the new public shares.
			key = again
			sig, err = key.group.CombineWith(b.verifier, root[:], partials)
		}
	}
	if err != nil {
		b.forget(pk)
		if c := protocol.Culprits(err); len(c) > 0 {
			return nil, &culpritError{party: b.h.cfg.Party, remote: &wire.RemoteError{Code: wire.CodeProtocol, Message: err.Error(), Culprits: c}}
		}
		return nil, fmt.Errorf("combining partial signatures for %s: %v: %w", pk, err, ErrProtocol)
	}
	return sig, nil
}

// collectPartials gathers threshold-many partial signatures, replacing any party that cannot
// answer by another holder while one is left. A refusal by any enclave's rules ends the request:
// those rules are the point.
//
// For a slashable message (a block or an attestation) the first usable holder in party order is
// asked alone, and the others only once it has agreed. Every host uses the same order, so of
// several conflicting requests racing through different hosts the one that party records first
// is the one that completes: exactly one signature, not none because each signer recorded a
// different one. Safety does not depend on it (any two signer sets share a party that refuses
// the second message); this only keeps conflicting requests from starving each other.
func (b *eth2Backend) collectPartials(ctx context.Context, key *eth2Key, args wire.Eth2SignArgs, slashable bool) (map[protocol.PartyID][]byte, error) {
	t := key.info.Threshold
	partials := map[protocol.PartyID][]byte{}
	var excluded []protocol.PartyID
	var lastErr error
	for len(partials) < t {
		candidates := b.candidates(key, partials, excluded)
		need := t - len(partials)
		if len(candidates) < need {
			err := fmt.Errorf("key %s needs %d signers but only %d usable parties are left: %w", key.info.ID, t, len(partials)+len(candidates), ErrQuorum)
			if lastErr != nil {
				err = fmt.Errorf("%w (last failure: %v)", err, lastErr)
			}
			return nil, err
		}
		ask := candidates[:need]
		if slashable && len(partials) == 0 {
			ask = candidates[:1]
		}
		got, errs := b.askPartials(ctx, ask, args)
		for p, partial := range got {
			partials[p] = partial
		}
		for p, err := range errs {
			if errors.Is(err, ErrRefused) || errors.Is(err, ErrBadRequest) || errors.Is(err, ErrNotFound) {
				return nil, err
			}
			excluded = append(excluded, p)
			lastErr = err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("signing did not finish in time: %w", ErrQuorum)
		}
	}
	return partials, nil
}

// candidates lists, in ascending party order (the same at every host), the usable holders of
// the key that have neither answered nor failed yet.
func (b *eth2Backend) candidates(key *eth2Key, done map[protocol.PartyID][]byte, excluded []protocol.PartyID) []protocol.PartyID {
	var out []protocol.PartyID
	for _, p := range key.group.Parties() {
		if _, ok := done[p]; ok || slices.Contains(excluded, p) || !b.h.usable(p) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// askPartials calls eth2.sign on every party of ask at once.
func (b *eth2Backend) askPartials(ctx context.Context, ask []protocol.PartyID, args wire.Eth2SignArgs) (map[protocol.PartyID][]byte, map[protocol.PartyID]error) {
	var mu sync.Mutex
	got := map[protocol.PartyID][]byte{}
	errs := map[protocol.PartyID]error{}
	var wg sync.WaitGroup
	for _, p := range ask {
		wg.Add(1)
		go func() {
			defer wg.Done()
			partial, err := b.askPartial(ctx, p, args)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[p] = err
				return
			}
			got[p] = partial
		}()
	}
	wg.Wait()
	return got, errs
}

// askPartial asks party p for its partial signature: in a batch with other requests to p
// when batching is on.
func (b *eth2Backend) askPartial(ctx context.Context, p protocol.PartyID, args wire.Eth2SignArgs) ([]byte, error) {
	// Large requests (blocks) go alone: a batch of them could pass the frame limit, and they
	// are rare (one per validator per slot it proposes in).
	if b.partials != nil && len(args.Request) <= maxBatchedEth2Request {
		return b.partials.do(ctx, p, args)
	}
	return b.askOne(ctx, p, args)
}

// maxBatchedEth2Request is the largest request body sent in a batch.
const maxBatchedEth2Request = 8 << 10

// askBatch asks party p for the partial signatures of items in one call (one item: eth2.sign).
func (b *eth2Backend) askBatch(p protocol.PartyID, items []wire.Eth2SignArgs) []coalesced[[]byte] {
	ctx, cancel := context.WithTimeout(context.Background(), b.h.cfg.Timeouts.Call)
	defer cancel()
	out := make([]coalesced[[]byte], len(items))
	b.h.metrics.eth2BatchSize.Observe(float64(len(items)))
	if len(items) == 1 {
		out[0].val, out[0].err = b.askOne(ctx, p, items[0])
		return out
	}
	body, err := b.h.callParty(ctx, p, wire.MethodEth2SignBatch, wire.Eth2SignBatch{Items: items})
	var reply wire.Eth2PartialBatch
	switch {
	case err != nil:
		err = fromRemote(p, err)
	case wire.DecodeJSON(body, &reply) != nil || len(reply.Items) != len(items):
		err = &partyError{party: p, err: fmt.Errorf("%s returned an unreadable batch of partial signatures: %w", p, ErrInternal)}
	}
	for i := range out {
		if err != nil {
			out[i].err = err
			continue
		}
		out[i].val, out[i].err = partialOf(p, reply.Items[i])
	}
	return out
}

// partialOf reads one item of a batched reply from p.
func partialOf(p protocol.PartyID, r wire.Eth2PartialResult) ([]byte, error) {
	switch {
	case r.Error != nil && r.Partial == nil:
		return nil, fromRemote(p, &wire.RemoteError{Code: r.Error.Code, Message: r.Error.Message})
	case r.Partial != nil && r.Error == nil:
		return decodePartial(p, r.Partial)
	}
	return nil, &partyError{party: p, err: fmt.Errorf("%s returned an item with neither or both a partial signature and an error: %w", p, ErrInternal)}
}

// askOne asks party p for one partial signature (eth2.sign).
func (b *eth2Backend) askOne(ctx context.Context, p protocol.PartyID, args wire.Eth2SignArgs) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, b.h.cfg.Timeouts.Call)
	defer cancel()
	body, err := b.h.callParty(cctx, p, wire.MethodEth2Sign, args)
	if err != nil {
		return nil, fromRemote(p, err)
	}
	var reply wire.Eth2Partial
	if err := wire.DecodeJSON(body, &reply); err != nil {
		return nil, &partyError{party: p, err: fmt.Errorf("%s returned an unreadable partial signature: %w", p, ErrInternal)}
	}
	return decodePartial(p, &reply)
}

// decodePartial checks a partial signature from p: that it says it is p's, and its size.
func decodePartial(p protocol.PartyID, reply *wire.Eth2Partial) ([]byte, error) {
	if reply.Party != p {
		return nil, &partyError{party: p, err: fmt.Errorf("%s returned a partial signature of %s: %w", p, reply.Party, ErrInternal)}
	}
	partial, err := hex.DecodeString(reply.Partial)
	if err != nil || len(partial) != bls.SignatureSize {
		return nil, &partyError{party: p, err: fmt.Errorf("%s returned a partial signature that is not %d bytes of hex: %w", p, bls.SignatureSize, ErrInternal)}
	}
	return partial, nil
}

// key returns the cached public data of a validator key, fetching it on a miss.
func (b *eth2Backend) key(ctx context.Context, pk web3signer.PublicKey) (*eth2Key, error) {
	b.mu.Lock()
	k := b.keys[pk]
	b.mu.Unlock()
	if k != nil {
		return k, nil
	}
	// The freshest description: a party that missed a reshare still has the old public shares.
	info, err := b.h.freshestKey(ctx, hex.EncodeToString(pk[:]))
	if err != nil {
		return nil, err
	}
	k, err = newEth2Key(*info)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.keys[pk] = k
	b.mu.Unlock()
	return k, nil
}

func newEth2Key(info wire.KeyInfo) (*eth2Key, error) {
	if info.Scheme != protocol.SchemeBLS12381 {
		return nil, fmt.Errorf("key %s is a %s key, not a BLS validator key: %w", info.ID, info.Scheme, ErrNotFound)
	}
	pub, err := hex.DecodeString(info.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s has an unreadable public key: %w", info.ID, ErrInternal)
	}
	shares := map[protocol.PartyID][]byte{}
	for p, s := range info.PublicShares {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("key %s: unreadable public share of %s: %w", info.ID, p, ErrInternal)
		}
		shares[p] = b
	}
	group, err := bls.NewGroupKey(pub, info.Threshold, shares)
	if err != nil {
		return nil, fmt.Errorf("key %s: %v: %w", info.ID, err, ErrInternal)
	}
	return &eth2Key{info: info, group: group}, nil
}

// reloaded fetches the key again and returns it when it is at another epoch than cached
// (nil: not reshared, or not fetchable).
func (b *eth2Backend) reloaded(ctx context.Context, pk web3signer.PublicKey, cached *eth2Key) *eth2Key {
	info, err := b.h.freshestKey(ctx, hex.EncodeToString(pk[:]))
	if err != nil || info.Epoch == cached.info.Epoch {
		return nil
	}
	k, err := newEth2Key(*info)
	if err != nil {
		return nil
	}
	b.mu.Lock()
	b.keys[pk] = k
	b.mu.Unlock()
	return k
}

func (b *eth2Backend) forget(pk web3signer.PublicKey) {
	b.mu.Lock()
	delete(b.keys, pk)
	b.mu.Unlock()
}

// PublicKeys lists the validator keys that can sign (deleted ones are left out).
func (b *eth2Backend) PublicKeys(ctx context.Context) ([]web3signer.PublicKey, error) {
	keys, err := b.h.validatorKeys(ctx)
	if err != nil {
		return nil, toWeb3SignerError(err)
	}
	out := []web3signer.PublicKey{}
	for _, k := range keys {
		if pk, err := web3signer.ParsePublicKey(k.PublicKey); err == nil {
			out = append(out, pk)
		}
	}
	return out, nil
}

// validatorKeys lists the cluster's BLS keys that are not disabled (Keymanager DELETE).
func (h *Host) validatorKeys(ctx context.Context) ([]wire.KeyInfo, error) {
	keys, err := h.listKeyInfos(ctx)
	if err != nil {
		return nil, err
	}
	var out []wire.KeyInfo
	for _, k := range keys {
		if k.Scheme == protocol.SchemeBLS12381 && !k.Disabled {
			out = append(out, k)
		}
	}
	return out, nil
}

// Reload drops the cached key data, so the next request fetches it from the enclaves.
func (b *eth2Backend) Reload(ctx context.Context) error {
	b.mu.Lock()
	clear(b.keys)
	b.mu.Unlock()
	_, err := b.PublicKeys(ctx)
	return err
}

// HighWatermark is the lowest high watermark any reachable enclave enforces: signing stops there.
func (b *eth2Backend) HighWatermark(ctx context.Context) (*web3signer.Watermark, error) {
	return b.h.highWatermark(ctx)
}

func (h *Host) highWatermark(ctx context.Context) (*web3signer.Watermark, error) {
	var out *web3signer.Watermark
	answered := 0
	for _, p := range h.partyOrder() {
		if !h.reachable(p) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
		body, err := h.callParty(cctx, p, wire.MethodEth2Watermark, nil)
		cancel()
		if err != nil {
			continue
		}
		var wm wire.Eth2Watermark
		if err := wire.DecodeJSON(body, &wm); err != nil {
			return nil, toWeb3SignerError(fmt.Errorf("%s returned an unreadable watermark: %w", p, ErrInternal))
		}
		answered++
		if wm.Set && (out == nil || wm.Slot < out.Slot) {
			out = &web3signer.Watermark{Slot: wm.Slot, Epoch: wm.Epoch}
		}
	}
	if answered == 0 {
		return nil, toWeb3SignerError(fmt.Errorf("no party is reachable: %w", ErrQuorum))
	}
	return out, nil
}

// SetHighWatermark sets (or clears) the high watermark in every enclave. Every party must take
// it: a party without it could still sign beyond it with t-1 others.
func (h *Host) SetHighWatermark(ctx context.Context, args wire.Eth2SetWatermark) (*api.HighWatermark, error) {
	if down := h.unreachable(h.allParties()); len(down) > 0 {
		return nil, fmt.Errorf("setting the high watermark needs every party, and %s unreachable: %w", describeParties(down), ErrQuorum)
	}
	var out api.HighWatermark
	var mu sync.Mutex
	err := h.forEach(ctx, h.allParties(), func(ctx context.Context, p protocol.PartyID) error {
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
		defer cancel()
		body, err := h.callParty(cctx, p, wire.MethodEth2Watermark, args)
		if err != nil {
			return err
		}
		var wm wire.Eth2Watermark
		if err := wire.DecodeJSON(body, &wm); err != nil {
			return fmt.Errorf("%s returned an unreadable watermark: %w", p, ErrInternal)
		}
		mu.Lock()
		out = api.HighWatermark{Set: wm.Set, Slot: wm.Slot, Epoch: wm.Epoch}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (h *Host) handleHighWatermark(w http.ResponseWriter, r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet:
		wm, err := h.highWatermark(r.Context())
		if err != nil {
			return nil, err
		}
		if wm == nil {
			return api.HighWatermark{}, nil
		}
		return api.HighWatermark{Set: true, Slot: wm.Slot, Epoch: wm.Epoch}, nil
	case http.MethodDelete:
		return h.SetHighWatermark(r.Context(), wire.Eth2SetWatermark{Clear: true})
	}
	var req api.HighWatermark
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.SetHighWatermark(r.Context(), wire.Eth2SetWatermark{Slot: req.Slot, Epoch: req.Epoch})
}

// Checks are the host's health checks: quorum reachable, attestations fresh.
func (b *eth2Backend) Checks(ctx context.Context) []web3signer.Check {
	hc := b.h.Healthcheck()
	out := make([]web3signer.Check, len(hc.Checks))
	for i, c := range hc.Checks {
		out[i] = web3signer.Check{ID: c.Name, OK: c.Status == "ok", Detail: c.Detail}
	}
	return out
}

// listKeyInfos lists the keys known to the reachable enclaves: keys live on committees, so no
// one enclave need hold them all. Where parties differ on a key (one missed a reshare), the
// description of the latest epoch wins.
func (h *Host) listKeyInfos(ctx context.Context) ([]wire.KeyInfo, error) {
	byID := map[string]wire.KeyInfo{}
	var order []string
	answered := false
	for _, p := range h.partyOrder() {
		if !h.reachable(p) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
		body, err := h.callParty(cctx, p, wire.MethodKeysList, nil)
		cancel()
		if err != nil {
			continue
		}
		var kr wire.KeysReply
		if err := wire.DecodeJSON(body, &kr); err != nil {
			return nil, fmt.Errorf("%s returned an unreadable key list: %w", p, ErrInternal)
		}
		answered = true
		for _, k := range kr.Keys {
			old, seen := byID[k.ID]
			if !seen {
				order = append(order, k.ID)
			}
			if !seen || k.Epoch > old.Epoch {
				byID[k.ID] = k
			}
		}
	}
	if !answered {
		return nil, fmt.Errorf("no party is reachable: %w", ErrQuorum)
	}
	out := make([]wire.KeyInfo, 0, len(order))
	for _, id := range order {
		out = append(out, byID[id])
	}
	wire.SortKeyInfos(out)
	return out, nil
}

// frontDoorError carries a host error together with the condition it amounts to for a front
// door (web3signer, eth1), so that both the host's and the front door's mappings see it.
type frontDoorError struct {
	err  error
	kind error
}

func (e *frontDoorError) Error() string   { return trimSentinel(e.err) }
func (e *frontDoorError) Unwrap() []error { return []error{e.err, e.kind} }

// toWeb3SignerError is the one place host conditions become Web3Signer API conditions.
func toWeb3SignerError(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, ErrBadRequest):
		kind = web3signer.ErrBadRequest
	case errors.Is(err, ErrNotFound):
		kind = web3signer.ErrUnknownKey
	case errors.Is(err, ErrRefused):
		kind = web3signer.ErrSlashing
	case errors.Is(err, ErrQuorum), errors.Is(err, ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		kind = web3signer.ErrUnavailable
	default:
		return err
	}
	return &frontDoorError{err: err, kind: kind}
}

// eth2Observe feeds the eth2 metrics.
func (h *Host) eth2Observe(op, result string, d time.Duration) {
	h.metrics.requests.WithLabelValues("eth2_"+op, result).Inc()
	h.metrics.requestSeconds.WithLabelValues("eth2_"+op, result).Observe(d.Seconds())
}
