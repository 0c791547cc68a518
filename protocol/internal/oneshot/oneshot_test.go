package oneshot

import (
	"errors"
	"sync"
	"testing"
)

// secret is a state whose Wipe is observable.
type secret struct {
	key   []byte
	wiped int
}

func (s *secret) Wipe() {
	clear(s.key)
	s.wiped++
}

func newSecret() *secret { return &secret{key: []byte{1, 2, 3}} }

var (
	errUsed      = errors.New("used")
	errDiscarded = errors.New("discarded")
)

func TestTakeOnce(t *testing.T) {
	s := newSecret()
	h := New(s)
	if err := h.Gone(); err != nil {
		t.Fatalf("Gone of a fresh holder: %v, want nil", err)
	}
	got, err := h.Take(errUsed)
	if err != nil || got != s {
		t.Fatalf("first Take: %p, %v; want %p, nil", got, err, s)
	}
	if h.state != nil {
		t.Fatal("the holder kept a reference to the state it handed out")
	}
	for _, why := range []error{errUsed, errDiscarded, nil} {
		if got, err := h.Take(why); got != nil || !errors.Is(err, errUsed) {
			t.Fatalf("Take(%v) after the state was taken: %p, %v; want nil, %v", why, got, err, errUsed)
		}
	}
	if err := h.Gone(); !errors.Is(err, errUsed) {
		t.Fatalf("Gone after Take: %v, want %v", err, errUsed)
	}
	if s.wiped != 0 {
		t.Fatal("Take wiped the state it handed out")
	}
}

func TestDiscard(t *testing.T) {
	s := newSecret()
	h := New(s)
	h.Discard(errDiscarded)
	h.Discard(errUsed)
	if s.wiped != 1 || s.key[0] != 0 {
		t.Fatalf("after two Discards the state was wiped %d times (key %v), want once", s.wiped, s.key)
	}
	if got, err := h.Take(errUsed); got != nil || !errors.Is(err, errDiscarded) {
		t.Fatalf("Take after Discard: %p, %v; want nil, %v", got, err, errDiscarded)
	}
}

// TestDiscardAfterTake: a Discard that comes too late must not wipe what the taker holds.
func TestDiscardAfterTake(t *testing.T) {
	s := newSecret()
	h := New(s)
	if _, err := h.Take(errUsed); err != nil {
		t.Fatal(err)
	}
	h.Discard(errDiscarded)
	if s.wiped != 0 || s.key[0] != 1 {
		t.Fatal("Discard wiped a state that had been taken")
	}
	if err := h.Gone(); !errors.Is(err, errUsed) {
		t.Fatalf("Gone: %v, want the taker's reason %v", err, errUsed)
	}
}

func TestNilReasons(t *testing.T) {
	h := New(newSecret())
	if _, err := h.Take(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Take(errUsed); !errors.Is(err, ErrTaken) {
		t.Fatalf("Take after a Take without a reason: %v, want %v", err, ErrTaken)
	}
	var zero Holder[*secret]
	if got, err := zero.Take(errUsed); got != nil || !errors.Is(err, ErrTaken) {
		t.Fatalf("Take of a zero Holder: %p, %v; want nil, %v", got, err, ErrTaken)
	}
	if err := zero.Gone(); !errors.Is(err, ErrTaken) {
		t.Fatalf("Gone of a zero Holder: %v, want %v", err, ErrTaken)
	}
	zero.Discard(nil) // nothing to wipe, and no panic
}

// TestTakeRace: of many goroutines taking or discarding at once, exactly one gets the state,
// and every other Take fails with the winner's reason. Run it with -race.
func TestTakeRace(t *testing.T) {
	const goroutines = 32
	for range 100 {
		s := newSecret()
		h := New(s)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			won   []*secret
			fails []error
		)
		start := make(chan struct{})
		for i := range goroutines {
			wg.Go(func() {
				<-start
				if i%4 == 0 {
					h.Discard(errDiscarded)
					return
				}
				got, err := h.Take(errUsed)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fails = append(fails, err)
					return
				}
				won = append(won, got)
			})
		}
		close(start)
		wg.Wait()
		want := errDiscarded
		switch {
		case len(won) > 1:
			t.Fatalf("%d goroutines took the state, want at most 1", len(won))
		case len(won) == 1:
			want = errUsed
			if won[0] != s || s.wiped != 0 {
				t.Fatal("the winner got another state, or one that a Discard wiped")
			}
		case s.wiped != 1:
			t.Fatalf("Discard won, and the state was wiped %d times, want once", s.wiped)
		}
		if len(won)+len(fails) != goroutines*3/4 {
			t.Fatalf("%d Takes won and %d failed, want %d in all", len(won), len(fails), goroutines*3/4)
		}
		for _, err := range fails {
			if !errors.Is(err, want) {
				t.Fatalf("a losing Take: %v, want the winner's reason %v", err, want)
			}
		}
	}
}

// TestTakeRaceOnlyTakers: with Takes alone, exactly one of them gets the state.
func TestTakeRaceOnlyTakers(t *testing.T) {
	const goroutines = 16
	s := newSecret()
	h := New(s)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range goroutines {
		wg.Go(func() {
			if got, err := h.Take(errUsed); err == nil && got == s {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of %d concurrent Takes got the state, want exactly 1", wins, goroutines)
	}
}
