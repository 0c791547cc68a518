package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Batching. Signings of the same key (epoch, path) by the same signers that arrive while
// earlier ones are running wait in a queue, and go together as one session of up to MaxSize
// items: one prepare and one start per party, and each protocol round one envelope, for all
// of them. No request waits for a batch to fill: a queue with nothing running starts at once,
// so an idle cluster signs one request alone, exactly as without batching, and batches form
// only under concurrency. Each caller gets its own item's signature and checks it itself.

// BatchConfig configures the batching of FROST signings (Ed25519, BIP340).
type BatchConfig struct {
	// Disabled turns batching off: every signing is a session of its own.
	Disabled bool `yaml:"disabled,omitempty"`
	// MaxSize is the most signings in one session (default 32, at most protocol.MaxBatch).
	MaxSize int `yaml:"max_size,omitempty"`
	// InFlight is how many sessions of one key and signer set run at once (default 2).
	InFlight int `yaml:"in_flight,omitempty"`
}

func (c BatchConfig) withDefaults() BatchConfig {
	if c.MaxSize <= 0 {
		c.MaxSize = 32
	}
	c.MaxSize = min(c.MaxSize, protocol.MaxBatch)
	if c.InFlight <= 0 {
		c.InFlight = 2
	}
	return c
}

// batchReq is one caller's signing, waiting in a queue.
type batchReq struct {
	ctx     context.Context
	payload signPayload
	done    chan batchOut // capacity 1
}

type batchOut struct {
	sig string
	rid *int
	err error
}

// batchQueue is the signings waiting for one key and signer set, and how many sessions of it
// are running.
type batchQueue struct {
	key     wire.KeyInfo
	path    string
	signers []protocol.PartyID
	waiting []*batchReq
	running int
}

// batcher groups concurrent signings into sessions. run signs a group (one item alone, or a
// batch) and answers each of its requests.
type batcher struct {
	cfg BatchConfig
	run func(q *batchQueue, reqs []*batchReq)

	mu     sync.Mutex
	queues map[poolKey]*batchQueue
}

func newBatcher(cfg BatchConfig, run func(q *batchQueue, reqs []*batchReq)) *batcher {
	return &batcher{cfg: cfg.withDefaults(), run: run, queues: map[poolKey]*batchQueue{}}
}

// uses reports whether signings of scheme are batched.
func (b *batcher) uses(scheme protocol.Scheme) bool {
	return b != nil && !b.cfg.Disabled && (scheme == protocol.SchemeEd25519 || scheme == protocol.SchemeBIP340)
}

// sign queues one signing and waits for its own signature.
func (b *batcher) sign(ctx context.Context, key *wire.KeyInfo, payload signPayload, signers []protocol.PartyID) (string, *int, error) {
	req := &batchReq{ctx: ctx, payload: payload, done: make(chan batchOut, 1)}
	pk := newPoolKey(key, payload.path, signers)
	b.mu.Lock()
	q := b.queues[pk]
	if q == nil {
		q = &batchQueue{key: *key, path: payload.path, signers: slices.Clone(signers)}
		b.queues[pk] = q
	}
	q.waiting = append(q.waiting, req)
	b.startLocked(pk, q)
	b.mu.Unlock()
	select {
	case out := <-req.done:
		return out.sig, out.rid, out.err
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
}

// startLocked starts sessions for q's waiting signings while fewer than InFlight run.
func (b *batcher) startLocked(pk poolKey, q *batchQueue) {
	for q.running < b.cfg.InFlight {
		group := b.takeLocked(q)
		if len(group) == 0 {
			break
		}
		q.running++
		go func() {
			b.run(q, group)
			b.mu.Lock()
			defer b.mu.Unlock()
			q.running--
			b.startLocked(pk, q)
			if q.running == 0 && len(q.waiting) == 0 {
				delete(b.queues, pk)
			}
		}()
	}
}

// takeLocked takes up to MaxSize waiting signings whose callers still wait.
func (b *batcher) takeLocked(q *batchQueue) []*batchReq {
	var group []*batchReq
	for len(q.waiting) > 0 && len(group) < b.cfg.MaxSize {
		r := q.waiting[0]
		q.waiting[0] = nil
		q.waiting = q.waiting[1:]
		if r.ctx.Err() == nil {
			group = append(group, r)
		}
	}
	return group
}

// runBatch signs a group of signings of q's key in one session and answers each request.
func (h *Host) runBatch(q *batchQueue, reqs []*batchReq) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Timeouts.Sign)
	defer cancel()
	args := wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindSign, Scheme: q.key.Scheme, Parties: q.signers,
		KeyID: q.key.ID, Epoch: q.key.Epoch, Path: q.path,
	}
	if len(reqs) == 1 {
		setPayload(&args, reqs[0].payload)
	} else {
		for _, r := range reqs {
			var item wire.PrepareArgs
			setPayload(&item, r.payload)
			args.Batch = append(args.Batch, wire.BatchItem{Digest: item.Digest, Message: item.Message})
		}
	}
	results, err := h.runSession(ctx, args)
	h.metrics.batchSize.Observe(float64(len(reqs)))
	if err == nil && len(reqs) == 1 {
		var sig string
		var rid *int
		sig, rid, err = agreedSignature(q.key.Scheme, q.signers, results, func(r *wire.SessionResult) (string, *int) { return r.Signature, r.RecoveryID })
		reqs[0].done <- batchOut{sig: sig, rid: rid, err: err}
		return
	}
	for i, r := range reqs {
		if err != nil {
			r.done <- batchOut{err: err}
			continue
		}
		sig, rid, ierr := agreedSignature(q.key.Scheme, q.signers, results, func(res *wire.SessionResult) (string, *int) {
			if i >= len(res.Batch) {
				return "", nil
			}
			return res.Batch[i].Signature, res.Batch[i].RecoveryID
		})
		r.done <- batchOut{sig: sig, rid: rid, err: ierr}
	}
}

// setPayload puts a signing's digest or message into args.
func setPayload(args *wire.PrepareArgs, payload signPayload) {
	if payload.isMessage {
		args.Message = hex.EncodeToString(payload.bytes)
	} else {
		args.Digest = hex.EncodeToString(payload.bytes)
	}
}

// agreedSignature returns the signature every signer returned (pick reads it from a result),
// or an error if one returned none, a malformed one or another.
func agreedSignature(scheme protocol.Scheme, signers []protocol.PartyID, results map[protocol.PartyID]*wire.SessionResult, pick func(*wire.SessionResult) (string, *int)) (string, *int, error) {
	var sig string
	var rid *int
	wantRecoveryID := scheme == protocol.SchemeECDSASecp256k1 || scheme == protocol.SchemeECDSAP256
	for _, p := range signers {
		r := results[p]
		if r == nil {
			return "", nil, fmt.Errorf("%s returned no result: %w", p, ErrInternal)
		}
		s, id := pick(r)
		if s == "" || (id == nil) == wantRecoveryID {
			return "", nil, fmt.Errorf("%s returned no signature or a malformed one: %w", p, ErrInternal)
		}
		if sig != "" && (s != sig || !sameRecoveryID(id, rid)) {
			return "", nil, fmt.Errorf("signers returned different signatures: %w", ErrProtocol)
		}
		sig, rid = s, id
	}
	return sig, rid, nil
}
