package host

import (
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// A look-up is reused only while fresh, and forgetting a key drops every reference to it.
func TestKeyCache(t *testing.T) {
	var c keyCache
	c.put("treasury", &wire.KeyInfo{ID: "k1", Epoch: 3})
	c.put("k1", &wire.KeyInfo{ID: "k1", Epoch: 3})
	c.put("other", &wire.KeyInfo{ID: "k2"})
	if info, ok := c.get("treasury"); !ok || info.ID != "k1" || info.Epoch != 3 {
		t.Fatalf("get = %+v, %v", info, ok)
	}
	c.forget("k1")
	if _, ok := c.get("treasury"); ok {
		t.Fatal("a forgotten key is still cached under its label")
	}
	if _, ok := c.get("k1"); ok {
		t.Fatal("a forgotten key is still cached under its id")
	}
	if _, ok := c.get("other"); !ok {
		t.Fatal("forgetting one key dropped another")
	}
	c.m["other"] = cachedKey{info: wire.KeyInfo{ID: "k2"}, at: time.Now().Add(-keyCacheTTL - time.Millisecond)}
	if _, ok := c.get("other"); ok {
		t.Fatal("an expired look-up was reused")
	}
}
