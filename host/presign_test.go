package host

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

func testPools() *presignPools {
	h := &Host{metrics: newMetrics(), log: slog.New(slog.DiscardHandler), health: map[protocol.PartyID]*partyState{}}
	return newPresignPools(h, PresignConfig{PoolSize: 64})
}

// fill puts n presignature ids, created at created, in the pool of key, path and signers.
func fill(pp *presignPools, key *wire.KeyInfo, path string, signers []protocol.PartyID, n int, created time.Time) []string {
	pk := newPoolKey(key, path, signers)
	if pp.pools[pk] == nil {
		pp.claim(key, path, signers) // registers the pool (a miss: it is empty)
	}
	pl := pp.pools[pk]
	var ids []string
	ready := slices.Clone(pl.ready)
	for range n {
		id := newSessionID()
		ids = append(ids, id)
		ready = append(ready, pooledPresig{id: id, created: created})
	}
	pp.setReadyLocked(pl, ready)
	return ids
}

// Claims racing on one pool hand out every presignature exactly once, then miss.
func TestPresignPoolClaimsEachOnce(t *testing.T) {
	pp := testPools()
	key := &wire.KeyInfo{ID: "k1", Scheme: protocol.SchemeECDSASecp256k1, Epoch: 2}
	signers := []protocol.PartyID{1, 2}
	ids := fill(pp, key, "", signers, 50, time.Now())
	var mu sync.Mutex
	got := map[string]int{}
	misses := 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				id, ok := pp.claim(key, "", signers)
				mu.Lock()
				if ok {
					got[id]++
				} else {
					misses++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != len(ids) || misses != 160-len(ids) {
		t.Fatalf("claimed %d distinct of %d, %d misses (want %d)", len(got), len(ids), misses, 160-len(ids))
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("presignature %s handed out %d times", id, got[id])
		}
	}
}

// A pool is one key at one epoch, path and signer set: another signer set or path misses, a
// newer epoch drops the old pools, expired ids are skipped, and a restarted party's are gone.
func TestPresignPoolKeys(t *testing.T) {
	pp := testPools()
	key := &wire.KeyInfo{ID: "k1", Scheme: protocol.SchemeECDSASecp256k1, Epoch: 1}
	fill(pp, key, "", []protocol.PartyID{1, 2}, 2, time.Now())
	if _, ok := pp.claim(key, "", []protocol.PartyID{1, 3}); ok {
		t.Fatal("another signer set's presignature was handed out")
	}
	if _, ok := pp.claim(key, "m/0/1", []protocol.PartyID{1, 2}); ok {
		t.Fatal("the parent key's presignature was handed out for a derived key")
	}
	newer := *key
	newer.Epoch = 2
	if _, ok := pp.claim(&newer, "", []protocol.PartyID{1, 2}); ok {
		t.Fatal("a presignature of epoch 1 was handed out at epoch 2")
	}
	if _, ok := pp.claim(key, "", []protocol.PartyID{1, 2}); ok {
		t.Fatal("the epoch-1 pool survived a look-up at epoch 2")
	}

	fresh := fill(pp, &newer, "", []protocol.PartyID{1, 2}, 1, time.Now())
	fill(pp, &newer, "", []protocol.PartyID{1, 2}, 1, time.Now().Add(-time.Hour))
	// Oldest first, but the expired one is skipped.
	pl := pp.pools[newPoolKey(&newer, "", []protocol.PartyID{1, 2})]
	pl.ready = []pooledPresig{pl.ready[1], pl.ready[0]}
	if id, ok := pp.claim(&newer, "", []protocol.PartyID{1, 2}); !ok || id != fresh[0] {
		t.Fatalf("claim gave %q, %v; want the unexpired %s", id, ok, fresh[0])
	}

	fill(pp, &newer, "", []protocol.PartyID{2, 3}, 3, time.Now())
	fill(pp, &newer, "", []protocol.PartyID{1, 3}, 3, time.Now())
	pp.forgetParty(2)
	if d := pp.depth(&newer, "", []protocol.PartyID{2, 3}); d != 0 {
		t.Fatalf("party 2 restarted but %d of its presignatures are still pooled", d)
	}
	if d := pp.depth(&newer, "", []protocol.PartyID{1, 3}); d != 3 {
		t.Fatalf("party 2's restart dropped %d presignatures of signers 1 and 3", 3-d)
	}
}

func TestPresignPoolsOnlyForECDSA(t *testing.T) {
	pp := testPools()
	for scheme, want := range map[protocol.Scheme]bool{
		protocol.SchemeECDSASecp256k1: true, protocol.SchemeECDSAP256: true,
		protocol.SchemeEd25519: false, protocol.SchemeBIP340: false, protocol.SchemeBLS12381: false,
	} {
		if got := pp.uses(scheme); got != want {
			t.Errorf("uses(%s) = %v", scheme, got)
		}
	}
	off := newPresignPools(pp.h, PresignConfig{Disabled: true})
	if off.uses(protocol.SchemeECDSASecp256k1) {
		t.Error("disabled pools are used")
	}
}

