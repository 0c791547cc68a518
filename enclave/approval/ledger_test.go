package approval_test

import (
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/enclave/approval/approvaltest"
)

func TestMemLedgerConformance(t *testing.T) {
	approvaltest.RunNonceLedger(t, func(t *testing.T) approvaltest.Ledger {
		return approvaltest.Ledger{Ledger: approval.NewMemLedger()}
	})
}

// TestMemLedgerPrune: pruning forgets exactly the nonces of statements expired by the given
// time; the others stay refused.
func TestMemLedgerPrune(t *testing.T) {
	l := approval.NewMemLedger()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		if err := l.Use(approvaltest.Nonce(i), t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Prune(t0.Add(time.Hour)); n != 1 || l.Len() != 3 {
		t.Fatalf("Prune at +1h forgot %d, kept %d; want 1 and 3 (expiry at +1h is still valid then)", n, l.Len())
	}
	if err := l.Use(approvaltest.Nonce(1), t0.Add(time.Hour)); err == nil {
		t.Fatal("a nonce valid at the pruning time was forgotten")
	}
	if err := l.Use(approvaltest.Nonce(0), t0); err != nil {
		t.Fatalf("a pruned nonce: %v", err)
	}
}
