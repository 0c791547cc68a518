package slashing

import (
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

func hexPK(pk Pubkey) string { return hex.EncodeToString(pk[:]) }

// race starts n goroutines at once, each running f(i), and returns their
// errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = f(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// exactlyOne checks that one request succeeded and every other was refused
// with a T.
func exactlyOne[T error](t *testing.T, errs []error) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		var want T
		if !errors.As(err, &want) || !errors.Is(err, ErrSlashable) {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d conflicting requests succeeded, want exactly 1", ok, len(errs))
	}
}

// TestConcurrentConflicts sends 64 conflicting attestations and 64
// conflicting blocks for one validator at once: exactly one of each wins.
func TestConcurrentConflicts(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		db := openDB(t, st, Options{})
		pk := testPK(1)
		exactlyOne[*DoubleVote](t, race(64, func(i int) error {
			return db.SignAttestation(gvrA, pk, 3, 4, testRoot(byte(i)))
		}))
		exactlyOne[*DoubleProposal](t, race(64, func(i int) error {
			return db.SignBlock(gvrA, pk, 100, testRoot(byte(i)))
		}))
		// Surround in both directions, racing: one of each pair wins.
		exactlyOne[error](t, race(2, func(i int) error {
			if i == 0 {
				return db.SignAttestation(gvrA, pk, 5, 10, testRoot(1))
			}
			return db.SignAttestation(gvrA, pk, 6, 9, testRoot(1))
		}))
	})
}

// TestConcurrentValidators: many validators signing at once all succeed,
// and group commit makes them share writes.
func TestConcurrentValidators(t *testing.T) {
	const validators, rounds = 64, 5
	backends(t, func(t *testing.T, inner store.Store) {
		st := &slowStore{Store: inner, delay: 2 * time.Millisecond}
		db := openDB(t, st, Options{})
		for _, err := range race(validators, func(i int) error {
			pk := testPK(byte(i))
			for e := uint64(1); e <= rounds; e++ {
				if err := db.SignAttestation(gvrA, pk, e-1, e, testRoot(byte(e))); err != nil {
					return err
				}
				if err := db.SignBlock(gvrA, pk, e*32+uint64(i%32), testRoot(byte(e))); err != nil {
					return err
				}
			}
			return nil
		}) {
			mustNil(t, "sign", err)
		}
		requests := int64(validators * rounds * 2)
		applies := st.applies.Load()
		t.Logf("%d requests took %d store writes", requests, applies)
		if applies > requests/4 {
			t.Errorf("%d requests took %d store writes: group commit is not coalescing", requests, applies)
		}
		// Everything is on disk: a fresh DB over the same store refuses
		// the conflicts.
		db2 := openDB(t, inner, Options{})
		for i := range validators {
			wantRefusal[*DoubleVote](t, db2.SignAttestation(gvrA, testPK(byte(i)), rounds-1, rounds, testRoot(0)))
		}
	})
}

// TestConcurrentEverything mixes signing, disabling, importing, exporting
// and the high watermark, for the race detector.
func TestConcurrentEverything(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		db := openDB(t, st, Options{RetainAttestations: 4, RetainBlocks: 2})
		mustNil(t, "BindGenesis", db.BindGenesis(gvrA))
		errs := race(16, func(i int) error {
			pk := testPK(byte(i % 8))
			for e := uint64(1); e <= 20; e++ {
				var err error
				switch i % 4 {
				case 0:
					err = db.SignAttestation(gvrA, pk, e-1, e, testRoot(byte(i)))
				case 1:
					err = db.SignBlock(gvrA, pk, e, testRoot(byte(i)))
				case 2:
					_, err = db.Export(nil)
				case 3:
					if e%5 == 0 {
						err = db.Disable(pk)
					} else {
						err = db.Import(interchangeJSON(gvrA, pk, []string{"1"}, []string{"0-1"}))
					}
				}
				if err != nil && !errors.Is(err, ErrSlashable) {
					return err
				}
			}
			return nil
		})
		for _, err := range errs {
			mustNil(t, "concurrent request", err)
		}
	})
}
