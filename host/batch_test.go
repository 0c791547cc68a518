package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Concurrent signings share sessions, never more than InFlight at once nor more than MaxSize
// in one, and every caller gets the answer made for its own payload.
func TestBatcherGivesEachCallerItsOwn(t *testing.T) {
	var running, most atomic.Int32
	var sizes sync.Map
	b := newBatcher(BatchConfig{MaxSize: 8, InFlight: 2}, func(q *batchQueue, reqs []*batchReq) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // a session takes a while: others queue meanwhile
		sizes.Store(len(reqs), true)
		for _, r := range reqs {
			r.done <- batchOut{sig: "sig:" + hex.EncodeToString(r.payload.bytes)}
		}
		running.Add(-1)
	})
	key := &wire.KeyInfo{ID: "k", Scheme: protocol.SchemeEd25519}
	signers := []protocol.PartyID{1, 2}
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digest := make([]byte, 32)
			rand.Read(digest)
			sig, _, err := b.sign(context.Background(), key, signPayload{bytes: digest}, signers)
			if err != nil || sig != "sig:"+hex.EncodeToString(digest) {
				t.Errorf("caller got %q, %v for its digest %x", sig, err, digest)
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 2 {
		t.Fatalf("%d sessions of one key ran at once (in_flight 2)", m)
	}
	batched := false
	sizes.Range(func(k, _ any) bool {
		if k.(int) > 8 {
			t.Errorf("a session of %d signings (max_size 8)", k.(int))
		}
		batched = batched || k.(int) > 1
		return true
	})
	if !batched {
		t.Fatal("200 concurrent signings never shared a session")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queues) != 0 {
		t.Fatalf("%d idle queues kept", len(b.queues))
	}
}

// A caller that gave up is left out of the next session; a failed session fails each of its
// callers with its error.
func TestBatcherCancelledAndFailed(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int32
	b := newBatcher(BatchConfig{MaxSize: 8, InFlight: 1}, func(q *batchQueue, reqs []*batchReq) {
		<-release
		seen.Add(int32(len(reqs)))
		for _, r := range reqs {
			r.done <- batchOut{err: ErrQuorum}
		}
	})
	key := &wire.KeyInfo{ID: "k", Scheme: protocol.SchemeBIP340}
	signers := []protocol.PartyID{1, 2}
	first := make(chan error, 1)
	go func() {
		_, _, err := b.sign(context.Background(), key, signPayload{bytes: []byte{1}}, signers)
		first <- err
	}()
	waitQueued := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			b.mu.Lock()
			q := b.queues[newPoolKey(key, "", signers)]
			running, waiting := 0, 0
			if q != nil {
				running, waiting = q.running, len(q.waiting)
			}
			b.mu.Unlock()
			if running == 1 && waiting == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d running and %d waiting, want 1 and %d", running, waiting, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitQueued(0) // the first one runs
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, _, err := b.sign(ctx, key, signPayload{bytes: []byte{2}}, signers)
		gaveUp <- err
	}()
	waitQueued(1)
	cancel()
	if err := <-gaveUp; err != context.Canceled {
		t.Fatalf("a cancelled caller got %v", err)
	}
	close(release)
	if err := <-first; err != ErrQuorum {
		t.Fatalf("a failed session gave its caller %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := seen.Load(); n != 1 {
		t.Fatalf("%d signings reached a session; the cancelled one must not", n)
	}
}

func TestBatcherSchemes(t *testing.T) {
	b := newBatcher(BatchConfig{}, nil)
	for scheme, want := range map[protocol.Scheme]bool{
		protocol.SchemeEd25519: true, protocol.SchemeBIP340: true,
		protocol.SchemeECDSASecp256k1: false, protocol.SchemeECDSAP256: false, protocol.SchemeBLS12381: false,
	} {
		if got := b.uses(scheme); got != want {
			t.Errorf("uses(%s) = %v", scheme, got)
		}
	}
	if newBatcher(BatchConfig{Disabled: true}, nil).uses(protocol.SchemeEd25519) {
		t.Error("a disabled batcher batches")
	}
	if c := (BatchConfig{MaxSize: 1000}).withDefaults(); c.MaxSize != protocol.MaxBatch || c.InFlight != 2 {
		t.Errorf("defaults: %+v", c)
	}
}
