package enclave

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Presignatures (DESIGN.md, "Measured costs", rules 1-4). A presign session runs the part of a
// signing that does not depend on the message and ends with this party's presignature parked
// here, in memory only, under the session's id. A signing that names it claims it (removing
// it, so nobody can claim it again), records the binding durably, and only then lets the
// engine release what it held back. Anything that goes wrong after the claim burns it; a
// restart destroys every parked presignature, and a change of the key's share drops the
// key's.

const (
	prefixPresignUsed       = "presign-used/"
	defaultPresignMaxParked = 1024
	defaultPresignMaxAge    = time.Hour
	presignPruneEvery       = time.Minute
)

// parked is one parked presignature and what it was made for.
type parked struct {
	args    wire.PrepareArgs // the presign session's: scheme, key, epoch, signers, path
	sig     protocol.Presignature
	created time.Time
}

// presigTable holds the parked presignatures of this enclave process.
type presigTable struct {
	st     store.Store
	max    int
	maxAge time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	parked map[wire.SessionID]*parked
}

// newPresigTable makes the table and deletes the binding records of earlier processes: the
// presignatures they guarded died with those processes.
func newPresigTable(st store.Store, max int, maxAge time.Duration, log *slog.Logger) (*presigTable, error) {
	if max <= 0 {
		max = defaultPresignMaxParked
	}
	if maxAge <= 0 {
		maxAge = defaultPresignMaxAge
	}
	t := &presigTable{st: st, max: max, maxAge: maxAge, log: log, parked: map[wire.SessionID]*parked{}}
	if err := t.pruneBindings(time.Now().Add(time.Hour * 24 * 365 * 100)); err != nil {
		return nil, fmt.Errorf("clearing old presignature binding records: %w", err)
	}
	return t, nil
}

func (t *presigTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.parked)
}

// park keeps sig under id until claimed, expired or dropped.
func (t *presigTable) park(id wire.SessionID, args wire.PrepareArgs, sig protocol.Presignature) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.parked) >= t.max {
		sig.Discard()
		return fmt.Errorf("%d presignatures are already parked (presignatures.max_parked): %w", t.max, errNotReady)
	}
	if _, ok := t.parked[id]; ok {
		sig.Discard()
		return fmt.Errorf("a presignature is already parked under session %s: %w", id, errConflict)
	}
	t.parked[id] = &parked{args: args, sig: sig, created: time.Now()}
	return nil
}

// claim removes and returns the presignature parked under ref. Whoever gets it is the only
// one who ever will.
func (t *presigTable) claim(ref string) (*parked, error) {
	id, err := wire.ParseSessionID(ref)
	if err != nil {
		return nil, fmt.Errorf("presignature id: %v: %w", err, errBadRequest)
	}
	t.mu.Lock()
	p, ok := t.parked[id]
	delete(t.parked, id)
	t.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no presignature %s is parked here (it was used, expired, dropped by a reshare, or lost in a restart): %w", ref, errNotFound)
	}
	if time.Since(p.created) > t.maxAge {
		p.sig.Discard()
		return nil, fmt.Errorf("presignature %s expired (older than %s): %w", ref, t.maxAge, errNotFound)
	}
	return p, nil
}

// discard discards the presignature parked under id, if any.
func (t *presigTable) discard(id wire.SessionID) {
	t.mu.Lock()
	p, ok := t.parked[id]
	delete(t.parked, id)
	t.mu.Unlock()
	if ok {
		p.sig.Discard()
	}
}

// dropKey discards every presignature of a key whose share changed: they were made from the
// old share, which must not outlive the reshare that replaced it.
func (t *presigTable) dropKey(info wire.KeyInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, p := range t.parked {
		if p.args.KeyID == info.ID {
			p.sig.Discard()
			delete(t.parked, id)
		}
	}
}

// expire discards presignatures older than maxAge, and prunes the binding records that no
// longer guard anything, until ctx ends.
func (t *presigTable) expire(ctx context.Context) {
	tick := time.NewTicker(presignPruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			cutoff := now.Add(-t.maxAge)
			t.mu.Lock()
			for id, p := range t.parked {
				if p.created.Before(cutoff) {
					p.sig.Discard()
					delete(t.parked, id)
				}
			}
			t.mu.Unlock()
			if err := t.pruneBindings(cutoff); err != nil {
				t.log.Warn("pruning presignature binding records", "err", err)
			}
		}
	}
}

// recordBindings durably records, in one synced write, that each claimed presignature is
// bound to its request, before anything that depends on it leaves the enclave. A batch of
// signings pays for one sync, not one per item.
func (t *presigTable) recordBindings(claimed []*claimedPresig) error {
	b := &store.Batch{}
	for _, c := range claimed {
		b.Put(bindingRecord(c.p.created, c.ref), c.bound[:])
	}
	return t.st.Apply(b)
}

