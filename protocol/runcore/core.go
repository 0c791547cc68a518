// Package runcore is the lifecycle every threshold engine's protocol.Run shares: starting once,
// admitting inbound payloads (state, sender and size checks), an outbound queue that Start and
// Handle never block on, and the delivery of exactly one result on Done, after the queue has
// drained (or at once after Abort).
//
// It knows nothing of any protocol's messages or secrets. It must never block a caller of Start,
// Handle or Abort, and never deliver more than one result; the engine that embeds Core keeps its
// protocol state under Core.Mu and wipes its secrets in Release.
package runcore

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// errAborted is the cause reported when Abort is called with a nil error.
var errAborted = errors.New("aborted")

// Core is embedded by an engine's keygen and sign runs.
//
// Concurrency: Mu guards everything below it, including the protocol state of the run that
// embeds Core. Start and Handle append to the queue under Mu and never block; the pump
// goroutine (started by BeginLocked) is the only reader of the queue's head and the only sender
// on Done once it runs. It sends the result only after the queue has drained, unless Abort
// asked it to hurry.
type Core struct {
	Task         string // "keygen" or "sign"
	Self         protocol.PartyID
	Participants []protocol.PartyID // everyone in the run, self included

	name       string // the engine, for messages
	maxPayload int
	errEnded   error

	outgoing chan protocol.Outgoing // unbuffered
	done     chan protocol.Result   // capacity 1, sent to once
	wake     chan struct{}          // capacity 1: the pump has something to look at

	Mu      sync.Mutex
	Started bool
	Ended   bool
	hurry   bool             // Abort: deliver the result without draining the queue
	result  *protocol.Result // set when the run ends; delivered by the pump
	queue   []protocol.Outgoing
	// Release wipes the run's secrets; it is called once, when the run ends.
	Release func()
}

// New returns a Core for engine name (used in messages); errEnded is the engine's sentinel for
// input after the end, and payloads over maxPayload bytes are refused.
func New(name, task string, self protocol.PartyID, participants []protocol.PartyID, maxPayload int, errEnded error) Core {
	return Core{
		Task: task, Self: self, Participants: participants,
		name: name, maxPayload: maxPayload, errEnded: errEnded,
		outgoing: make(chan protocol.Outgoing),
		done:     make(chan protocol.Result, 1),
		wake:     make(chan struct{}, 1),
	}
}

// Outgoing implements protocol.Run.
func (c *Core) Outgoing() <-chan protocol.Outgoing { return c.outgoing }

// Done implements protocol.Run.
func (c *Core) Done() <-chan protocol.Result { return c.done }

// Abort implements protocol.Run: it ends the run with err unless it has already ended, and
// makes Done yield at once, dropping payloads not yet taken from Outgoing.
func (c *Core) Abort(err error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if !c.Ended {
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe == nil {
			cause := err
			if cause == nil {
				cause = errAborted
			}
			pe = &protocol.Error{Task: c.Task, Cause: cause}
		}
		c.EndLocked(protocol.Result{Err: pe})
	}
	c.hurry = true
	c.signal()
}

// BeginLocked marks the run started and starts the pump.
func (c *Core) BeginLocked() error {
	switch {
	case c.Ended:
		return c.errEnded
	case c.Started:
		return fmt.Errorf("%s: %s run already started", c.name, c.Task)
	}
	c.Started = true
	go c.pump()
	return nil
}

// AdmitLocked checks the run's state and a payload's envelope before it is decoded.
func (c *Core) AdmitLocked(from protocol.PartyID, payload []byte) error {
	if c.Ended {
		return c.errEnded
	}
	var err *protocol.Error
	switch {
	case !c.Started:
		err = c.Errorf(0, nil, "payload from %s before Start", from)
	case from == c.Self:
		err = c.Errorf(0, nil, "payload claims to come from this party (%s)", from)
	case !slices.Contains(c.Participants, from):
		err = c.Errorf(0, nil, "payload from %s, which is not a participant", from)
	case len(payload) == 0:
		err = c.Errorf(0, []protocol.PartyID{from}, "empty payload from %s", from)
	case len(payload) > c.maxPayload:
		err = c.Errorf(0, []protocol.PartyID{from}, "payload from %s is too large (%d bytes, limit %d)", from, len(payload), c.maxPayload)
	}
	if err != nil {
		return c.FailLocked(err)
	}
	return nil
}

// EmitLocked queues payloads for Outgoing.
func (c *Core) EmitLocked(out ...protocol.Outgoing) {
	c.queue = append(c.queue, out...)
	c.signal()
}

// FailLocked ends the run with err unless it has already ended, and returns err.
func (c *Core) FailLocked(err error) error {
	if !c.Ended {
		c.EndLocked(protocol.Result{Err: err})
	}
	return err
}

// EndLocked records the outcome, releases the run's secrets and hands the outcome to the
// pump (or straight to Done if the run never started).
func (c *Core) EndLocked(res protocol.Result) {
	c.Ended = true
	c.result = &res
	if c.Release != nil {
		c.Release()
		c.Release = nil
	}
	if !c.Started {
		c.done <- res // capacity 1, sent to once
		c.result = nil
		return
	}
	c.signal()
}

func (c *Core) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// pump feeds the queue to Outgoing in order and delivers the result once the queue has
// drained (or at once after Abort). Only the pump removes payloads from the queue.
func (c *Core) pump() {
	for {
		c.Mu.Lock()
		if c.result != nil && (len(c.queue) == 0 || c.hurry) {
			c.done <- *c.result // capacity 1, sent to once: never blocks
			c.result = nil
			clear(c.queue)
			c.queue = nil
			c.Mu.Unlock()
			return
		}
		var (
			send chan<- protocol.Outgoing
			next protocol.Outgoing
		)
		if len(c.queue) > 0 {
			send, next = c.outgoing, c.queue[0]
		}
		c.Mu.Unlock()

		select {
		case send <- next:
			c.Mu.Lock()
			c.queue[0] = protocol.Outgoing{}
			c.queue = c.queue[1:]
			c.Mu.Unlock()
		case <-c.wake:
		}
	}
}

// Errorf builds the run's error for round (0 when no round applies).
func (c *Core) Errorf(round int, culprits []protocol.PartyID, format string, args ...any) *protocol.Error {
	return &protocol.Error{Task: c.Task, Round: round, Culprits: culprits, Cause: fmt.Errorf(format, args...)}
}
