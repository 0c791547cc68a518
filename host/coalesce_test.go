package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Concurrent calls share batches, never more than inFlight at once per key nor more than max in
// one, never mixing keys, and every caller gets the result made for its own item.
func TestCoalescerGivesEachCallerItsOwn(t *testing.T) {
	var running, most atomic.Int32
	var mu sync.Mutex
	sizes := map[int]int{}
	c := newCoalescer(8, 2, func(key string, items []int) []coalesced[string] {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond) // a batch takes a while: others queue meanwhile
		mu.Lock()
		sizes[len(items)]++
		mu.Unlock()
		out := make([]coalesced[string], len(items))
		for i, it := range items {
			out[i].val = key + ":" + string(rune('a'+it%26))
		}
		return out
	})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "k"
			got, err := c.do(context.Background(), key, i)
			if want := key + ":" + string(rune('a'+i%26)); err != nil || got != want {
				t.Errorf("caller %d got %q, %v; want %q", i, got, err, want)
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 2 {
		t.Fatalf("%d batches of one key ran at once (inFlight 2)", m)
	}
	batched := false
	for size := range sizes {
		if size > 8 {
			t.Errorf("a batch of %d (max 8)", size)
		}
		batched = batched || size > 1
	}
	if !batched {
		t.Fatal("200 concurrent calls never shared a batch")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queues) != 0 {
		t.Fatalf("%d idle queues kept", len(c.queues))
	}
}

// Calls of different keys never share a batch.
func TestCoalescerKeysApart(t *testing.T) {
	c := newCoalescer(64, 1, func(key int, items []int) []coalesced[int] {
		time.Sleep(2 * time.Millisecond)
		out := make([]coalesced[int], len(items))
		for i, it := range items {
			if it%3 != key {
				out[i].err = errors.New("an item of another key in this batch")
			}
			out[i].val = key
		}
		return out
	})
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := c.do(context.Background(), i%3, i); err != nil || got != i%3 {
				t.Errorf("item %d: %d, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
}

// A caller that gave up is left out of the next batch; a failed batch fails each of its
// callers with its error; a result missing for an item is an error, not a zero value.
func TestCoalescerCancelledAndFailed(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int32
	c := newCoalescer(8, 1, func(_ string, items []int) []coalesced[int] {
		<-release
		seen.Add(int32(len(items)))
		out := make([]coalesced[int], len(items))
		for i := range out {
			out[i].err = ErrQuorum
		}
		return out
	})
	state := func() (running, waiting int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if q := c.queues["k"]; q != nil {
			return q.running, len(q.waiting)
		}
		return 0, 0
	}
	waitState := func(wantWaiting int) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			r, w := state()
			if r == 1 && w == wantWaiting {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d running and %d waiting, want 1 and %d", r, w, wantWaiting)
			}
			time.Sleep(time.Millisecond)
		}
	}
	first := make(chan error, 1)
	go func() {
		_, err := c.do(context.Background(), "k", 1)
		first <- err
	}()
	waitState(0)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := c.do(ctx, "k", 2)
		gaveUp <- err
	}()
	waitState(1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled caller got %v", err)
	}
	close(release)
	if err := <-first; !errors.Is(err, ErrQuorum) {
		t.Fatalf("a failed batch gave its caller %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := seen.Load(); n != 1 {
		t.Fatalf("%d calls reached a batch; the cancelled one must not", n)
	}

	short := newCoalescer(8, 1, func(string, []int) []coalesced[int] { return nil })
	if _, err := short.do(context.Background(), "k", 1); !errors.Is(err, ErrInternal) {
		t.Fatalf("an item without a result got %v", err)
	}
}

func TestBatcherSchemes(t *testing.T) {
	b := newBatcher(BatchConfig{}, nil)
	for scheme, want := range map[protocol.Scheme]bool{
		protocol.SchemeEd25519: true, protocol.SchemeBIP340: true,
		protocol.SchemeECDSASecp256k1: false, protocol.SchemeECDSAP256: false, protocol.SchemeBLS12381: false,
	} {
		if got := b.batchesFROST(scheme); got != want {
			t.Errorf("batchesFROST(%s) = %v", scheme, got)
		}
	}
	if newBatcher(BatchConfig{Disabled: true}, nil).batchesFROST(protocol.SchemeEd25519) {
		t.Error("a disabled batcher batches")
	}
	if c := (BatchConfig{MaxSize: 1000}).withDefaults(); c.MaxSize != protocol.MaxBatch || c.InFlight != 2 {
		t.Errorf("defaults: %+v", c)
	}
}

