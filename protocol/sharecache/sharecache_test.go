package sharecache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// secret stands for an engine's decoded share: a secret that Clone copies and Wipe zeroizes.
type secret struct{ b []byte }

func cloneSecret(s *secret) *secret { return &secret{b: bytes.Clone(s.b)} }

func wipeSecret(s *secret) { clear(s.b) }

func (s *secret) isZero() bool { return bytes.Count(s.b, []byte{0}) == len(s.b) }

var errBadShare = errors.New("not a share")

// decodeSecret takes "share:" and a secret; the secret is read case-insensitively, so that
// different bytes can decode to one value, as JSON field names do in the engines' shares.
func decodeSecret(share []byte) (*secret, error) {
	rest, ok := bytes.CutPrefix(share, []byte("share:"))
	if !ok || len(rest) == 0 {
		return nil, fmt.Errorf("%q: %w", share, errBadShare)
	}
	return &secret{b: bytes.ToLower(rest)}, nil
}

// testCache is a cache of secrets that counts its decodings.
type testCache struct {
	*Cache[*secret]
	decodes atomic.Int64
}

func newTestCache(max int, idle time.Duration) *testCache {
	tc := &testCache{}
	tc.Cache = New(Config[*secret]{
		Max: max, Idle: idle, MaxShare: 64,
		Decode: func(b []byte) (*secret, error) { tc.decodes.Add(1); return decodeSecret(b) },
		Clone:  cloneSecret,
		Wipe:   wipeSecret,
	})
	return tc
}

// held returns the value the cache holds for share (not a copy), or nil.
func (c *Cache[T]) held(share []byte) (v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[sha256.Sum256(share)]; e != nil {
		v = e.Value.(*entry[T]).value
	}
	return v
}

// wiped reports whether s is zero, read under the cache's lock: the cache wipes the values it
// drops under it, from its timer's goroutine too.
func (c *testCache) wiped(s *secret) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.isZero()
}

func mustGet(t testing.TB, c *testCache, share string) *secret {
	t.Helper()
	s, err := c.Get([]byte(share))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHitsAreIndependentCopies(t *testing.T) {
	c := newTestCache(4, time.Minute)
	first, again := mustGet(t, c, "share:abc"), mustGet(t, c, "share:abc")
	held := c.held([]byte("share:abc"))
	if c.decodes.Load() != 1 || c.Len() != 1 {
		t.Fatalf("two gets of one share: %d decodings, %d entries; want 1 and 1", c.decodes.Load(), c.Len())
	}
	for _, s := range []*secret{first, again, held} {
		if string(s.b) != "abc" {
			t.Fatalf("got %q, want what decoding gives", s.b)
		}
	}
	if &first.b[0] == &again.b[0] || &first.b[0] == &held.b[0] || &again.b[0] == &held.b[0] {
		t.Fatal("the cache does not hand out independent copies")
	}
	wipeSecret(first) // a caller wiping its copy leaves the cache and other callers alone
	if again.isZero() || held.isZero() || string(mustGet(t, c, "share:abc").b) != "abc" {
		t.Fatal("wiping a copy wiped the cached value")
	}
}

// Shares that decode to the same value from other bytes are other entries, and a share that
// differs from a cached one in any byte is decoded on its own.
func TestKeyedByEveryByte(t *testing.T) {
	c := newTestCache(64, time.Minute)
	orig := "share:secret"
	mustGet(t, c, orig)
	held := c.held([]byte(orig))
	valid := 0
	for i := range len(orig) {
		for _, bit := range []byte{0x01, 0x20} {
			b := []byte(orig)
			b[i] ^= bit
			want, wantErr := decodeSecret(b)
			before, decodes := c.Len(), c.decodes.Load()
			got, err := c.Get(b)
			switch {
			case c.decodes.Load() != decodes+1:
				t.Fatalf("%q was not decoded: the cache answered for other bytes", b)
			case (err == nil) != (wantErr == nil):
				t.Fatalf("%q: cache %v, decoding %v", b, err, wantErr)
			case err != nil:
				if c.Len() != before {
					t.Fatalf("%q does not decode, yet was cached", b)
				}
			case !bytes.Equal(got.b, want.b) || c.Len() != before+1:
				t.Fatalf("%q: got %q with %d entries, want %q as an entry of its own", b, got.b, c.Len(), want.b)
			default:
				valid++
			}
		}
	}
	if valid == 0 {
		t.Fatal("no variant decoded: the test does not exercise keying")
	}
	if c.held([]byte("share:sEcret")) == nil || c.held([]byte(orig)) != held || string(held.b) != "secret" {
		t.Fatal("the same value under other bytes is not an entry of its own, or the original entry changed")
	}
}

func TestInvalidSharesAreNeverCached(t *testing.T) {
	c := newTestCache(8, time.Minute)
	for _, share := range []string{"", "share:", "shore:abc"} {
		for range 2 {
			if _, err := c.Get([]byte(share)); !errors.Is(err, errBadShare) {
				t.Fatalf("Get(%q) = %v, want the decoding error", share, err)
			}
		}
	}
	if c.Len() != 0 || c.decodes.Load() != 6 {
		t.Fatalf("%d entries after %d decodings; want none cached and every Get decoded", c.Len(), c.decodes.Load())
	}
}

// A share longer than MaxShare goes to Decode as it is and is never cached, even by a Decode
// that does not refuse it as it should.
func TestOversizedSharesBypassTheCache(t *testing.T) {
	c := newTestCache(8, time.Minute)
	long := "share:" + strings.Repeat("a", 64)
	for range 2 {
		if s := mustGet(t, c, long); len(s.b) != 64 {
			t.Fatalf("got %d bytes", len(s.b))
		}
	}
	if c.Len() != 0 || c.decodes.Load() != 2 {
		t.Fatalf("%d entries, %d decodings", c.Len(), c.decodes.Load())
	}
}

func TestEvictionWipes(t *testing.T) {
	c := newTestCache(2, time.Minute)
	copies := map[string]*secret{}
	for _, share := range []string{"share:one", "share:two"} {
		copies[share] = mustGet(t, c, share)
	}
	// One was used least recently: use it again, so that three evicts two.
	kept, evicted := c.held([]byte("share:one")), c.held([]byte("share:two"))
	mustGet(t, c, "share:one")
	mustGet(t, c, "share:three")
	if c.Len() != 2 || c.held([]byte("share:two")) != nil || !evicted.isZero() {
		t.Fatalf("the least recently used value was not evicted and wiped (%d entries)", c.Len())
	}
	if kept.isZero() || c.held([]byte("share:one")) != kept {
		t.Fatal("a recently used value was evicted")
	}
	if string(copies["share:two"].b) != "two" {
		t.Fatal("evicting a value wiped a copy a caller holds")
	}
}

// Values unused for the idle time are dropped and wiped by the cache's timer, with no further
// use of the cache, and a use postpones it.
func TestIdleExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(8, time.Minute)
		mustGet(t, c, "share:one")
		mustGet(t, c, "share:two")
		one, two := c.held([]byte("share:one")), c.held([]byte("share:two"))
		time.Sleep(40 * time.Second)
		mustGet(t, c, "share:two")   // used again
		time.Sleep(20 * time.Second) // 60 s after one was last used
		synctest.Wait()
		if c.held([]byte("share:one")) != nil || !c.wiped(one) {
			t.Fatal("a value idle for the idle time was kept")
		}
		if c.held([]byte("share:two")) != two || c.wiped(two) {
			t.Fatal("a value used within the idle time was dropped")
		}
		time.Sleep(40 * time.Second) // 60 s after two was last used
		synctest.Wait()
		if c.Len() != 0 || !c.wiped(two) {
			t.Fatal("the last value outlived its idle time")
		}
	})
}

