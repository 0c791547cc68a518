package host

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Batching. Signings of the same key (epoch, path) by the same signers that arrive while
// earlier ones are running wait in a queue (coalescer), and go together as one session of up
// to MaxSize items: one prepare and one start per party, and each protocol round one
// envelope, for all of them. An idle cluster signs one request alone, exactly as without
// batching. Each caller gets its own item's signature and checks it itself.
//
// What is batched: FROST signings (Ed25519, BIP340), and signings that claimed a pooled
// presignature. A batch runs its items' rounds in lockstep, so its items must all have the
// same rounds: signings from presignatures queue apart from those without; an ECDSA signing
// without a presignature (nine rounds, a second of CPU) runs alone.

// BatchConfig configures the batching of FROST signings and of presigned ECDSA signings.
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

// batchItem is one caller's signing.
type batchItem struct {
	key     wire.KeyInfo
	payload signPayload
	signers []protocol.PartyID
	presig  string // the pooled presignature it claimed, or ""
}

// batchSig is one signing's signature.
type batchSig struct {
	sig string
	rid *int
}

// batcher groups concurrent signings of one key (epoch, path) and signer set.
type batcher struct {
	cfg BatchConfig
	run func(items []batchItem) []coalesced[batchSig]
	c   *coalescer[batchKey, batchItem, batchSig]
}

// batchKey names a queue of signings that may share a session: one key (epoch, path) and
// signer set, and either all from presignatures or all not, since a batch's rounds run in
// lockstep.
type batchKey struct {
	poolKey
	presigned bool
}

func newBatcher(cfg BatchConfig, run func(items []batchItem) []coalesced[batchSig]) *batcher {
	cfg = cfg.withDefaults()
	return &batcher{cfg: cfg, run: run, c: newCoalescer(cfg.MaxSize, cfg.InFlight, func(_ batchKey, items []batchItem) []coalesced[batchSig] { return run(items) })}
}

// batchesFROST reports whether signings of scheme go through the batcher without a
// presignature: the FROST schemes, unless batching is off.
func (b *batcher) batchesFROST(scheme protocol.Scheme) bool {
	return !b.cfg.Disabled && (scheme == protocol.SchemeEd25519 || scheme == protocol.SchemeBIP340)
}

// sign queues one signing (presig: the pooled presignature it claimed, or "") and waits for
// its own signature. With batching off it runs the signing at once, alone.
func (b *batcher) sign(ctx context.Context, key *wire.KeyInfo, payload signPayload, signers []protocol.PartyID, presig string) (string, *int, error) {
	item := batchItem{key: *key, payload: payload, signers: signers, presig: presig}
	if b.cfg.Disabled {
		r := b.run([]batchItem{item})[0]
		return r.val.sig, r.val.rid, r.err
	}
	r, err := b.c.do(ctx, batchKey{newPoolKey(key, payload.path, signers), presig != ""}, item)
	return r.sig, r.rid, err
}

// runBatch signs items (all of one key, path and signer set) in one session: one item alone,
// more as a batch.
func (h *Host) runBatch(items []batchItem) []coalesced[batchSig] {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Timeouts.Sign)
	defer cancel()
	first := items[0]
	args := batchArgs(items)
	results, err := h.runSession(ctx, args)
	h.metrics.batchSize.Observe(float64(len(items)))
	out := make([]coalesced[batchSig], len(items))
	for i := range items {
		if err != nil {
			out[i].err = err
			continue
		}
		pick := func(r *wire.SessionResult) (string, *int) {
			if len(items) == 1 {
				return r.Signature, r.RecoveryID
			}
			if i >= len(r.Batch) {
				return "", nil
			}
			return r.Batch[i].Signature, r.Batch[i].RecoveryID
		}
		sig, rid, ierr := agreedSignature(first.key.Scheme, first.signers, results, pick)
		out[i] = coalesced[batchSig]{val: batchSig{sig: sig, rid: rid}, err: ierr}
	}
	return out
}

// batchArgs describes the session of items (all of one key, path and signer set): one item
// alone as a plain signing, more as a batch, each with its own payload and presignature.
func batchArgs(items []batchItem) wire.PrepareArgs {
	first := items[0]
	args := wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindSign, Scheme: first.key.Scheme, Parties: first.signers,
		KeyID: first.key.ID, Epoch: first.key.Epoch, Path: first.payload.path,
	}
	if len(items) == 1 {
		setPayload(&args, first.payload)
		args.Presignature = first.presig
		return args
	}
	for _, it := range items {
		var one wire.PrepareArgs
		setPayload(&one, it.payload)
		args.Batch = append(args.Batch, wire.BatchItem{Digest: one.Digest, Message: one.Message, Presignature: it.presig})
	}
	return args
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
