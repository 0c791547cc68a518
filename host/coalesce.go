package host

import (
	"context"
	"fmt"
	"sync"
)

// coalescer groups concurrent calls that share a key into batched calls: calls that arrive
// while inFlight batches of their key run wait in that key's queue, and the next batch takes
// up to max of them. No call waits for a batch to fill: a key with nothing running starts at
// once, so lone calls go alone (the run gets one item) and batches form only under load.
//
// run does one batched call and returns one result per item, in order; it is never given an
// empty batch. A caller whose context ends while it waits is answered with its context's
// error and left out of the batch.
type coalescer[K comparable, T, R any] struct {
	max, inFlight int
	run           func(key K, items []T) []coalesced[R]

	mu     sync.Mutex
	queues map[K]*coalesceQueue[T, R]
}

// coalesced is one item's result.
type coalesced[R any] struct {
	val R
	err error
}

type coalesceWaiter[T, R any] struct {
	ctx  context.Context
	item T
	done chan coalesced[R] // capacity 1
}

type coalesceQueue[T, R any] struct {
	waiting []*coalesceWaiter[T, R]
	running int
}

func newCoalescer[K comparable, T, R any](max, inFlight int, run func(K, []T) []coalesced[R]) *coalescer[K, T, R] {
	return &coalescer[K, T, R]{max: max, inFlight: inFlight, run: run, queues: map[K]*coalesceQueue[T, R]{}}
}

// do queues item under key and waits for its own result.
func (c *coalescer[K, T, R]) do(ctx context.Context, key K, item T) (R, error) {
	w := &coalesceWaiter[T, R]{ctx: ctx, item: item, done: make(chan coalesced[R], 1)}
	c.mu.Lock()
	q := c.queues[key]
	if q == nil {
		q = &coalesceQueue[T, R]{}
		c.queues[key] = q
	}
	q.waiting = append(q.waiting, w)
	c.startLocked(key, q)
	c.mu.Unlock()
	select {
	case r := <-w.done:
		return r.val, r.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// startLocked starts batches for q while fewer than inFlight run.
func (c *coalescer[K, T, R]) startLocked(key K, q *coalesceQueue[T, R]) {
	for q.running < c.inFlight {
		batch := c.takeLocked(q)
		if len(batch) == 0 {
			break
		}
		q.running++
		go c.runBatch(key, q, batch)
	}
	if q.running == 0 && len(q.waiting) == 0 {
		delete(c.queues, key)
	}
}

func (c *coalescer[K, T, R]) runBatch(key K, q *coalesceQueue[T, R], batch []*coalesceWaiter[T, R]) {
	items := make([]T, len(batch))
	for i, w := range batch {
		items[i] = w.item
	}
	results := c.run(key, items)
	for i, w := range batch {
		r := coalesced[R]{err: errMissingResult}
		if i < len(results) {
			r = results[i]
		}
		w.done <- r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	q.running--
	c.startLocked(key, q)
}

// takeLocked takes up to max waiting calls whose callers still wait.
func (c *coalescer[K, T, R]) takeLocked(q *coalesceQueue[T, R]) []*coalesceWaiter[T, R] {
	var batch []*coalesceWaiter[T, R]
	for len(q.waiting) > 0 && len(batch) < c.max {
		w := q.waiting[0]
		q.waiting[0] = nil
		q.waiting = q.waiting[1:]
		if w.ctx.Err() == nil {
			batch = append(batch, w)
		}
	}
	return batch
}

// errMissingResult answers an item a batched call returned no result for (a bug in run).
var errMissingResult = fmt.Errorf("the batched call returned no result for this item: %w", ErrInternal)
