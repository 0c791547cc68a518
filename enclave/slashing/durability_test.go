package slashing

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// slowStore wraps a Store: Apply waits for gate (if set), sleeps delay,
// then fails with fail (if set) or applies. It counts Apply calls.
type slowStore struct {
	store.Store
	gate    chan struct{}
	delay   time.Duration
	applies atomic.Int64

	mu   sync.Mutex
	fail error
}

func (s *slowStore) Apply(b *store.Batch) error {
	s.applies.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	time.Sleep(s.delay)
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.Store.Apply(b)
}

// TestDurableAcrossReopen records through a DB over Pebble, closes only
// the store, reopens it, and checks that conflicting requests are refused.
func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st := openPebble(t, dir)
	db := openDB(t, st, Options{})
	pk, pk2 := testPK(1), testPK(2)
	mustNil(t, "block", db.SignBlock(gvrA, pk, 10, testRoot(1)))
	mustNil(t, "attestation", db.SignAttestation(gvrA, pk, 1, 2, testRoot(1)))
	mustNil(t, "block 2", db.SignBlock(gvrA, pk2, 10, testRoot(1)))
	mustNil(t, "disable", db.Disable(pk2))
	mustNil(t, "high watermark", db.SetHighWatermark(1000, 100))
	mustNil(t, "close", st.Close())

	st = openPebble(t, dir)
	db = openDB(t, st, Options{})
	wantRefusal[*DoubleProposal](t, db.SignBlock(gvrA, pk, 10, testRoot(2)))
	wantRefusal[*DoubleVote](t, db.SignAttestation(gvrA, pk, 1, 2, testRoot(2)))
	wantRefusal[*BelowWatermark](t, db.SignBlock(gvrA, pk, 9, testRoot(2)))
	wantRefusal[*Disabled](t, db.SignBlock(gvrA, pk2, 11, testRoot(1)))
	wantRefusal[*WrongGenesis](t, db.SignBlock(gvrB, pk, 11, testRoot(1)))
	wantRefusal[*AboveHighWatermark](t, db.SignBlock(gvrA, pk, 1000, testRoot(1)))
	mustNil(t, "repeat", db.SignBlock(gvrA, pk, 10, testRoot(1)))
	mustNil(t, "repeat attestation", db.SignAttestation(gvrA, pk, 1, 2, testRoot(1)))
	if h, ok := db.HighWatermark(); !ok || h != (HighWatermark{1000, 100}) {
		t.Fatalf("high watermark after reopen: %v %v", h, ok)
	}
	mustNil(t, "clear high watermark", db.ClearHighWatermark())
	mustNil(t, "close", st.Close())

	st = openPebble(t, dir)
	db = openDB(t, st, Options{})
	if _, ok := db.HighWatermark(); ok {
		t.Fatal("high watermark still set after ClearHighWatermark and reopen")
	}
	mustNil(t, "block above the old high watermark", db.SignBlock(gvrA, pk, 1000, testRoot(1)))
	wantRefusal[*Disabled](t, db.SignBlock(gvrA, pk2, 11, testRoot(1)))
	mustNil(t, "enable", db.Enable(pk2))
	mustNil(t, "close", st.Close())

	st = openPebble(t, dir)
	db = openDB(t, st, Options{})
	mustNil(t, "block after Enable and reopen", db.SignBlock(gvrA, pk2, 11, testRoot(1)))
	wantRefusal[*DoubleProposal](t, db.SignBlock(gvrA, pk2, 10, testRoot(2)))
}

// TestNoSuccessBeforeDurable holds the store's Apply and checks that
// neither the request nor a repeat of it returns before the write lands.
func TestNoSuccessBeforeDurable(t *testing.T) {
	mem := store.NewMem()
	st := &slowStore{Store: mem, gate: make(chan struct{})}
	db := openDB(t, st, Options{})
	pk := testPK(1)

	first, repeat := make(chan error, 1), make(chan error, 1)
	go func() { first <- db.SignBlock(gvrA, pk, 10, testRoot(1)) }()
	for st.applies.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	go func() { repeat <- db.SignBlock(gvrA, pk, 10, testRoot(1)) }()
	// A conflicting request is refused at once, from memory.
	wantRefusal[*DoubleProposal](t, db.SignBlock(gvrA, pk, 10, testRoot(2)))
	select {
	case err := <-first:
		t.Fatalf("SignBlock returned (%v) before its write was applied", err)
	case err := <-repeat:
		t.Fatalf("repeated SignBlock returned (%v) before the record it repeats was applied", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(st.gate)
	mustNil(t, "first", <-first)
	mustNil(t, "repeat", <-repeat)
	if _, err := mem.Get(testPrefix + "v/" + hexPK(pk) + "/b/000000000000000a"); err != nil {
		t.Fatalf("block record not in the store after success: %v", err)
	}
}

// TestWriteFailureRefusesEverything: after a failed write the database
// answers ErrFailed to everything (its memory may be ahead of the disk);
// opening it again from the store recovers.
func TestWriteFailureRefusesEverything(t *testing.T) {
	mem := store.NewMem()
	st := &slowStore{Store: mem}
	db := openDB(t, st, Options{})
	pk := testPK(1)
	mustNil(t, "block", db.SignBlock(gvrA, pk, 1, testRoot(1)))

	st.mu.Lock()
	st.fail = errors.New("disk on fire")
	st.mu.Unlock()
	err := db.SignBlock(gvrA, pk, 2, testRoot(1))
	if !errors.Is(err, ErrFailed) || errors.Is(err, ErrSlashable) {
		t.Fatalf("SignBlock with a failing store: %v, want ErrFailed", err)
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	for name, err := range map[string]error{
		"repeat":      db.SignBlock(gvrA, pk, 2, testRoot(1)),
		"attestation": db.SignAttestation(gvrA, testPK(2), 1, 2, testRoot(1)),
		"disable":     db.Disable(pk),
		"import":      db.Import(interchangeJSON(gvrA, pk, nil, nil)),
	} {
		if !errors.Is(err, ErrFailed) {
			t.Errorf("%s after a failed write: %v, want ErrFailed", name, err)
		}
	}
	if _, err := db.Export(nil); !errors.Is(err, ErrFailed) {
		t.Errorf("Export after a failed write: %v, want ErrFailed", err)
	}

	db = openDB(t, mem, Options{})
	mustNil(t, "block 2 after reopen", db.SignBlock(gvrA, pk, 2, testRoot(2)))
	wantRefusal[*DoubleProposal](t, db.SignBlock(gvrA, pk, 1, testRoot(2)))
}

// TestFailedImportChangesNothing: a store failure during Import leaves the
// database as it was and usable.
func TestFailedImportChangesNothing(t *testing.T) {
	mem := store.NewMem()
	st := &slowStore{Store: mem}
	db := openDB(t, st, Options{})
	pk := testPK(1)
	mustNil(t, "block", db.SignBlock(gvrA, pk, 10, testRoot(1)))
	before, err := db.Export(nil)
	mustNil(t, "export", err)

	st.mu.Lock()
	st.fail = errors.New("disk full")
	st.mu.Unlock()
	if err := db.Import(interchangeJSON(gvrA, pk, []string{"50"}, []string{"1-2"})); err == nil {
		t.Fatal("Import succeeded with a failing store")
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	after, err := db.Export(nil)
	mustNil(t, "export", err)
	if string(before) != string(after) {
		t.Fatalf("failed import changed the database:\n%s\n%s", before, after)
	}
	mustNil(t, "block 20", db.SignBlock(gvrA, pk, 20, testRoot(1)))
}
