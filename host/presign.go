package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Presignature pools. The host keeps, per key (after derivation) and signer set, the ids of
// presign sessions that ended with every signer's presignature parked in its enclave: ECDSA
// presignatures (rounds 1-4 of tss-lib's signing) and, where configured, FROST nonce
// commitments (round 1 of an Ed25519 or BIP340 signing). A
// signing takes the oldest id (at most once: it leaves the pool under the lock) and runs only
// the online rounds; an empty pool, or an id an enclave no longer has, falls back to the full
// protocol. A background loop refills the pools, one presign at a time by default, and waits
// while any pooled signing is in flight: refills use the CPU that requests leave over, so a
// burst runs on the pool alone and a sustained overload runs the full protocol.
//
// The host only ever holds session ids: the presignatures themselves, and their single use,
// are the enclaves' (enclave/presign.go). A host that lost its pool (a restart) loses nothing
// but the ids; the enclaves discard what nobody claims after their max age.

// PresignConfig configures the presignature pools.
type PresignConfig struct {
	// Disabled turns the pools off: every signing runs the full protocol.
	Disabled bool `yaml:"disabled,omitempty"`
	// Schemes are the schemes whose keys get pools (default: ecdsa-secp256k1 and ecdsa-p256).
	// ed25519 and bip340 may be added: their pools hold FROST nonce commitments, which save
	// a signing one of its two rounds (latency), not CPU; under load, batching is what
	// amortizes their rounds, and a FROST signing that misses the pool is batched.
	Schemes []protocol.Scheme `yaml:"schemes,omitempty"`
	// PoolSize is how many presignatures to keep ready per key and signer set (default 8).
	PoolSize int `yaml:"pool_size,omitempty"`
	// Keys are kept warm from the start (ids or labels); any other key of Schemes gets a pool after
	// its first signing through this host, refilled while it keeps being used (Idle).
	Keys []string `yaml:"keys,omitempty"`
	// Parallel is how many presign runs this host coordinates at once (default 1).
	Parallel int `yaml:"parallel,omitempty"`
	// Interval is the least time between two presign runs this host starts (rate limit; 0: none).
	Interval time.Duration `yaml:"interval,omitempty"`
	// MaxAge is how long a pooled presignature is offered (default 50 minutes); keep it under
	// the enclaves' presignatures.max_age (default 1 hour), which discard older ones.
	MaxAge time.Duration `yaml:"max_age,omitempty"`
	// Idle is how long a pool that is not in Keys is refilled after its last use (default 1 hour).
	Idle time.Duration `yaml:"idle,omitempty"`
	// Quiet is how long no pooled signing must have been in flight before a refill starts
	// (default 200 ms): an ECDSA presign takes both signers' CPU for about a second, and a
	// request arriving meanwhile would wait for it.
	Quiet time.Duration `yaml:"quiet,omitempty"`
}

// presignSchemes are the schemes whose engines make presignatures.
var presignSchemes = []protocol.Scheme{protocol.SchemeECDSASecp256k1, protocol.SchemeECDSAP256, protocol.SchemeEd25519, protocol.SchemeBIP340}

// Validate checks the settings a host would refuse to start with.
func (c PresignConfig) Validate() error { return errors.Join(c.validate()...) }

func (c PresignConfig) validate() []error {
	var errs []error
	for _, s := range c.Schemes {
		if !slices.Contains(presignSchemes, s) {
			errs = append(errs, fmt.Errorf("presign.schemes: %q has no presignatures (choose from %v)", s, presignSchemes))
		}
	}
	for name, d := range map[string]time.Duration{"interval": c.Interval, "max_age": c.MaxAge, "idle": c.Idle, "quiet": c.Quiet} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("presign.%s: %s is negative", name, d))
		}
	}
	if c.PoolSize < 0 || c.Parallel < 0 {
		errs = append(errs, fmt.Errorf("presign: pool_size %d and parallel %d must not be negative", c.PoolSize, c.Parallel))
	}
	return errs
}

