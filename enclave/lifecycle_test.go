package enclave

import (
	"bytes"
	"testing"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/enclave/approval/approvaltest"
	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// TestStoreLedger holds the enclave's approval nonce ledger to the contract every ledger
// passes, including across a restart (the store reopened from disk).
func TestStoreLedger(t *testing.T) {
	approvaltest.RunNonceLedger(t, func(t *testing.T) approvaltest.Ledger {
		dir := t.TempDir()
		key := bytes.Repeat([]byte{7}, 32)
		st, err := store.OpenPebble(dir, key)
		if err != nil {
			t.Fatal(err)
		}
		return approvaltest.Ledger{
			Ledger: &storeLedger{st: st},
			Reopen: func(t *testing.T) approval.NonceLedger {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				again, err := store.OpenPebble(dir, key)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = again.Close() })
				return &storeLedger{st: again}
			},
		}
	})
}
