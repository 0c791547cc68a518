// Package sharecache keeps decoded secret key shares in process memory, so that an engine
// whose decoding of a share costs much of a signing's CPU decodes each share once per process
// instead of once per signature. A Cache is a memo of one engine's decode function: bounded,
// least recently used, idle-expiring, and cleared of a share by Forget when its key is deleted.
//
// Why caching a secret is acceptable:
//   - A Cache is a memo of a deterministic function of a share's bytes, keyed by the SHA-256 of
//     all of them. A hit yields exactly what decoding those bytes would, so whoever supplies the
//     bytes cannot make a run sign with any share but the one they encode; a collision would
//     need a SHA-256 collision. Bytes that do not decode are never cached: they fail every time,
//     in full.
//   - Every caller gets its own copy of the secret (Config.Clone) and wipes it; a caller never
//     touches the cached value, and dropping an entry never touches a caller's copy.
//   - It keeps in memory what the process holds anyway: the enclave reads the same share from
//     its sealed store, with the sealing key in the same memory, for every signing.
//   - It is bounded: at most Config.Max entries (DefaultMax unless set), the least recently
//     used one beyond that dropped and wiped; an entry unused for Config.Idle (DefaultIdle
//     unless set) is dropped and wiped too, by a timer, so an idle process does not keep its
//     keys.
//   - A deleted key leaves every cache at once: the enclave calls the package-level Forget with
//     the share as soon as the deletion is durable, and each Cache made by New drops and wipes
//     its entry for it. A decoding under way when Forget runs is not cached. A signing that
//     read the share before the deletion and starts after it caches the share again, until it
//     idles out or is evicted.
//
// Zeroizing is best effort in Go, here as everywhere: the runtime may have copied a value.
//
// This package must never persist, serialize, log or print a secret (it holds no logger, and a
// Cache prints as its size only), hand a caller the cached value itself rather than a copy,
// cache bytes that failed to decode, or grow beyond its bound.
package sharecache

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
	"weak"
)

// The bounds a Config gets unless it sets its own: enough entries for every key an enclave
// signs with in a busy period, and an idle time after which a key is read again from the
// sealed store rather than kept.
const (
	DefaultMax  = 1024
	DefaultIdle = 10 * time.Minute
)

// Config describes what a Cache holds and how long.
type Config[T any] struct {
	// Max is the number of entries kept at most (DefaultMax if zero); beyond it the least
	// recently used is dropped.
	Max int
	// Idle is how long an entry is kept unused before it is dropped (DefaultIdle if zero).
	Idle time.Duration
	// MaxShare is the size beyond which Decode refuses a share: longer bytes go straight to
	// Decode, without being hashed, and are never cached.
	MaxShare int
	// Decode decodes and checks a share. It must be deterministic: the same bytes always give
	// the same value or an error.
	Decode func(share []byte) (T, error)
	// Clone returns a copy of a decoded value with a secret of its own; parts that are never
	// modified may be shared.
	Clone func(T) T
	// Wipe zeroizes a value's secret.
	Wipe func(T)
}

// withDefaults returns cfg with its zero bounds set to the defaults, or an error if it is
// incomplete.
func (cfg Config[T]) withDefaults() (Config[T], error) {
	if cfg.Max == 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Idle == 0 {
		cfg.Idle = DefaultIdle
	}
	switch {
	case cfg.Max < 0:
		return cfg, fmt.Errorf("sharecache: Max is %d, want a positive number", cfg.Max)
	case cfg.Idle < 0:
		return cfg, fmt.Errorf("sharecache: Idle is %v, want a positive duration", cfg.Idle)
	case cfg.MaxShare < 1:
		return cfg, fmt.Errorf("sharecache: MaxShare is %d, want at least 1", cfg.MaxShare)
	case cfg.Decode == nil || cfg.Clone == nil || cfg.Wipe == nil:
		return cfg, fmt.Errorf("sharecache: Decode, Clone and Wipe are all required")
	}
	return cfg, nil
}

type digest = [sha256.Size]byte

// Cache is a bounded, least-recently-used, idle-expiring memo of Config.Decode. It is safe for
// concurrent use.
type Cache[T any] struct {
	cfg Config[T]

	mu      sync.Mutex
	entries map[digest]*list.Element // of *entry[T]
	lru     list.List                // most recently used at the front
	armed   bool                     // an expiry timer is pending
	forgets uint64                   // Forget calls so far: a decode that overlapped one is not cached
}

type entry[T any] struct {
	digest digest
	value  T
	used   time.Time
}

// New returns an empty cache and registers it with the package-level Forget. It panics if cfg
// is incomplete: caches are made once, at package initialization, from constants.
func New[T any](cfg Config[T]) *Cache[T] {
	cfg, err := cfg.withDefaults()
	if err != nil {
		panic(err)
	}
	c := &Cache[T]{cfg: cfg, entries: make(map[digest]*list.Element)}
	register(c)
	return c
}