func (c PresignConfig) withDefaults() PresignConfig {
	if len(c.Schemes) == 0 {
		c.Schemes = []protocol.Scheme{protocol.SchemeECDSASecp256k1, protocol.SchemeECDSAP256}
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 8
	}
	if c.Parallel <= 0 {
		c.Parallel = 1
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 50 * time.Minute
	}
	if c.Idle <= 0 {
		c.Idle = time.Hour
	}
	if c.Quiet <= 0 {
		c.Quiet = 200 * time.Millisecond
	}
	return c
}

// poolKey names one pool: a key at an epoch, a derivation path, a signer set.
type poolKey struct {
	keyID   string
	epoch   uint64
	path    string
	signers string
}

func newPoolKey(key *wire.KeyInfo, path string, signers []protocol.PartyID) poolKey {
	return poolKey{keyID: key.ID, epoch: key.Epoch, path: path, signers: fmt.Sprint(signers)}
}

// pool is one pool's state.
type pool struct {
	key      wire.KeyInfo // as last looked up (the parent's id and epoch, the child's public key)
	path     string
	signers  []protocol.PartyID
	ready    []pooledPresig // oldest first
	inflight int
	lastUse  time.Time
	pinned   bool // in PresignConfig.Keys
	// failures counts presign runs failed in a row; none is started before retryAt.
	failures int
	retryAt  time.Time
}

type pooledPresig struct {
	id      string
	created time.Time
}

// presignPools is a host's presignature pools.
type presignPools struct {
	h   *Host
	cfg PresignConfig

	mu    sync.Mutex
	pools map[poolKey]*pool
	// pooled counts the pooled presignatures of each scheme (the depth gauge), and epochs the
	// epoch each key was last claimed at: a claim looks for pools of other epochs only when
	// it changes, so that claims do not walk every pool.
	pooled map[protocol.Scheme]int
	epochs map[string]uint64

	// usable reports whether every signer can take part now (the host's health view).
	usable     func(signers []protocol.PartyID) bool
	wake       chan struct{}
	foreground atomic.Int32 // signings of pooled schemes in flight, from the pool or not
	lastEnd    atomic.Int64 // when the last of them ended (unix nanoseconds)
	lastStart  time.Time    // refill loop only
}

func newPresignPools(h *Host, cfg PresignConfig) *presignPools {
	pp := &presignPools{h: h, cfg: cfg.withDefaults(), pools: map[poolKey]*pool{}, wake: make(chan struct{}, 1),
		pooled: map[protocol.Scheme]int{}, epochs: map[string]uint64{}}
	pp.usable = pp.signersUsable
	if !pp.cfg.Disabled {
		for _, s := range pp.cfg.Schemes {
			h.metrics.presignDepth.WithLabelValues(string(s)).Set(0)
		}
	}
	return pp
}

// uses reports whether signings of this scheme take pooled presignatures.
func (pp *presignPools) uses(scheme protocol.Scheme) bool {
	return pp != nil && !pp.cfg.Disabled && slices.Contains(pp.cfg.Schemes, scheme)
}

// claim takes the oldest unexpired presignature for key, path and signers, and registers the
// pool for refilling either way. ok is false when the pool is empty.
func (pp *presignPools) claim(key *wire.KeyInfo, path string, signers []protocol.PartyID) (id string, ok bool) {
	pk := newPoolKey(key, path, signers)
	now := time.Now()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.dropOtherEpochsLocked(key)
	p := pp.poolLocked(pk, key, path, signers)
	p.lastUse = now
	ready := p.ready
	for len(ready) > 0 {
		first := ready[0]
		ready = ready[1:]
		if now.Sub(first.created) <= pp.cfg.MaxAge {
			id, ok = first.id, true
			break
		}
	}
	pp.setReadyLocked(p, ready)
	pp.h.metrics.presignClaims.WithLabelValues(string(key.Scheme), hitLabel(ok)).Inc()
	pp.poke()
	return id, ok
}