// An entry past its idle time is dropped, not handed out, when the cache is used before its
// timer fires.
func TestExpiredEntriesAreNeverHandedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(8, time.Minute)
		c.armed = true // as if a timer were pending: none will fire
		mustGet(t, c, "share:one")
		held := c.held([]byte("share:one"))
		time.Sleep(time.Minute)
		decodes := c.decodes.Load()
		mustGet(t, c, "share:one")
		if c.decodes.Load() != decodes+1 || !held.isZero() {
			t.Fatal("an expired entry was handed out, or not wiped")
		}
	})
}

func TestForget(t *testing.T) {
	c := newTestCache(8, time.Minute)
	held := mustGet(t, c, "share:gone")
	mustGet(t, c, "share:kept")
	cached := c.held([]byte("share:gone"))
	if !c.Cached([]byte("share:gone")) {
		t.Fatal("a share just decoded is not cached")
	}
	c.Forget([]byte("share:gone"))
	if c.Len() != 1 || c.Cached([]byte("share:gone")) || c.held([]byte("share:gone")) != nil || !cached.isZero() {
		t.Fatal("Forget did not drop and wipe the entry")
	}
	if string(held.b) != "gone" || c.held([]byte("share:kept")) == nil {
		t.Fatal("Forget touched a caller's copy or another entry")
	}
	c.Forget([]byte("share:never cached"))
	if c.Len() != 1 {
		t.Fatal("forgetting an unknown share changed the cache")
	}
	decodes := c.decodes.Load()
	mustGet(t, c, "share:gone")
	if c.decodes.Load() != decodes+1 {
		t.Fatal("a forgotten share was not decoded again")
	}
}

