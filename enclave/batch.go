package enclave

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// newBatchSign builds the runs of a batched signing, one per item, each checked exactly as a
// signing of its own, and bundles them (protocol.NewBatch) so that each round crosses to the
// peers as one envelope. A refused item refuses the whole batch, and what the items before it
// claimed (presignatures) is burned with it.
func (e *Enclave) newBatchSign(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, error) {
	if len(args.Batch) < 2 || len(args.Batch) > protocol.MaxBatch {
		return nil, fmt.Errorf("a batch holds 2 to %d items, got %d: %w", protocol.MaxBatch, len(args.Batch), errBadRequest)
	}
	if args.Digest != "" || args.Message != "" || args.Presignature != "" {
		return nil, fmt.Errorf("a batched signing sets digests, messages and presignatures per item only: %w", errBadRequest)
	}
	// The key is looked up and checked once: what signingKey checks is the same for every item.
	rec, err := e.signingKey(args)
	if err != nil {
		return nil, err
	}
	runs := make([]protocol.Run, len(args.Batch))
	var claimed []*claimedPresig // the presigned items', bound only once all are recorded
	var claimedAt []int
	abandon := func(err error) error {
		for _, r := range runs {
			if r != nil {
				r.Abort(err)
			}
		}
		for _, c := range claimed {
			c.discard()
		}
		return err
	}
	for i, item := range args.Batch {
		one := *args
		one.Batch = nil
		one.Digest, one.Message, one.Presignature = item.Digest, item.Message, item.Presignature
		if one.Presignature == "" {
			run, err := e.signWithKey(eng, rec, &one, itemNonce(nonce, i))
			if err != nil {
				return nil, abandon(fmt.Errorf("batch item %d: %w", i, err))
			}
			runs[i] = run
			continue
		}
		c, err := e.claimItemPresignature(&one, rec.Info.Scheme)
		if err != nil {
			return nil, abandon(fmt.Errorf("batch item %d: %w", i, err))
		}
		claimed, claimedAt = append(claimed, c), append(claimedAt, i)
	}
	if len(claimed) > 0 {
		if err := e.presigs.recordBindings(claimed); err != nil {
			return nil, abandon(fmt.Errorf("recording the batch's presignature bindings: %w", err))
		}
		for j, c := range claimed {
			run, err := c.bind()
			if err != nil {
				return nil, abandon(fmt.Errorf("batch item %d: %w", claimedAt[j], err))
			}
			runs[claimedAt[j]] = run
		}
	}
	batch, err := protocol.NewBatch(runs)
	if err != nil {
		return nil, abandon(fmt.Errorf("batch: %v: %w", err, errBadRequest))
	}
	return batch, nil
}

// claimItemPresignature claims the presignature a batch item names, for that item's payload.
func (e *Enclave) claimItemPresignature(one *wire.PrepareArgs, scheme protocol.Scheme) (*claimedPresig, error) {
	in, err := signInput(one, scheme)
	if err != nil {
		return nil, err
	}
	return e.claimPresignature(one, in)
}

// itemNonce gives each run of a batch its own session nonce, derived from the batch's (which
// covers every item), so that no two runs share one.
func itemNonce(batch []byte, i int) []byte {
	h := sha256.New()
	h.Write([]byte("mpcsigner/v1 batch item nonce"))
	h.Write(batch)
	_ = binary.Write(h, binary.BigEndian, uint32(i))
	return h.Sum(nil)
}

// batchResult describes a batch's signatures for the host, in the items' order.
func batchResult(sigs []*protocol.Signature) *wire.SessionResult {
	out := &wire.SessionResult{Batch: make([]wire.BatchSignature, len(sigs))}
	for i, s := range sigs {
		sig, rid := wireSignature(s)
		out.Batch[i] = wire.BatchSignature{Signature: sig, RecoveryID: rid}
	}
	return out
}