// A pool whose presign runs keep failing is not picked for a refill until its pause is over;
// a full pool, or one whose signers are down, is not picked either.
func TestPresignPoolBacksOff(t *testing.T) {
	pp := testPools()
	up := true
	pp.usable = func([]protocol.PartyID) bool { return up }
	key := &wire.KeyInfo{ID: "k1", Scheme: protocol.SchemeECDSASecp256k1}
	pp.claim(key, "", []protocol.PartyID{1, 2}) // registers the pool
	pl := pp.pools[newPoolKey(key, "", []protocol.PartyID{1, 2})]
	pl.failures, pl.retryAt = 3, time.Now().Add(time.Hour)
	if _, p := pp.next(); p != nil {
		t.Fatal("a pool in its back-off was picked for a refill")
	}
	pl.retryAt = time.Now().Add(-time.Second)
	if _, p := pp.next(); p != pl || pl.inflight != 1 {
		t.Fatalf("a pool past its back-off was not picked (got %p, inflight %d)", p, pl.inflight)
	}
	pl.inflight = pp.cfg.PoolSize
	if _, p := pp.next(); p != nil {
		t.Fatal("a pool with presign runs for every slot was picked")
	}
	pl.inflight = 0
	up = false
	if _, p := pp.next(); p != nil {
		t.Fatal("a pool whose signers are down was picked")
	}
}

func TestPresignConfigValidate(t *testing.T) {
	if err := (PresignConfig{Schemes: []protocol.Scheme{protocol.SchemeECDSAP256, protocol.SchemeEd25519, protocol.SchemeBIP340}}).Validate(); err != nil {
		t.Fatalf("valid schemes: %v", err)
	}
	err := (PresignConfig{Schemes: []protocol.Scheme{protocol.SchemeBLS12381}, Quiet: -time.Second}).Validate()
	if err == nil || !strings.Contains(err.Error(), `"bls12-381"`) || !strings.Contains(err.Error(), "presign.quiet") {
		t.Fatalf("BLS and a negative quiet: %v", err)
	}
	if c := (PresignConfig{}).withDefaults(); !slices.Equal(c.Schemes, []protocol.Scheme{protocol.SchemeECDSASecp256k1, protocol.SchemeECDSAP256}) {
		t.Fatalf("default schemes %v", c.Schemes)
	}
	pp := newPresignPools(testPools().h, PresignConfig{Schemes: []protocol.Scheme{protocol.SchemeEd25519}})
	if !pp.uses(protocol.SchemeEd25519) || pp.uses(protocol.SchemeECDSASecp256k1) {
		t.Fatal("pools are for the configured schemes only")
	}
}

// The depth gauge follows every change of the pools without walking them: fills, claims, a
// party forgotten, and a key's pools at an old epoch dropped when it is claimed at a new one.
func TestPresignPoolDepthGauge(t *testing.T) {
	pp := testPools()
	gauge := func(s protocol.Scheme) float64 {
		var m dto.Metric
		if err := pp.h.metrics.presignDepth.WithLabelValues(string(s)).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	k1 := &wire.KeyInfo{ID: "k1", Scheme: protocol.SchemeECDSASecp256k1, Epoch: 1}
	k2 := &wire.KeyInfo{ID: "k2", Scheme: protocol.SchemeECDSAP256, Epoch: 1}
	fill(pp, k1, "", []protocol.PartyID{1, 2}, 5, time.Now())
	fill(pp, k1, "m/1", []protocol.PartyID{2, 3}, 2, time.Now())
	fill(pp, k2, "", []protocol.PartyID{1, 3}, 3, time.Now())
	if g1, g2 := gauge(k1.Scheme), gauge(k2.Scheme); g1 != 7 || g2 != 3 {
		t.Fatalf("after fills: %v and %v, want 7 and 3", g1, g2)
	}
	if _, ok := pp.claim(k1, "", []protocol.PartyID{1, 2}); !ok || gauge(k1.Scheme) != 6 {
		t.Fatalf("after a claim: %v, want 6", gauge(k1.Scheme))
	}
	pp.forgetParty(3)
	if g1, g2 := gauge(k1.Scheme), gauge(k2.Scheme); g1 != 4 || g2 != 0 {
		t.Fatalf("after forgetting party 3: %v and %v, want 4 and 0", g1, g2)
	}
	reshared := *k1
	reshared.Epoch = 2
	if _, ok := pp.claim(&reshared, "", []protocol.PartyID{1, 2}); ok {
		t.Fatal("a claim at the new epoch got a presignature of the old one")
	}
	if g := gauge(k1.Scheme); g != 0 || len(pp.pools) != 2 {
		t.Fatalf("after the epoch changed: gauge %v and %d pools, want 0 and 2 (the new epoch's and k2's)", g, len(pp.pools))
	}
}