// poolLocked returns the pool pk names, registering it if it is new.
func (pp *presignPools) poolLocked(pk poolKey, key *wire.KeyInfo, path string, signers []protocol.PartyID) *pool {
	p := pp.pools[pk]
	if p == nil {
		p = &pool{key: *key, path: path, signers: slices.Clone(signers)}
		pp.pools[pk] = p
	}
	return p
}

func hitLabel(ok bool) string {
	if ok {
		return "hit"
	}
	return "miss"
}

// dropOtherEpochsLocked forgets the pools of key at other epochs: a reshare made their
// presignatures useless (the enclaves dropped them with the old shares).
func (pp *presignPools) dropOtherEpochsLocked(key *wire.KeyInfo) {
	if e, ok := pp.epochs[key.ID]; ok && e == key.Epoch {
		return
	}
	pp.epochs[key.ID] = key.Epoch
	for pk, p := range pp.pools {
		if pk.keyID == key.ID && pk.epoch != key.Epoch {
			pp.dropPoolLocked(pk, p)
		}
	}
}

// dropPoolLocked forgets pool p, registered under pk.
func (pp *presignPools) dropPoolLocked(pk poolKey, p *pool) {
	if pp.pools[pk] != p {
		return
	}
	pp.setReadyLocked(p, nil)
	delete(pp.pools, pk)
}

// setReadyLocked replaces p's ready presignatures, keeping the depth gauge of its scheme
// current.
func (pp *presignPools) setReadyLocked(p *pool, ready []pooledPresig) {
	scheme := p.key.Scheme
	pp.pooled[scheme] += len(ready) - len(p.ready)
	p.ready = ready
	pp.h.metrics.presignDepth.WithLabelValues(string(scheme)).Set(float64(pp.pooled[scheme]))
}

// forgetParty drops every pooled presignature party p signs with: its enclave restarted (or
// said it no longer has one of them), and parked presignatures die with the process.
func (pp *presignPools) forgetParty(p protocol.PartyID) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for _, pl := range pp.pools {
		if slices.Contains(pl.signers, p) {
			pp.setReadyLocked(pl, nil)
		}
	}
	pp.poke()
}

func (pp *presignPools) poke() {
	select {
	case pp.wake <- struct{}{}:
	default:
	}
}

// depth is how many presignatures are pooled for key, path and signers.
func (pp *presignPools) depth(key *wire.KeyInfo, path string, signers []protocol.PartyID) int {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if p := pp.pools[newPoolKey(key, path, signers)]; p != nil {
		return len(p.ready)
	}
	return 0
}

// run refills the pools until ctx ends.
func (pp *presignPools) run(ctx context.Context) {
	if pp.cfg.Disabled {
		return
	}
	pp.h.log.Info("presignature pools", "schemes", fmt.Sprint(pp.cfg.Schemes), "pool_size", pp.cfg.PoolSize, "parallel", pp.cfg.Parallel, "keys", fmt.Sprint(pp.cfg.Keys))
	go pp.pin(ctx)
	slots := make(chan struct{}, pp.cfg.Parallel)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pp.wake:
		case <-tick.C:
		}
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if !pp.waitTurn(ctx) {
				return
			}
			pk, p := pp.next()
			if p == nil {
				<-slots
				break
			}
			pp.lastStart = time.Now()
			go func() {
				defer func() { <-slots; pp.poke() }()
				pp.refill(ctx, pk, p)
			}()
		}
	}
}

