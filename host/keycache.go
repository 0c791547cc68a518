package host

import (
	"context"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// keyCache remembers, for a moment, what a key reference (id, label or public key) resolved
// to, so that a stream of signings does not ask an enclave to look the key up for every one.
// A key's description is public; what a stale one can cause is already handled where it
// shows: an enclave refuses a signing at another epoch (stale_key) or of a key it no longer
// holds (not found), and signKey then looks the key up afresh, bypassing this cache.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	info wire.KeyInfo
	at   time.Time
}

const (
	keyCacheTTL = 2 * time.Second
	keyCacheMax = 4096
)

// signingKey looks up a key for a signing: from the cache when it is fresh, else from the
// enclaves (findKey).
func (h *Host) signingKey(ctx context.Context, ref string) (*wire.KeyInfo, error) {
	if info, ok := h.keyCache.get(ref); ok {
		return info, nil
	}
	info, err := h.findKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	h.keyCache.put(ref, info)
	return info, nil
}

func (c *keyCache) get(ref string) (*wire.KeyInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[ref]
	if !ok || time.Since(e.at) > keyCacheTTL {
		return nil, false
	}
	info := e.info
	return &info, true
}

func (c *keyCache) put(ref string, info *wire.KeyInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = map[string]cachedKey{} // a burst over many keys: start over rather than evict one by one
	}
	c.m[ref] = cachedKey{info: *info, at: time.Now()}
}

// forget drops every reference that resolved to key id (it was deleted or reshared here).
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ref, e := range c.m {
		if e.info.ID == id {
			delete(c.m, ref)
		}
	}
}
