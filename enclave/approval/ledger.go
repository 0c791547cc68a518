package approval

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNonceUsed means a statement's nonce was used before: the statement was already acted on.
var ErrNonceUsed = errors.New("nonce already used: this statement was already acted on; ask the operators to approve a new one")

// NonceLedger remembers the nonces of statements an enclave acted on, so each statement is
// acted on once. The enclave backs it with its synced store; MemLedger is the in-memory double.
// The tests in package approvaltest hold every implementation to this contract.
type NonceLedger interface {
	// Use records nonce and returns nil if it was never used before; otherwise it returns an
	// error wrapping ErrNonceUsed and changes nothing. A nonce of the wrong syntax (CheckNonce)
	// is refused with an error wrapping ErrMalformed. Before Use returns nil, the record is as
	// durable as the implementation can make it (synced, for a store). notAfter is the
	// statement's expiry: after it, Policy.Check refuses the statement anyway, so an
	// implementation may forget the nonce then. Use is safe for concurrent use: of concurrent
	// calls with one nonce, exactly one succeeds.
	Use(nonce string, notAfter time.Time) error
}

// MemLedger is a NonceLedger in memory, for tests and development: it forgets everything when
// the process ends. The zero value is not usable; call NewMemLedger.
type MemLedger struct {
	mu   sync.Mutex
	used map[string]time.Time // nonce -> the statement's NotAfter
}

// NewMemLedger returns an empty ledger.
func NewMemLedger() *MemLedger { return &MemLedger{used: map[string]time.Time{}} }

// Use implements NonceLedger.
func (l *MemLedger) Use(nonce string, notAfter time.Time) error {
	if err := CheckNonce(nonce); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.used[nonce]; ok {
		return fmt.Errorf("nonce %s: %w", nonce, ErrNonceUsed)
	}
	l.used[nonce] = notAfter
	return nil
}

// Prune forgets the nonces of statements that expired before now and returns how many it
// forgot. Call it only with the clock that Policy.Check is given: a forgotten nonce stays
// refused because its statement is expired by that clock.
func (l *MemLedger) Prune(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for nonce, notAfter := range l.used {
		if now.After(notAfter) {
			delete(l.used, nonce)
			n++
		}
	}
	return n
}

// Len is how many nonces the ledger remembers.
func (l *MemLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.used)
}