// pin registers the pools of the configured keys, looking each up (retrying until it is found:
// at a first start the enclaves may not be reachable yet).
func (pp *presignPools) pin(ctx context.Context) {
	pending := slices.Clone(pp.cfg.Keys)
	for len(pending) > 0 {
		var still []string
		for _, ref := range pending {
			if err := pp.pinKey(ctx, ref); err != nil {
				pp.h.log.Debug("presignature pool: key not ready yet", "key", ref, "err", err)
				still = append(still, ref)
			}
		}
		pending = still
		if len(pending) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func (pp *presignPools) pinKey(ctx context.Context, ref string) error {
	cctx, cancel := context.WithTimeout(ctx, pp.h.cfg.Timeouts.Call)
	defer cancel()
	key, err := pp.h.findKey(cctx, ref)
	if err != nil {
		return err
	}
	if !pp.uses(key.Scheme) {
		pp.h.log.Warn("presignature pool: the key's scheme is not in presign.schemes; ignored", "key", ref, "scheme", key.Scheme, "schemes", fmt.Sprint(pp.cfg.Schemes))
		return nil
	}
	signers, err := pp.h.chooseSigners(key, nil, nil)
	if err != nil {
		return err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.poolLocked(newPoolKey(key, "", signers), key, "", signers).pinned = true
	pp.poke()
	return nil
}

// next picks the emptiest pool below its size that is worth refilling, and counts a presign
// in flight for it.
func (pp *presignPools) next() (poolKey, *pool) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	var (
		bestKey poolKey
		best    *pool
	)
	now := time.Now()
	for pk, p := range pp.pools {
		have := len(p.ready) + p.inflight
		if have >= pp.cfg.PoolSize || (!p.pinned && now.Sub(p.lastUse) > pp.cfg.Idle) || now.Before(p.retryAt) {
			continue
		}
		if !pp.usable(p.signers) {
			continue
		}
		if best == nil || have < len(best.ready)+best.inflight {
			bestKey, best = pk, p
		}
	}
	if best != nil {
		best.inflight++
	}
	return bestKey, best
}

func (pp *presignPools) signersUsable(signers []protocol.PartyID) bool {
	for _, s := range signers {
		if !pp.h.usable(s) {
			return false
		}
	}
	return true
}

// begin and end bracket a signing: refills wait for them.
func (pp *presignPools) begin() { pp.foreground.Add(1) }

func (pp *presignPools) end() {
	pp.lastEnd.Store(time.Now().UnixNano())
	pp.foreground.Add(-1)
}

// waitTurn waits until a presign may start: no signing in flight or ended within Quiet (they
// come first), and Interval since the last start. It reports false if ctx ended. Only the
// refill loop calls it.
func (pp *presignPools) waitTurn(ctx context.Context) bool {
	for pp.foreground.Load() > 0 || time.Since(time.Unix(0, pp.lastEnd.Load())) < pp.cfg.Quiet || time.Since(pp.lastStart) < pp.cfg.Interval {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// refill runs one presign session for pool p and adds it to the pool on success.
func (pp *presignPools) refill(ctx context.Context, pk poolKey, p *pool) {
	args := wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindPresign, Scheme: p.key.Scheme, Parties: p.signers,
		KeyID: p.key.ID, Epoch: p.key.Epoch, Path: p.path,
	}
	ctx, cancel := context.WithTimeout(ctx, pp.h.cfg.Timeouts.Sign)
	defer cancel()
	_, err := pp.h.runSession(ctx, args)
	pp.mu.Lock()
	defer pp.mu.Unlock()
	p.inflight--
	if err != nil {
		if errors.Is(err, ErrStaleKey) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrBadRequest) {
			// The key was reshared or deleted: the next signing registers the pool afresh.
			pp.dropPoolLocked(pk, p)
		}
		// Whatever failed (a party's parking is full, a run timed out) is unlikely to pass at
		// once: back off, up to a minute.
		p.failures++
		p.retryAt = time.Now().Add(min(time.Duration(1<<min(p.failures, 6))*time.Second, time.Minute))
		pp.h.log.Warn("presignature pool: presign failed", "key_id", p.key.ID, "retry_in", time.Until(p.retryAt).Round(time.Second).String(), "err", err)
		return
	}
	p.failures, p.retryAt = 0, time.Time{}
	if pp.pools[pk] != p {
		return // dropped meanwhile (a reshare); the enclaves dropped the presignatures too
	}
	pp.setReadyLocked(p, append(p.ready, pooledPresig{id: args.Session, created: time.Now()}))
}
