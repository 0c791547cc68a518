package ed25519

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// signingKey is a decoded and checked share in the form signing computes with. It holds a
// secret: it prints without it, and its owner zeroizes it (wipe) once done. parties and
// publicShares are never modified after decoding, so copies of a key share them.
type signingKey struct {
	threshold    int
	parties      []protocol.PartyID // ascending
	self         protocol.PartyID
	secret       *secretScalar         // x_self
	groupKey     [elementSize]byte     // PK, as it enters the hashes and crypto/ed25519
	publicShares []*edwards25519.Point // PK_m = x_m·B, aligned with parties; read-only
}

// String describes the key without its secret.
func (k signingKey) String() string {
	return fmt.Sprintf("ed25519.signingKey{%s of %v, threshold %d, public key %x}", k.self, k.parties, k.threshold, k.groupKey)
}

// GoString is String, so that %#v does not print the secret either.
func (k signingKey) GoString() string { return k.String() }

// clone returns a copy with its own secret (the public parts are shared: they are read-only).
func (k *signingKey) clone() *signingKey {
	c := *k
	c.secret = &secretScalar{s: k.secret.s}
	return &c
}

func (k *signingKey) wipe() { k.secret.wipe() }

// publicShare returns PK_p, or nil if p holds no share of the key.
func (k *signingKey) publicShare(p protocol.PartyID) *edwards25519.Point {
	i, ok := slices.BinarySearch(k.parties, p)
	if !ok {
		return nil
	}
	return k.publicShares[i]
}

// id returns the FROST identifier of p, which must hold a share.
func (k *signingKey) id(p protocol.PartyID) uint16 { return identifier(k.parties, p) }

// Decoding a share costs more than the rest of a signer's work together (JSON, five point
// decompressions, subgroup checks and the interpolation that proves the public shares
// consistent), so signing runs take their keys from signingKeys, which decodes each share once
// per process.
//
// Why that is acceptable for a secret:
//   - It is a memo of decodeSigningKey, a deterministic function of the share's bytes, keyed by
//     the SHA-256 of all of them (secret, party, threshold, group key, public shares). A hit
//     yields exactly what decoding those bytes would, so whoever supplies the bytes cannot make
//     a run sign with any share but the one they encode; a collision would need a SHA-256
//     collision. Bytes that do not decode are never cached: they fail every time, in full.
//   - Every run gets its own copy of the secret and wipes it; a run never touches the cached
//     entry, and an eviction never touches a run.
//   - It keeps in memory what the process holds anyway: the enclave reads the same share from
//     its sealed store, with the sealing key in the same memory, for every signing. The cache
//     lives in the process only (never serialized or persisted) and dies with it.
//   - It is bounded: at most keyCacheSize entries, each dropped (and its secret zeroized) when
//     it is the least recently used one beyond that size, or when it has gone unused for
//     keyCacheIdle (checked whenever the cache is used, so an idle process keeps its last keys
//     until its next signing). Nothing removes a key that is no longer wanted sooner: the
//     enclave deletes no keys today; if it ever does, it must also clear this cache.
//     (Zeroizing is best effort in Go, here as everywhere: the runtime may have copied a value.)
var signingKeys = newKeyCache(keyCacheSize, keyCacheIdle, time.Now)

const (
	keyCacheSize = 1024
	keyCacheIdle = 10 * time.Minute
)

// keyCache is a bounded, least-recently-used memo of decodeSigningKey.
type keyCache struct {
	max  int
	idle time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element // of *cachedKey
	lru     list.List                           // most recently used at the front
}

type cachedKey struct {
	digest [sha256.Size]byte
	key    *signingKey
	used   time.Time
}

func newKeyCache(max int, idle time.Duration, now func() time.Time) *keyCache {
	return &keyCache{max: max, idle: idle, now: now, entries: make(map[[sha256.Size]byte]*list.Element)}
}

// get returns the decoded key of share b, a copy its caller owns and wipes.
func (c *keyCache) get(b []byte) (*signingKey, error) {
	if len(b) > maxShareSize { // decoding refuses it: do not hash it first
		return decodeSigningKey(b)
	}
	digest := sha256.Sum256(b)
	if k := c.lookup(digest); k != nil {
		return k, nil
	}
	k, err := decodeSigningKey(b) // outside the lock: concurrent misses may decode twice, harmlessly
	if err != nil {
		return nil, err
	}
	return c.insert(digest, k), nil
}

func (c *keyCache) lookup(digest [sha256.Size]byte) *signingKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
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
func (c *keyCache) insert(digest [sha256.Size]byte, k *signingKey) *signingKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[digest]; ok {
		return k
	}
	own := k.clone()
	c.entries[digest] = c.lru.PushFront(&cachedKey{digest: digest, key: k, used: c.now()})
	for c.lru.Len() > c.max {
		c.removeLocked(c.lru.Back())
	}
	return own
}

// expireLocked drops the entries unused for longer than c.idle (the least recently used are
// at the back).
func (c *keyCache) expireLocked(now time.Time) {
	for e := c.lru.Back(); e != nil && now.Sub(e.Value.(*cachedKey).used) > c.idle; e = c.lru.Back() {
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
