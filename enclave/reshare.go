package enclave

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// errStaleKey: a signing named a key epoch other than this party's (a reshare happened).
var errStaleKey = errors.New("stale key epoch")

// newReshare checks a reshare against what this party holds and builds its side of the run.
// A dealer checks the most: its share must be of the named key at the named epoch, and for a
// validator key the committee may only shrink or stay (a party new to a validator key would
// have no slashing protection history). A receiver that does not hold the key yet checks that
// its id, label and application id are free; the run itself then proves that what it receives
// is a sharing of the named public key.
func (e *Enclave) newReshare(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, []byte, error) {
	rs, ok := eng.(protocol.Resharer)
	if !ok {
		return nil, nil, fmt.Errorf("%s keys cannot be reshared: %w", args.Scheme, errBadRequest)
	}
	ra := args.Reshare
	if err := checkReshareArgs(args); err != nil {
		return nil, nil, err
	}
	self := e.cfg.Identity.Party
	pub, _ := hex.DecodeString(ra.PublicKey) // checked by checkReshareArgs
	params := protocol.ReshareParams{
		Self: self, OldParties: ra.OldParties, OldThreshold: len(ra.OldParties),
		NewParties: ra.NewParties, NewThreshold: ra.NewThreshold, PublicKey: pub, SessionNonce: nonce,
	}
	rec, err := e.keys.resolve(args.KeyID)
	switch {
	case errors.Is(err, errNotFound):
		rec = nil
	case err != nil:
		return nil, nil, err
	}
	if err := e.checkReshareHolder(args, rec); err != nil {
		return nil, nil, err
	}
	want, err := e.reshareStatement(args, rec)
	if err != nil {
		return nil, nil, err
	}
	if err := e.authorize(want, args.Approvals); err != nil {
		return nil, nil, err
	}
	if slices.Contains(ra.OldParties, self) {
		params.Share = rec.Share
	}
	var pp []byte
	if eng.NeedsPreParams() && slices.Contains(ra.NewParties, self) {
		if pp, err = e.pool.claim(); err != nil {
			return nil, nil, err
		}
		params.PreParams = pp
	}
	run, err := rs.Reshare(params)
	if err != nil {
		e.returnPreParams(pp)
		return nil, nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	if _, derivable := eng.(protocol.Deriver); derivable {
		var own []byte
		if slices.Contains(ra.OldParties, self) {
			own = rec.ChainCode
		}
		return newChainCodeCarrier(run, self, ra, own), pp, nil
	}
	return run, pp, nil
}

// checkReshareArgs checks what a reshare request must look like, whatever this party holds.
func checkReshareArgs(args *wire.PrepareArgs) error {
	ra := args.Reshare
	if ra == nil {
		return fmt.Errorf("a reshare session needs its reshare arguments: %w", errBadRequest)
	}
	if args.Digest != "" || args.Message != "" || args.Import != nil || args.Threshold != 0 || args.Epoch != 0 {
		return fmt.Errorf("a reshare takes no digest, message, import, threshold or signing epoch: %w", errBadRequest)
	}
	union := append(slices.Clone(ra.OldParties), ra.NewParties...)
	slices.Sort(union)
	if !slices.Equal(slices.Compact(union), args.Parties) {
		return fmt.Errorf("the session's parties %v must be exactly the old parties %v and the new parties %v: %w", args.Parties, ra.OldParties, ra.NewParties, errBadRequest)
	}
	if pub, err := hex.DecodeString(ra.PublicKey); err != nil || len(pub) == 0 || len(pub) > 97 {
		return fmt.Errorf("public key %q is not a hex public key: %w", truncateString(ra.PublicKey, 140), errBadRequest)
	}
	if ra.NewThreshold < 2 || ra.NewThreshold > len(ra.NewParties) {
		return fmt.Errorf("new threshold %d must be at least 2 and at most the %d new parties: %w", ra.NewThreshold, len(ra.NewParties), errBadRequest)
	}
	if _, err := time.Parse(time.RFC3339, ra.Created); err != nil {
		return fmt.Errorf("creation time %q is not RFC 3339: %w", truncateString(ra.Created, 80), errBadRequest)
	}
	if ra.PKCS11ID != "" && !pkcs11IDPattern.MatchString(ra.PKCS11ID) {
		return fmt.Errorf("PKCS#11 id %q must be 1 to 64 bytes in lowercase hex: %w", truncateString(ra.PKCS11ID, 140), errBadRequest)
	}
	if !labelPattern.MatchString(args.Label) {
		return fmt.Errorf("label %q must be 1-64 characters of letters, digits, '.', '_' or '-': %w", truncateString(args.Label, 80), errBadRequest)
	}
	return nil
}

// checkReshareHolder checks a reshare against this party's record of the key (nil: none).
func (e *Enclave) checkReshareHolder(args *wire.PrepareArgs, rec *keyRecord) error {
	ra, self := args.Reshare, e.cfg.Identity.Party
	if rec == nil {
		if slices.Contains(ra.OldParties, self) {
			return fmt.Errorf("%s is asked to deal key %s but holds no share of it: %w", self, args.KeyID, errNotFound)
		}
		return e.keys.checkNew(&wire.KeyInfo{ID: args.KeyID, Label: args.Label, PKCS11ID: ra.PKCS11ID})
	}
	info := rec.Info
	switch {
	case info.Scheme != args.Scheme || info.PublicKey != ra.PublicKey:
		return fmt.Errorf("key %s here is the %s key %s, not the %s key %s: %w", args.KeyID, info.Scheme, info.PublicKey, args.Scheme, truncateString(ra.PublicKey, 100), errConflict)
	case info.Label != args.Label || info.PKCS11ID != ra.PKCS11ID:
		return fmt.Errorf("key %s is labelled %q (PKCS#11 id %q) here, not %q (%q): %w", args.KeyID, info.Label, info.PKCS11ID, args.Label, ra.PKCS11ID, errConflict)
	case info.Epoch > ra.Epoch:
		return fmt.Errorf("key %s is at epoch %d here, past the reshare's epoch %d: %w", args.KeyID, info.Epoch, ra.Epoch, errConflict)
	}
	if !slices.Contains(ra.OldParties, self) {
		return nil
	}
	if info.Epoch != ra.Epoch {
		return fmt.Errorf("key %s is at epoch %d here, not %d: %w", args.KeyID, info.Epoch, ra.Epoch, errConflict)
	}
	if len(ra.OldParties) != info.Threshold {
		return fmt.Errorf("key %s is dealt by exactly its threshold of %d holders, got %d: %w", args.KeyID, info.Threshold, len(ra.OldParties), errBadRequest)
	}
	for _, p := range ra.OldParties {
		if !slices.Contains(info.Parties, p) {
			return fmt.Errorf("%s holds no share of key %s and cannot deal: %w", p, args.KeyID, errBadRequest)
		}
	}
	if info.Scheme == protocol.SchemeBLS12381 {
		if 2*ra.NewThreshold <= len(ra.NewParties) {
			return fmt.Errorf("a %d-of-%d committee cannot hold validator key %s: slashing protection needs any two sets of signers to share a party (2t > n): %w", ra.NewThreshold, len(ra.NewParties), args.KeyID, errPolicy)
		}
		for _, p := range ra.NewParties {
			if !slices.Contains(info.Parties, p) {
				return fmt.Errorf("%s would be new to validator key %s with no slashing protection history: a validator key's committee can be refreshed or shrunk, not grown: %w", p, args.KeyID, errPolicy)
			}
		}
	}
	return nil
}

// finishReshare commits what a reshare gave this party, in one synced batch: the new share at
// the next epoch replaces the old one. A party that only dealt keeps its old share until the
// host retires it.
// Every participant has already checked that every receiver agrees on the dealt commitments,
// so committing here cannot leave the key with fewer usable shares than its new threshold.
func (e *Enclave) finishReshare(s *session, out *protocol.KeygenOutput) (*wire.SessionResult, error) {
	ra := s.args.Reshare
	if hex.EncodeToString(out.PublicKey) != ra.PublicKey {
		return nil, fmt.Errorf("the reshare produced public key %x, not %s", out.PublicKey, ra.PublicKey)
	}
	if out.Share == nil {
		// A dealer leaving the committee keeps its old share until the host has heard every
		// new party report its new share saved, then retires it (keys.retire): if the new
		// parties failed to save, the old committee can still sign. The old share is useless
		// with any new one: no new party signs at the old epoch.
		e.log.Info("key reshared away from this party; its old share waits to be retired", "key_id", s.args.KeyID, "epoch", ra.Epoch+1)
		return &wire.SessionResult{}, nil
	}
	rec := &keyRecord{
		Info: wire.KeyInfo{
			ID: s.args.KeyID, Label: s.args.Label, PKCS11ID: ra.PKCS11ID, Scheme: s.args.Scheme,
			PublicKey: ra.PublicKey, Threshold: ra.NewThreshold, Parties: slices.Clone(ra.NewParties),
			Created: ra.Created, Epoch: ra.Epoch + 1,
		},
		Share: out.Share,
	}
	if c, ok := s.run.(*chainCodeCarrier); ok {
		rec.ChainCode = c.chainCode()
	}
	if err := e.keys.replace(rec); err != nil {
		return nil, fmt.Errorf("saving the new share: %w", err)
	}
	e.log.Info("key reshared", "key_id", rec.Info.ID, "epoch", rec.Info.Epoch, "threshold", rec.Info.Threshold, "parties", fmt.Sprint(rec.Info.Parties))
	info := rec.Info
	return &wire.SessionResult{Key: &info}, nil
}

// replace writes rec over this party's record of the same key (or as a new key), with its
// indexes, in one synced batch, and drops the old share from memory.
func (k *keyring) replace(rec *keyRecord) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	old, err := k.resolve(rec.Info.ID)
	switch {
	case errors.Is(err, errNotFound):
		old = nil
		if err := k.checkNew(&rec.Info); err != nil {
			return err
		}
	case err != nil:
		return err
	case old.Info.Epoch >= rec.Info.Epoch:
		return fmt.Errorf("key %s is already at epoch %d: %w", rec.Info.ID, old.Info.Epoch, errConflict)
	}
	if err := k.writeLocked(rec); err != nil {
		return err
	}
	if old != nil {
		sharecache.Forget(old.Share)
		k.notify(old.Info)
	}
	return nil
}

// retire erases this party's share of key id if it is older than epoch: what a party keeps
// after a reshare moved the key on without it. Validator keys are included: their slashing
// protection history is kept apart from the share and stays.
func (k *keyring) retire(id string, epoch uint64) (deleted bool, err error) {
	return k.remove(id, func(rec *keyRecord) error {
		if rec.Info.Epoch >= epoch {
			return fmt.Errorf("key %s is at epoch %d here, not older than %d: the share is current and stays: %w", id, rec.Info.Epoch, epoch, errConflict)
		}
		return nil
	})
}