// Get returns the decoded value of share: a copy its caller owns and wipes. Bytes that do not
// decode give Decode's error, every time.
func (c *Cache[T]) Get(share []byte) (T, error) {
	if len(share) > c.cfg.MaxShare { // Decode refuses it: do not hash it first
		return c.cfg.Decode(share)
	}
	d := sha256.Sum256(share)
	v, forgets, ok := c.lookup(d)
	if ok {
		return v, nil
	}
	// Outside the lock: concurrent misses may decode twice, harmlessly.
	v, err := c.cfg.Decode(share)
	if err != nil {
		var zero T
		return zero, err
	}
	return c.insert(d, v, forgets), nil
}

// lookup returns a copy of the value cached under d, if any, and the count of Forget calls
// before it.
func (c *Cache[T]) lookup(d digest) (v T, forgets uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.expireLocked(now) // the timer may be late: never hand out an expired entry
	e := c.entries[d]
	if e == nil {
		return v, c.forgets, false
	}
	en := e.Value.(*entry[T])
	en.used = now
	c.lru.MoveToFront(e)
	return c.cfg.Clone(en.value), c.forgets, true
}

// insert caches v, which the cache then owns, and returns a copy for the caller. v stays
// uncached, and is returned itself, if another caller cached the same share meanwhile or a
// Forget ran while v was decoded (it may have been for this share).
func (c *Cache[T]) insert(d digest, v T, forgets uint64) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[d]; ok || c.forgets != forgets {
		return v
	}
	own := c.cfg.Clone(v)
	c.entries[d] = c.lru.PushFront(&entry[T]{digest: d, value: v, used: time.Now()})
	for c.lru.Len() > c.cfg.Max {
		c.removeLocked(c.lru.Back())
	}
	c.armLocked()
	return own
}

// armLocked makes sure a timer will expire the least recently used entry when it has been
// idle for Config.Idle. One timer serves the whole cache; when it fires it re-arms itself for
// the next entry due.
func (c *Cache[T]) armLocked() {
	back := c.lru.Back()
	if c.armed || back == nil {
		return
	}
	c.armed = true
	time.AfterFunc(time.Until(back.Value.(*entry[T]).used.Add(c.cfg.Idle)), c.expire)
}

func (c *Cache[T]) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	c.expireLocked(time.Now())
	c.armLocked()
}

// expireLocked drops the entries unused for Config.Idle or longer (the least recently used
// are at the back). At exactly Idle, so that a timer firing on time finds its entry due.
func (c *Cache[T]) expireLocked(now time.Time) {
	for e := c.lru.Back(); e != nil && now.Sub(e.Value.(*entry[T]).used) >= c.cfg.Idle; e = c.lru.Back() {
		c.removeLocked(e)
	}
}

func (c *Cache[T]) removeLocked(e *list.Element) {
	en := c.lru.Remove(e).(*entry[T])
	delete(c.entries, en.digest)
	c.cfg.Wipe(en.value)
}

// Forget drops and wipes the entry of share, if there is one. Copies callers hold are theirs.
func (c *Cache[T]) Forget(share []byte) { c.forget(sha256.Sum256(share)) }

func (c *Cache[T]) forget(d digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	if e := c.entries[d]; e != nil {
		c.removeLocked(e)
	}
}

// Cached reports whether share's value is cached, without using it. It tells its caller
// nothing about a share it does not hold: it is there to check that a share was dropped.
func (c *Cache[T]) Cached(share []byte) bool { return c.cached(sha256.Sum256(share)) }

func (c *Cache[T]) cached(d digest) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[d] != nil
}

// Len returns the number of cached values.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// String describes the cache by its size, so that printing one never shows a secret.
func (c *Cache[T]) String() string { return fmt.Sprintf("sharecache.Cache{%d entries}", c.Len()) }

// GoString is String, so that %#v does not print the entries either.
func (c *Cache[T]) GoString() string { return c.String() }

// Forget drops and wipes share's entry from every cache made by New. The enclave calls it once
// a key's deletion is durable; it knows the share's bytes, not which engine decodes them.
func Forget(share []byte) {
	d := sha256.Sum256(share)
	for _, c := range registered() {
		c.forget(d)
	}
}

// Cached reports whether any cache made by New holds share's value.
func Cached(share []byte) bool {
	d := sha256.Sum256(share)
	for _, c := range registered() {
		if c.cached(d) {
			return true
		}
	}
	return false
}

// The registry holds the caches made by New weakly: a cache nobody uses any more (one a test
// made) is collected and leaves it.
var registry struct {
	mu     sync.Mutex
	caches []func() forgetter // the cache, or nil once it has been collected
}

// forgetter is what the registry needs of a Cache, whatever it holds.
type forgetter interface {
	forget(digest)
	cached(digest) bool
}

func register[T any](c *Cache[T]) {
	p := weak.Make(c)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	liveLocked()
	registry.caches = append(registry.caches, func() forgetter {
		if live := p.Value(); live != nil {
			return live
		}
		return nil
	})
}

func registered() []forgetter {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return liveLocked()
}

// liveLocked returns the registered caches still in use and drops the others.
func liveLocked() []forgetter {
	kept, live := registry.caches[:0], make([]forgetter, 0, len(registry.caches))
	for _, cache := range registry.caches {
		if c := cache(); c != nil {
			kept, live = append(kept, cache), append(live, c)
		}
	}
	clear(registry.caches[len(kept):])
	registry.caches = kept
	return live
}
