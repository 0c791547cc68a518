package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// DeleteKey deletes a key across the cluster: every party holding a share is asked to delete
// it, and the deletion stands once at least n-t+1 parties hold none, since the shares left are
// then fewer than the t any signature needs. With fewer, it fails with ErrQuorum naming the
// parties that may still hold shares; deleting again removes the rest, because a party that
// holds no share answers as one that deleted it. Validator (BLS) keys are refused: the
// Keymanager API disables them and keeps their slashing protection history.
func (h *Host) DeleteKey(ctx context.Context, ref string) (*api.KeyDeleted, error) {
	key, err := h.findKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if key.Scheme == protocol.SchemeBLS12381 {
		return nil, fmt.Errorf("key %s is a validator key: delete it through the Keymanager API (DELETE /eth/v1/keystores), which keeps its slashing protection history: %w", key.ID, ErrBadRequest)
	}
	if key.Threshold < 1 || key.Threshold > len(key.Parties) {
		return nil, fmt.Errorf("key %s is described with threshold %d of %d parties: %w", key.ID, key.Threshold, len(key.Parties), ErrInternal)
	}
	h.keyCache.forget(key.ID)
	d := &deletion{keyID: key.ID, parties: len(key.Parties), threshold: key.Threshold, failed: map[protocol.PartyID]error{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range key.Parties {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.deleteAt(ctx, p, key.ID)
			mu.Lock()
			defer mu.Unlock()
			d.record(p, err)
		}()
	}
	wg.Wait()
	out, err := d.result()
	h.log.Info("key deletion", "key_id", key.ID, "deleted_at", d.confirmed, "not_confirmed", len(d.failed), "err", err)
	return out, err
}

// deleteAt asks party p to delete its share of key id; a party that holds none is no error.
func (h *Host) deleteAt(ctx context.Context, p protocol.PartyID, id string) error {
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	body, err := h.callParty(cctx, p, wire.MethodKeyDelete, wire.KeyRef{Key: id})
	if err != nil {
		return fromRemote(p, err)
	}
	var r wire.KeyDeleteReply
	if err := wire.DecodeJSON(body, &r); err != nil {
		return &partyError{party: p, err: fmt.Errorf("%s returned an unreadable answer: %w", p, ErrInternal)}
	}
	return nil
}

// deletion gathers the parties' answers to one key deletion and decides its outcome.
type deletion struct {
	keyID              string
	parties, threshold int
	confirmed          []protocol.PartyID // hold no share now
	failed             map[protocol.PartyID]error
}

func (d *deletion) record(p protocol.PartyID, err error) {
	if err != nil {
		d.failed[p] = err
		return
	}
	d.confirmed = append(d.confirmed, p)
}

// result: with n-t+1 confirmations the key can no longer sign, and the parties that did not
// answer are reported as remaining; with fewer it is an error naming them. A party that refused
// the request itself (not merely unreachable) makes it that party's error.
func (d *deletion) result() (*api.KeyDeleted, error) {
	slices.Sort(d.confirmed)
	remaining := make([]protocol.PartyID, 0, len(d.failed))
	for p := range d.failed {
		remaining = append(remaining, p)
	}
	slices.Sort(remaining)
	need := d.parties - d.threshold + 1
	if len(d.confirmed) < need {
		for _, p := range remaining {
			if err := d.failed[p]; !errors.Is(err, ErrQuorum) {
				return nil, fmt.Errorf("deleting key %s: %w", d.keyID, err)
			}
		}
		return nil, fmt.Errorf("key %s is not deleted yet: %d of the %d parties must hold no share before fewer than %d shares remain, and only %s (%s); %s still holding shares or not answering (%s): delete it again when they are reachable: %w",
			d.keyID, need, d.parties, d.threshold, countParties(len(d.confirmed)), partyNames(d.confirmed), describeParties(remaining), trimSentinel(d.failed[remaining[0]]), ErrQuorum)
	}
	out := &api.KeyDeleted{KeyID: d.keyID}
	for _, p := range d.confirmed {
		out.Deleted = append(out.Deleted, uint16(p))
	}
	for _, p := range remaining {
		out.Remaining = append(out.Remaining, uint16(p))
	}
	return out, nil
}

// countParties says how many parties, for messages: "1 does", "2 do".
func countParties(n int) string {
	if n == 1 {
		return "1 does"
	}
	return fmt.Sprintf("%d do", n)
}

// partyNames lists parties for messages: "party 1, party 3", or "none".
func partyNames(ps []protocol.PartyID) string {
	if len(ps) == 0 {
		return "none"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

func (h *Host) handleDeleteKey(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.DeleteKey(r.Context(), r.PathValue("key"))
}