// The package-level Forget reaches every cache New made, whatever it holds.
func TestForgetEveryCache(t *testing.T) {
	a, b := newTestCache(8, time.Minute), newTestCache(8, time.Minute)
	lengths := New(Config[int]{
		Max: 8, Idle: time.Minute, MaxShare: 64,
		Decode: func(b []byte) (int, error) { return len(b), nil },
		Clone:  func(n int) int { return n },
		Wipe:   func(int) {},
	})
	share := []byte("share:everywhere")
	mustGet(t, a, string(share))
	mustGet(t, b, string(share))
	mustGet(t, b, "share:other")
	if _, err := lengths.Get(share); err != nil {
		t.Fatal(err)
	}
	inA := a.held(share)
	if !Cached(share) || !lengths.Cached(share) {
		t.Fatal("Cached does not see the share")
	}
	Forget(share)
	if Cached(share) || a.Len() != 0 || b.Len() != 1 || lengths.Len() != 0 || !inA.isZero() {
		t.Fatalf("after Forget: %d, %d and %d entries; want 0, 1 (another share) and 0", a.Len(), b.Len(), lengths.Len())
	}
}

// A decoding that a Forget overlaps is not cached: the Forget may have been for its share,
// which must not come back.
func TestForgetDuringDecode(t *testing.T) {
	decoding, release := make(chan struct{}), make(chan struct{})
	c := New(Config[*secret]{
		Max: 8, Idle: time.Minute, MaxShare: 64,
		Decode: func(b []byte) (*secret, error) { close(decoding); <-release; return decodeSecret(b) },
		Clone:  cloneSecret,
		Wipe:   wipeSecret,
	})
	share := []byte("share:deleted")
	got := make(chan *secret)
	go func() {
		s, _ := c.Get(share)
		got <- s
	}()
	<-decoding
	Forget(share)
	close(release)
	if s := <-got; s == nil || string(s.b) != "deleted" {
		t.Fatalf("Get returned %v", s)
	}
	if c.Len() != 0 {
		t.Fatal("a share forgotten while it was decoded was cached")
	}
}

// Many goroutines get and forget values in a cache too small for them, so that evictions run
// while others hold and use copies (run it with -race).
func TestConcurrentUse(t *testing.T) {
	c := newTestCache(2, time.Minute)
	shares := []string{"share:a", "share:b", "share:c"}
	var wg sync.WaitGroup
	errs := make(chan error, 96)
	for i := range 96 {
		wg.Go(func() {
			share := shares[i%len(shares)]
			if i%7 == 0 {
				Forget([]byte(share))
			}
			s, err := c.Get([]byte(share))
			switch {
			case err != nil:
				errs <- err
			case string(s.b) != strings.TrimPrefix(share, "share:"):
				errs <- fmt.Errorf("got %q for %q", s.b, share)
			default:
				wipeSecret(s)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.Len() > 2 {
		t.Fatalf("%d entries in a cache of 2", c.Len())
	}
}

func TestCachesDoNotPrintSecrets(t *testing.T) {
	c := newTestCache(8, time.Minute)
	mustGet(t, c, "share:0123456789abcdef")
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c.Cache, c.Cache, c.Cache, c.Cache)} {
		if strings.Contains(s, "0123456789abcdef") || strings.Contains(s, "30313233") {
			t.Fatalf("printing the cache shows the secret: %s", s)
		}
	}
}

// A cache nobody holds any more leaves the registry, so that making caches (as tests do)
// does not grow it.
func TestCollectedCachesLeaveTheRegistry(t *testing.T) {
	before := len(registered())
	func() {
		for range 16 {
			newTestCache(1, time.Minute)
		}
	}()
	for range 10 {
		runtime.GC()
		if len(registered()) <= before {
			return
		}
	}
	t.Fatalf("%d caches registered after collecting the 16 made, %d before", len(registered()), before)
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	ok := Config[*secret]{Max: 1, Idle: time.Minute, MaxShare: 1, Decode: decodeSecret, Clone: cloneSecret, Wipe: wipeSecret}
	for name, change := range map[string]func(*Config[*secret]){
		"negative Max":  func(c *Config[*secret]) { c.Max = -1 },
		"negative Idle": func(c *Config[*secret]) { c.Idle = -time.Second },
		"no MaxShare":   func(c *Config[*secret]) { c.MaxShare = 0 },
		"no Decode":     func(c *Config[*secret]) { c.Decode = nil },
		"no Clone":      func(c *Config[*secret]) { c.Clone = nil },
		"no Wipe":       func(c *Config[*secret]) { c.Wipe = nil },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			change(&cfg)
			defer func() {
				if recover() == nil {
					t.Fatal("New accepted it")
				}
			}()
			New(cfg)
		})
	}
}

func TestZeroBoundsAreTheDefaults(t *testing.T) {
	c := New(Config[*secret]{MaxShare: 64, Decode: decodeSecret, Clone: cloneSecret, Wipe: wipeSecret})
	if c.cfg.Max != DefaultMax || c.cfg.Idle != DefaultIdle {
		t.Fatalf("bounds %d and %v, want the defaults", c.cfg.Max, c.cfg.Idle)
	}
}
