package slashing

import (
	"fmt"
	"sync"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// flight is one batch of writes on its way to the store. Flights are
// applied one at a time, in the order they were opened, so once a flight is
// done every earlier one is too.
type flight struct {
	batch *store.Batch
	done  bool
	err   error
}

// committer implements group commit: callers add their writes to the open
// flight and then wait for it. Whoever waits while no flight is being
// applied becomes the leader: it takes the open flight, applies it with one
// store.Apply (one sync), and wakes everybody. Writes added meanwhile go
// into the next flight, so N concurrent callers cost about two syncs, not N.
// No goroutine of its own runs, so there is nothing to stop.
type committer struct {
	st store.Store

	mu      sync.Mutex
	cond    sync.Cond
	open    *flight
	running bool
	failed  error // sticky: the first failed Apply
}

func newCommitter(st store.Store) *committer {
	c := &committer{st: st, open: &flight{batch: store.NewBatch()}}
	c.cond.L = &c.mu
	return c
}

// err returns an error wrapping ErrFailed if a write has failed.
func (c *committer) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failedErr()
}

func (c *committer) failedErr() error {
	if c.failed == nil {
		return nil
	}
	return fmt.Errorf("slashing: a write to the store failed (%v); refusing everything until the database is opened again: %w",
		c.failed, ErrFailed)
}

// add lets fill append writes to the open flight and returns that flight.
// fill runs under the committer's lock and must not block.
func (c *committer) add(fill func(b *store.Batch)) (*flight, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.failedErr(); err != nil {
		return nil, err
	}
	fill(c.open.batch)
	return c.open, nil
}

// wait returns once f has been applied, with the error of applying it.
func (c *committer) wait(f *flight) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !f.done {
		if c.running {
			c.cond.Wait()
			continue
		}
		// Lead: f is either the open flight or already done, since flights
		// are applied in order and none is running.
		cur := c.open
		c.open = &flight{batch: store.NewBatch()}
		c.running = true
		var err error
		if c.failed != nil {
			err = c.failedErr()
		} else {
			c.mu.Unlock()
			err = c.st.Apply(cur.batch)
			c.mu.Lock()
			if err != nil {
				c.failed = err
				err = c.failedErr()
			}
		}
		cur.done, cur.err = true, err
		c.running = false
		c.cond.Broadcast()
	}
	return f.err
}

// applyNow applies b on its own, after everything added before it. The
// caller must make sure nobody adds writes meanwhile (DB.mu held for
// writing). A failure leaves the store unchanged (Apply is atomic), so it
// does not poison the database.
func (c *committer) applyNow(b *store.Batch) error {
	c.mu.Lock()
	for c.running {
		c.cond.Wait()
	}
	if err := c.failedErr(); err != nil {
		c.mu.Unlock()
		return err
	}
	if c.open.batch.Len() != 0 {
		// Everybody who added waits for it and holds DB.mu for reading, so
		// this cannot happen while DB.mu is held for writing.
		c.mu.Unlock()
		return fmt.Errorf("slashing: internal error: writes pending during an exclusive write; nothing was changed")
	}
	c.running = true
	c.mu.Unlock()

	err := c.st.Apply(b)

	c.mu.Lock()
	c.running = false
	c.cond.Broadcast()
	c.mu.Unlock()
	return err
}
