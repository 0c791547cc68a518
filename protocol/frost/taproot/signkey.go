package taproot

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// tweakedKey is a decoded and checked share, tweaked to the output key: what a signing run
// needs of it. It holds a secret: it prints without it, and its owner zeroizes it (wipe) once
// done. Everything but the secret is read-only after decoding, so copies of a key share it.
type tweakedKey struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	outputKey    []byte            // x(Q), the key signatures verify under
	secret       *btcec.ModNScalar // q_self = ±(x_self + t): this party's share of Q's secret key, for Q's even y
	publicShares libPublicShares   // q_m·G for every holder m, in the wrapped library's form
}

// String describes the key without its secret.
func (k tweakedKey) String() string {
	return fmt.Sprintf("bip340.tweakedKey{%s of %v, threshold %d, output key %x}", k.self, k.parties, k.threshold, k.outputKey)
}

// GoString is String, so that %#v does not print the secret either.
func (k tweakedKey) GoString() string { return k.String() }

// clone returns a copy with its own secret.
func (k *tweakedKey) clone() *tweakedKey {
	c := *k
	c.secret = new(btcec.ModNScalar).Set(k.secret)
	return &c
}

func (k *tweakedKey) wipe() { k.secret.Zero() }

// holds reports whether p holds a share of the key.
func (k *tweakedKey) holds(p protocol.PartyID) bool {
	_, ok := slices.BinarySearch(k.parties, p)
	return ok
}

// decodeTweakedKey decodes and checks a serialized share (decodeShare) and tweaks it to the
// output key.
func decodeTweakedKey(b []byte) (*tweakedKey, error) {
	s, err := decodeShare(b)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	k, err := s.tweaked()
	if err != nil {
		return nil, fmt.Errorf("bip340: invalid share: %w", err)
	}
	return k, nil
}

// Decoding a share and tweaking it cost about a quarter of a signer's CPU (JSON, seven point
// decompressions, the interpolation that proves the public shares consistent, the tweak and
// the library's parsing of the tweaked public shares), so signing runs take their keys from
// tweakedKeys, which does that once per share and process.
//
// Why that is acceptable for a secret:
//   - It is a memo of decodeTweakedKey, a deterministic function of the share's bytes, keyed
//     by the SHA-256 of all of them (secret, party, threshold, keys, public shares). A hit
//     yields exactly what decoding those bytes would, so whoever supplies the bytes cannot
//     make a run sign with any share but the one they encode; a collision would need a
//     SHA-256 collision. Bytes that do not decode are never cached: they fail every time, in
//     full.
//   - Every run gets its own copy of the secret and wipes it; a run never touches the cached
//     entry, and an eviction never touches a run.
//   - It keeps in memory what the process holds anyway: the enclave reads the same share from
//     its sealed store, with the sealing key in the same memory, for every signing. The cache
//     lives in the process only (never serialized or persisted) and dies with it.
//   - It is bounded: at most keyCacheSize entries, the least recently used one beyond that
//     dropped (and its secret zeroized); an entry unused for keyCacheIdle is dropped and
//     zeroized too, by a timer, so an idle process does not keep its keys. Nothing removes a
//     key that is no longer wanted sooner: the enclave deletes no keys today; if it ever does,
//     it must also clear this cache. (Zeroizing is best effort in Go, here as everywhere: the
//     runtime may have copied a value.)
var tweakedKeys = newKeyCache(keyCacheSize, keyCacheIdle)

const (
	keyCacheSize = 1024
	keyCacheIdle = 10 * time.Minute
)

// keyCache is a bounded, least-recently-used memo of decodeTweakedKey.
type keyCache struct {
	max  int
	idle time.Duration

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element // of *cachedKey
	lru     list.List                           // most recently used at the front
	armed   bool                                // an expiry timer is pending
}

type cachedKey struct {
	digest [sha256.Size]byte
	key    *tweakedKey
	used   time.Time
}

func newKeyCache(max int, idle time.Duration) *keyCache {
	return &keyCache{max: max, idle: idle, entries: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the tweaked key of share b, a copy its caller owns and wipes.
func (c *keyCache) get(b []byte) (*tweakedKey, error) {
	if len(b) > maxShareSize { // decoding refuses it: do not hash it first
		return decodeTweakedKey(b)
	}
	digest := sha256.Sum256(b)
	if k := c.lookup(digest); k != nil {
		return k, nil
	}
	k, err := decodeTweakedKey(b) // outside the lock: concurrent misses may decode twice, harmlessly
	if err != nil {
		return nil, err
	}
	return c.insert(digest, k), nil
}

func (c *keyCache) lookup(digest [sha256.Size]byte) *tweakedKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.expireLocked(now)
	e := c.entries[digest]
	if e == nil {
		return nil
	}
	ck := e.Value.(*cachedKey)
	ck.used = now
	c.lru.MoveToFront(e)
	return ck.key.clone()
}

// insert caches k, which the cache then owns, and returns a copy for the caller. If another
// run cached the same share meanwhile, k stays uncached and is returned itself.
func (c *keyCache) insert(digest [sha256.Size]byte, k *tweakedKey) *tweakedKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[digest]; ok {
		return k
	}
	own := k.clone()
	c.entries[digest] = c.lru.PushFront(&cachedKey{digest: digest, key: k, used: time.Now()})
	for c.lru.Len() > c.max {
		c.removeLocked(c.lru.Back())
	}
	c.armLocked()
	return own
}

// armLocked makes sure a timer will expire the least recently used entry when it has been
// idle for c.idle. One timer serves the whole cache; when it fires it re-arms itself for the
// next entry due.
func (c *keyCache) armLocked() {
	back := c.lru.Back()
	if c.armed || back == nil {
		return
	}
	c.armed = true
	time.AfterFunc(time.Until(back.Value.(*cachedKey).used.Add(c.idle)), c.expire)
}

func (c *keyCache) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	c.expireLocked(time.Now())
	c.armLocked()
}

// expireLocked drops the entries unused for c.idle or longer (the least recently used are at
// the back).
func (c *keyCache) expireLocked(now time.Time) {
	for e := c.lru.Back(); e != nil && now.Sub(e.Value.(*cachedKey).used) >= c.idle; e = c.lru.Back() {
		c.removeLocked(e)
	}
}

func (c *keyCache) removeLocked(e *list.Element) {
	ck := c.lru.Remove(e).(*cachedKey)
	delete(c.entries, ck.digest)
	ck.key.wipe()
}

// len returns the number of cached keys.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