// bindingRecord names a binding record by the presignature's park time first, so that the
// records a prune deletes are the oldest.
func bindingRecord(created time.Time, id string) string {
	return fmt.Sprintf("%s%016x/%s", prefixPresignUsed, uint64(created.UnixNano()), id)
}

// pruneBindings deletes the binding records of presignatures parked before cutoff: none of
// them can be claimed any more, so their records guard nothing.
func (t *presigTable) pruneBindings(cutoff time.Time) error {
	names, err := t.st.List(prefixPresignUsed)
	if err != nil {
		return err
	}
	b := &store.Batch{}
	for _, name := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(name, prefixPresignUsed), "/")
		at, err := strconv.ParseUint(stamp, 16, 64)
		if err == nil && int64(at) >= cutoff.UnixNano() {
			continue
		}
		b.Delete(name)
	}
	if b.Len() == 0 {
		return nil
	}
	return t.st.Apply(b)
}

// newPresign builds a presign run: the checks of a signing, without a digest.
func (e *Enclave) newPresign(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, error) {
	pre, ok := eng.(protocol.Presigner)
	if !ok {
		return nil, fmt.Errorf("%s keys have no presignatures: %w", args.Scheme, errBadRequest)
	}
	if args.Digest != "" || args.Message != "" || args.Presignature != "" {
		return nil, fmt.Errorf("a presign run takes no digest, message or presignature: %w", errBadRequest)
	}
	rec, err := e.signingKey(args)
	if err != nil {
		return nil, err
	}
	params := protocol.PresignParams{Self: e.cfg.Identity.Party, Signers: args.Parties, Share: rec.Share, SessionNonce: nonce}
	if args.Path != "" {
		if params.Derivation, err = e.derivation(eng, rec, args.Path); err != nil {
			return nil, err
		}
	}
	return pre.Presign(params)
}

// claimedPresig is a presignature claimed for one signing and checked against it, not yet
// bound: its binding must be recorded (recordBindings) before bind lets it sign.
type claimedPresig struct {
	ref   string
	p     *parked
	in    protocol.SignInput
	bound [32]byte // what it is bound to: the key and the signed payload
}

// claimPresignature claims the presignature a signing names and checks it was made for
// exactly this key, epoch, signer set and path. From here on it is burned unless it signs.
func (e *Enclave) claimPresignature(args *wire.PrepareArgs, in protocol.SignInput) (*claimedPresig, error) {
	p, err := e.presigs.claim(args.Presignature)
	if err != nil {
		return nil, err
	}
	made := p.args
	if made.Scheme != args.Scheme || made.KeyID != args.KeyID || made.Epoch != args.Epoch || made.Path != args.Path || !slices.Equal(made.Parties, args.Parties) {
		p.sig.Discard()
		return nil, fmt.Errorf("presignature %s was made for key %s epoch %d path %q signers %v, not for this signing: %w", args.Presignature, made.KeyID, made.Epoch, made.Path, made.Parties, errBadRequest)
	}
	bound := sha256.Sum256(append(append([]byte(args.KeyID+"\x00"), in.Digest[:]...), in.Message...))
	return &claimedPresig{ref: args.Presignature, p: p, in: in, bound: bound}, nil
}

// bind binds the presignature to its request and returns the online run. Call it only once
// the binding is recorded.
func (c *claimedPresig) bind() (protocol.Run, error) {
	run, err := c.p.sig.Sign(c.in)
	if err != nil {
		return nil, fmt.Errorf("binding presignature %s: %v: %w", c.ref, err, errBadRequest)
	}
	return run, nil
}

// discard burns the presignature (nothing, if bind consumed it already).
func (c *claimedPresig) discard() { c.p.sig.Discard() }

// signPresigned claims the presignature a signing names, records the binding, and returns
// the online run.
func (e *Enclave) signPresigned(args *wire.PrepareArgs, in protocol.SignInput) (protocol.Run, error) {
	c, err := e.claimPresignature(args, in)
	if err != nil {
		return nil, err
	}
	if err := e.presigs.recordBindings([]*claimedPresig{c}); err != nil {
		c.discard()
		return nil, fmt.Errorf("recording the presignature's binding: %w", err)
	}
	return c.bind()
}

// signInput is what a signing's arguments ask to sign.
func signInput(args *wire.PrepareArgs, scheme protocol.Scheme) (protocol.SignInput, error) {
	var params protocol.SignParams
	if err := signedPayload(args, scheme, &params); err != nil {
		return protocol.SignInput{}, err
	}
	return protocol.SignInput{Digest: params.Digest, Message: params.Message}, nil
}
