package ed25519

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("ed25519: run has ended")

// errAborted is the cause reported when Abort is called with a nil error.
var errAborted = errors.New("aborted")

// core is what keygen and sign runs share: the run's lifecycle, its outbound queue and the
// delivery of its result.
//
// Concurrency: mu guards everything below it, including the protocol state of the run that
// embeds core. Start and Handle append to queue under mu and never block; the pump goroutine
// (started by Start) is the only reader of queue's head and the only sender on done once it
// runs. It sends the result only after the queue has drained, unless Abort set hurry.
type core struct {
	task         string // "keygen" or "sign"
	self         protocol.PartyID
	participants []protocol.PartyID // everyone in the run, self included, ascending

	outgoing chan protocol.Outgoing // unbuffered
	done     chan protocol.Result   // capacity 1, sent to once
	wake     chan struct{}          // capacity 1: the pump has something to look at

	mu      sync.Mutex
	started bool
	ended   bool
	hurry   bool             // Abort: deliver the result without draining the queue
	result  *protocol.Result // set when the run ends; delivered by the pump
	queue   []protocol.Outgoing
	release func() // wipes the run's secrets; called once, when the run ends
}

func newCore(task string, self protocol.PartyID, participants []protocol.PartyID) core {
	return core{
		task:         task,
		self:         self,
		participants: participants,
		outgoing:     make(chan protocol.Outgoing),
		done:         make(chan protocol.Result, 1),
		wake:         make(chan struct{}, 1),
	}
}

// Outgoing implements protocol.Run.
func (c *core) Outgoing() <-chan protocol.Outgoing { return c.outgoing }

// Done implements protocol.Run.
func (c *core) Done() <-chan protocol.Result { return c.done }

// Abort implements protocol.Run: it ends the run with err unless it has already ended, and
// makes Done yield at once, dropping payloads not yet taken from Outgoing.
func (c *core) Abort(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe == nil {
			cause := err
			if cause == nil {
				cause = errAborted
			}
			pe = &protocol.Error{Task: c.task, Cause: cause}
		}
		c.endLocked(protocol.Result{Err: pe})
	}
	c.hurry = true
	c.signal()
}

// beginLocked marks the run started and starts the pump.
func (c *core) beginLocked() error {
	switch {
	case c.ended:
		return ErrEnded
	case c.started:
		return fmt.Errorf("ed25519: %s run already started", c.task)
	}
	c.started = true
	go c.pump()
	return nil
}

// admitLocked checks the run's state and a payload's envelope before it is decoded.
func (c *core) admitLocked(from protocol.PartyID, payload []byte) error {
	if c.ended {
		return ErrEnded
	}
	var err *protocol.Error
	switch {
	case !c.started:
		err = c.errorf(0, nil, "payload from %s before Start", from)
	case from == c.self:
		err = c.errorf(0, nil, "payload claims to come from this party (%s)", from)
	case !slices.Contains(c.participants, from):
		err = c.errorf(0, nil, "payload from %s, which is not a participant", from)
	case len(payload) == 0:
		err = c.errorf(0, []protocol.PartyID{from}, "empty payload from %s", from)
	case len(payload) > MaxPayloadSize:
		err = c.errorf(0, []protocol.PartyID{from}, "payload from %s is too large (%d bytes, limit %d)", from, len(payload), MaxPayloadSize)
	}
	if err != nil {
		return c.failLocked(err)
	}
	return nil
}

// emitLocked queues payloads for Outgoing.
func (c *core) emitLocked(out ...protocol.Outgoing) {
	c.queue = append(c.queue, out...)
	c.signal()
}

// failLocked ends the run with err unless it has already ended, and returns err.
func (c *core) failLocked(err error) error {
	if !c.ended {
		c.endLocked(protocol.Result{Err: err})
	}
	return err
}

// endLocked records the outcome, releases the run's secrets and hands the outcome to the
// pump (or straight to Done if the run never started).
func (c *core) endLocked(res protocol.Result) {
	c.ended = true
	c.result = &res
	if c.release != nil {
		c.release()
		c.release = nil
	}
	if !c.started {
		c.done <- res // capacity 1, sent to once
		c.result = nil
		return
	}
	c.signal()
}

func (c *core) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// pump feeds the queue to Outgoing in order and delivers the result once the queue has
// drained (or at once after Abort). Only the pump removes payloads from the queue.
func (c *core) pump() {
	for {
		c.mu.Lock()
		if c.result != nil && (len(c.queue) == 0 || c.hurry) {
			c.done <- *c.result // capacity 1, sent to once: never blocks
			c.result = nil
			clear(c.queue)
			c.queue = nil
			c.mu.Unlock()
			return
		}
		var (
			send chan<- protocol.Outgoing
			next protocol.Outgoing
		)
		if len(c.queue) > 0 {
			send, next = c.outgoing, c.queue[0]
		}
		c.mu.Unlock()

		select {
		case send <- next:
			c.mu.Lock()
			c.queue[0] = protocol.Outgoing{}
			c.queue = c.queue[1:]
			c.mu.Unlock()
		case <-c.wake:
		}
	}
}

// errorf builds the run's error for round (0 when no round applies).
func (c *core) errorf(round int, culprits []protocol.PartyID, format string, args ...any) *protocol.Error {
	return &protocol.Error{Task: c.task, Round: round, Culprits: culprits, Cause: fmt.Errorf(format, args...)}
}

// checkEnvelope checks what every decoded payload must satisfy: the session nonce, the sender
// it names, and the broadcast flag its kind requires.
func (c *core) checkEnvelope(from protocol.PartyID, broadcast bool, m *message, nonce []byte) error {
	culprit := []protocol.PartyID{from}
	round := kindRound(m.kind)
	switch {
	case string(m.nonce[:]) != string(nonce):
		return c.errorf(round, culprit, "%s sent a payload of another session", from)
	case m.from != from:
		return c.errorf(round, culprit, "%s sent a payload that names %s as its sender", from, m.from)
	case broadcastKind(m.kind) != broadcast:
		how := "point-to-point"
		if broadcastKind(m.kind) {
			how = "broadcast"
		}
		return c.errorf(round, culprit, "%s sent a %s payload, which must be %s, the other way", from, kindName(m.kind), how)
	}
	return nil
}

// replays remembers the payloads each sender sent, by kind, so that an identical replay is
// ignored and a second, different payload of the same kind is blamed on its sender.
type replays map[protocol.PartyID]map[byte][32]byte

// check reports whether payload is an identical replay (dup) and returns an error if from
// already sent a different payload of the same kind; otherwise it records payload.
func (s replays) check(c *core, from protocol.PartyID, kind byte, sum [32]byte) (dup bool, err error) {
	byKind := s[from]
	if byKind == nil {
		byKind = make(map[byte][32]byte, 2)
		s[from] = byKind
	}
	if prev, ok := byKind[kind]; ok {
		if prev == sum {
			return true, nil
		}
		return false, c.errorf(kindRound(kind), []protocol.PartyID{from}, "%s sent two different %s payloads", from, kindName(kind))
	}
	byKind[kind] = sum
	return false, nil
}
