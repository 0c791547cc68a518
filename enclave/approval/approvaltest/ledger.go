// Package approvaltest holds the tests every approval.NonceLedger must pass, so the in-memory
// ledger and the enclave's store-backed one are held to one contract. It is for tests only and
// must never be imported by production code.
package approvaltest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
)

// Ledger is what RunNonceLedger needs of an implementation: a fresh, empty ledger, and a way to
// open it again over the same durable state (nil for an implementation that keeps nothing, such
// as MemLedger; then the durability case is skipped).
type Ledger struct {
	Ledger approval.NonceLedger
	// Reopen returns a second ledger over the durable state Ledger wrote, as a restarted
	// enclave would see it.
	Reopen func(t *testing.T) approval.NonceLedger
}

// RunNonceLedger runs the NonceLedger contract against ledgers made by open; each subtest gets a
// fresh one.
func RunNonceLedger(t *testing.T, open func(t *testing.T) Ledger) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l Ledger)
	}{
		{"FirstUseSucceeds", testFirstUse},
		{"ReuseRefused", testReuse},
		{"ReuseWithOtherExpiryRefused", testReuseOtherExpiry},
		{"DistinctNoncesIndependent", testDistinct},
		{"MalformedNonceRefused", testMalformed},
		{"ConcurrentUseOnce", testConcurrent},
		{"SurvivesReopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Nonce is a fixed, valid nonce for test number i.
func Nonce(i int) string { return fmt.Sprintf("%032x", 0xa11ce000+i) }

// notAfter is an expiry far enough ahead that no implementation may forget the nonce during the
// test; it is fixed, so nothing depends on the clock.
var notAfter = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func testFirstUse(t *testing.T, l Ledger) {
	if err := l.Ledger.Use(Nonce(1), notAfter); err != nil {
		t.Fatalf("first Use of a fresh nonce: %v", err)
	}
}

func testReuse(t *testing.T, l Ledger) {
	mustUse(t, l.Ledger, Nonce(1))
	wantUsed(t, l.Ledger, Nonce(1), notAfter)
}

func testReuseOtherExpiry(t *testing.T, l Ledger) {
	mustUse(t, l.Ledger, Nonce(1))
	wantUsed(t, l.Ledger, Nonce(1), notAfter.Add(time.Hour))
	wantUsed(t, l.Ledger, Nonce(1), notAfter.Add(-time.Hour))
}

func testDistinct(t *testing.T, l Ledger) {
	for i := range 5 {
		mustUse(t, l.Ledger, Nonce(i))
	}
	for i := range 5 {
		wantUsed(t, l.Ledger, Nonce(i), notAfter)
	}
}

func testMalformed(t *testing.T, l Ledger) {
	for _, bad := range []string{"", "00", Nonce(1) + "00", strings.ToUpper(Nonce(1)), "g0000000000000000000000000000000", " " + Nonce(1)[1:]} {
		err := l.Ledger.Use(bad, notAfter)
		if !errors.Is(err, approval.ErrMalformed) || errors.Is(err, approval.ErrNonceUsed) {
			t.Errorf("Use(%q) = %v; want an error wrapping ErrMalformed", bad, err)
		}
	}
	// A refused malformed nonce leaves the ledger usable.
	mustUse(t, l.Ledger, Nonce(1))
}

func testConcurrent(t *testing.T, l Ledger) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = l.Ledger.Use(Nonce(7), notAfter) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, approval.ErrNonceUsed):
			t.Errorf("concurrent Use #%d: %v; want nil or ErrNonceUsed", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent Uses of one nonce succeeded; want exactly 1", ok, n)
	}
}

func testReopen(t *testing.T, l Ledger) {
	if l.Reopen == nil {
		t.Skip("the implementation keeps no durable state")
	}
	mustUse(t, l.Ledger, Nonce(1))
	again := l.Reopen(t)
	wantUsed(t, again, Nonce(1), notAfter)
	mustUse(t, again, Nonce(2))
}

func mustUse(t *testing.T, l approval.NonceLedger, nonce string) {
	t.Helper()
	if err := l.Use(nonce, notAfter); err != nil {
		t.Fatalf("Use(%s): %v", nonce, err)
	}
}

func wantUsed(t *testing.T, l approval.NonceLedger, nonce string, na time.Time) {
	t.Helper()
	if err := l.Use(nonce, na); !errors.Is(err, approval.ErrNonceUsed) {
		t.Errorf("Use(%s) again = %v; want ErrNonceUsed", nonce, err)
	}
}
