package enclave

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// prefixApprovalNonce records every approval nonce this enclave has accepted (value: the
// statement's not-after time), so that an approval is used once.
const prefixApprovalNonce = "approval/nonce/"

// storeLedger is the approval nonce ledger in the enclave's sealed store: a nonce is recorded
// (synced) before the operation it approved goes ahead, and survives restarts.
type storeLedger struct {
	st store.Store
	mu sync.Mutex // makes the check and the record one step
}

func (l *storeLedger) Use(nonce string, notAfter time.Time) error {
	if err := approval.CheckNonce(nonce); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	name := prefixApprovalNonce + nonce
	if _, err := l.st.Get(name); err == nil {
		return fmt.Errorf("approval nonce %s: %w", nonce, approval.ErrNonceUsed)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return l.st.Put(name, []byte(notAfter.UTC().Format(time.RFC3339)))
}

// authorize checks that a configured quorum of operators approved exactly the operation want
// describes (its nonce and expiry come from the statement they signed), and spends the nonce.
// Without a policy (development), it lets everything through; New logs that loudly.
func (e *Enclave) authorize(want approval.Statement, a *wire.Approvals) error {
	p := e.cfg.Approvals
	if p == nil || !p.Required() {
		return nil
	}
	if a == nil {
		return fmt.Errorf("%s of key %s needs the approval of %d operators, and none was given: %w", want.Operation, want.KeyID, p.Quorum, errPolicy)
	}
	stmt, err := approval.DecodeStatement(a.Statement)
	if err != nil {
		return fmt.Errorf("approval statement: %v: %w", err, errBadRequest)
	}
	approvals, err := approval.DecodeApprovals(a.Approvals)
	if err != nil {
		return fmt.Errorf("approvals: %v: %w", err, errBadRequest)
	}
	if err := p.Authorize(want, stmt, approvals, e.ledger, time.Now()); err != nil {
		return fmt.Errorf("%v: %w", err, errPolicy)
	}
	return nil
}

// reshareStatement is what operators approve for a reshare: a refresh when the committee and
// threshold stay, a committee change otherwise (the operator's statement names which; a party
// that holds the key checks that a "refresh" really keeps them).
func (e *Enclave) reshareStatement(args *wire.PrepareArgs, rec *keyRecord) (approval.Statement, error) {
	ra := args.Reshare
	op := approval.OpKeyReshare
	if a := args.Approvals; a != nil {
		if stmt, err := approval.DecodeStatement(a.Statement); err == nil && stmt.Operation == approval.OpKeyRefresh {
			op = approval.OpKeyRefresh
		}
	}
	if op == approval.OpKeyRefresh && rec != nil && (rec.Info.Threshold != ra.NewThreshold || !slices.Equal(rec.Info.Parties, ra.NewParties)) {
		return approval.Statement{}, fmt.Errorf("an approved refresh keeps %d of %v, and this reshare moves key %s to %d of %v: %w", rec.Info.Threshold, rec.Info.Parties, args.KeyID, ra.NewThreshold, ra.NewParties, errPolicy)
	}
	return approval.Statement{
		Operation: op, Cluster: e.cfg.Roster.ClusterID, KeyID: args.KeyID,
		Params: map[string]string{
			approval.ParamNewParties:   partyList(ra.NewParties),
			approval.ParamNewThreshold: strconv.Itoa(ra.NewThreshold),
		},
	}, nil
}

// partyList writes parties as operators type them: "1,2,3".
func partyList(ps []protocol.PartyID) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.Itoa(int(p))
	}
	return strings.Join(out, ",")
}