// Pooled ECDSA signings in flight together go as one batch, each item with its own digest and
// presignature, and each caller gets its own item's signature; with batching off each goes
// alone.
func TestBatcherPresignedItems(t *testing.T) {
	key := &wire.KeyInfo{ID: "k1", Scheme: protocol.SchemeECDSASecp256k1, Epoch: 3}
	signers := []protocol.PartyID{1, 3}
	release := make(chan struct{})
	var mu sync.Mutex
	var sessions [][]batchItem
	run := func(items []batchItem) []coalesced[batchSig] {
		mu.Lock()
		sessions = append(sessions, items)
		first := len(sessions) == 1
		mu.Unlock()
		if first {
			<-release // the first session runs while the others queue
		}
		out := make([]coalesced[batchSig], len(items))
		for i, it := range items {
			rid := int(it.payload.bytes[0])
			out[i] = coalesced[batchSig]{val: batchSig{sig: "sig-of-" + it.presig, rid: &rid}}
		}
		return out
	}
	b := newBatcher(BatchConfig{InFlight: 1}, run)
	const n = 6
	type answer struct {
		i   int
		sig string
		rid *int
		err error
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			payload := signPayload{bytes: []byte{byte(i), 0xaa}}
			sig, rid, err := b.sign(context.Background(), key, payload, signers, fmt.Sprintf("p%d", i))
			answers <- answer{i, sig, rid, err}
		}()
		if i == 0 {
			waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sessions) == 1 })
		}
	}
	pk := batchKey{newPoolKey(key, "", signers), true}
	waitFor(t, func() bool {
		b.c.mu.Lock()
		defer b.c.mu.Unlock()
		return b.c.queues[pk] != nil && len(b.c.queues[pk].waiting) == n-1
	})
	close(release)
	for range n {
		a := <-answers
		if a.err != nil || a.sig != fmt.Sprintf("sig-of-p%d", a.i) || a.rid == nil || *a.rid != a.i {
			t.Fatalf("caller %d got %q %v %v", a.i, a.sig, a.rid, a.err)
		}
	}
	if len(sessions) != 2 || len(sessions[0]) != 1 || len(sessions[1]) != n-1 {
		t.Fatalf("sessions of %v items; want one alone, then the %d that queued together", sizes(sessions), n-1)
	}
	args := batchArgs(sessions[1])
	if args.Presignature != "" || args.Digest != "" || len(args.Batch) != n-1 {
		t.Fatalf("a batch's arguments: %+v", args)
	}
	for _, item := range args.Batch {
		if item.Presignature == "" || item.Digest == "" || item.Digest[2:] != "aa" || "p"+fmt.Sprint(int(item.Digest[1]-'0')) != item.Presignature {
			t.Fatalf("batch item %+v does not carry its own digest and presignature", item)
		}
	}
	if one := batchArgs(sessions[0]); one.Presignature != "p0" || one.Digest != "00aa" || one.Batch != nil {
		t.Fatalf("a lone item's arguments: %+v", one)
	}

	calls := 0
	off := newBatcher(BatchConfig{Disabled: true}, func(items []batchItem) []coalesced[batchSig] {
		calls++
		if len(items) != 1 {
			t.Errorf("batching off: %d items in one call", len(items))
		}
		return []coalesced[batchSig]{{val: batchSig{sig: "s"}}}
	})
	if sig, _, err := off.sign(context.Background(), key, signPayload{bytes: []byte{1}}, signers, "p"); err != nil || sig != "s" || calls != 1 {
		t.Fatalf("batching off: %q %v after %d calls", sig, err, calls)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the condition did not come to hold within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func sizes(sessions [][]batchItem) []int {
	var out []int
	for _, s := range sessions {
		out = append(out, len(s))
	}
	return out
}
