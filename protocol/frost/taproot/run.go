package taproot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("bip340: run has ended")

// errAborted is the cause reported when Abort is called with a nil error.
var errAborted = errors.New("aborted")

// core is the run's lifecycle, its outbound queue and the delivery of its result.
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
		return fmt.Errorf("bip340: %s run already started", c.task)
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

// errorf builds a failure of round round (omitted when 0).
func (c *core) errorf(round int, culprits []protocol.PartyID, format string, args ...any) *protocol.Error {
	return &protocol.Error{Task: c.task, Round: round, Culprits: culprits, Cause: fmt.Errorf(format, args...)}
}

// libRun is what keygen and sign runs share: it drives the wrapped library's handler, carries
// its messages as payloads and checks every inbound payload before the library sees it.
type libRun struct {
	core
	nonce []byte

	// start creates the library session (at Start, so that the polynomial or the nonces are
	// drawn inside the run); finish turns the library's result into the run's.
	start  func() (*libSession, libOutcome, error)
	finish func(result any) (protocol.Result, error)
	// check does the task's own checks of a decoded payload (kind, counts, recipient).
	check func(from protocol.PartyID, m *message) error

	// Guarded by core.mu.
	lib     *libSession
	round   int                           // the round in progress, for errors
	seen    map[seenKey][sha256.Size]byte // payloads accepted, by sender and kind
	pending []*message                    // round-2 payloads held until this party's own view is known
}

type seenKey struct {
	from protocol.PartyID
	kind byte
}

func newLibRun(task string, self protocol.PartyID, participants []protocol.PartyID, nonce []byte) libRun {
	return libRun{
		core:  newCore(task, self, participants),
		nonce: slices.Clone(nonce),
		seen:  make(map[seenKey][sha256.Size]byte, 2*len(participants)),
	}
}

// Start runs the library's first round and sends its messages.
func (r *libRun) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.beginLocked(); err != nil {
		return err
	}
	r.round = 1
	lib, o, err := r.start()
	if err != nil {
		return r.failLocked(r.errorf(1, nil, "starting: %w", err))
	}
	r.lib = lib
	return r.outcomeLocked(o)
}

// Handle takes one payload from another participant.
func (r *libRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.mu.Lock()
	err := r.admitLocked(from, payload)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	m, derr := decodePayload(payload) // outside the lock: point decoding costs
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		if m != nil {
			m.wipe()
		}
		return ErrEnded
	}
	if derr != nil {
		return r.failLocked(r.errorf(r.round, []protocol.PartyID{from}, "malformed payload from %s: %v", from, derr))
	}
	if err := r.acceptLocked(from, broadcast, m, payload); err != nil {
		m.wipe()
		return r.failLocked(err)
	}
	return nil
}

// acceptLocked checks a decoded payload and hands it to the library (or holds it until the
// library can take it).
func (r *libRun) acceptLocked(from protocol.PartyID, broadcast bool, m *message, payload []byte) error {
	culprit := []protocol.PartyID{from}
	round := kindRound(m.kind)
	switch {
	case !bytes.Equal(m.nonce[:], r.nonce):
		return r.errorf(round, culprit, "%s sent a payload of another session", from)
	case m.from != from:
		return r.errorf(round, culprit, "%s sent a payload that names %s as its sender", from, m.from)
	case broadcastKind(m.kind) != broadcast:
		how := "point-to-point"
		if broadcastKind(m.kind) {
			how = "broadcast"
		}
		return r.errorf(round, culprit, "%s sent a %s payload, which must be %s, the other way", from, kindName(m.kind), how)
	case keygenKind(m.kind) != (r.task == "keygen"):
		return r.errorf(round, culprit, "%s sent a %s payload, which has no place in a %s run", from, kindName(m.kind), r.task)
	}
	if err := r.check(from, m); err != nil {
		return r.errorf(round, culprit, "%v", err)
	}
	sum := sha256.Sum256(payload)
	key := seenKey{from, m.kind}
	if prev, ok := r.seen[key]; ok {
		m.wipe()
		if prev == sum {
			return nil // an identical replay
		}
		return r.errorf(round, culprit, "%s sent two different %s payloads", from, kindName(m.kind))
	}
	r.seen[key] = sum
	if round == 2 && r.lib.view == nil {
		// This party has not finished round 1: its view of the round-1 broadcasts, which every
		// round-2 payload is checked against first, is not known yet.
		r.pending = append(r.pending, m)
		return nil
	}
	return r.deliverLocked(m)
}

// deliverLocked hands one checked payload to the library and acts on what it does.
func (r *libRun) deliverLocked(m *message) error {
	defer m.wipe()
	culprit := []protocol.PartyID{m.from}
	round := kindRound(m.kind)
	if round == 2 && !bytes.Equal(m.view, r.lib.view) {
		// Either some party showed different round-1 broadcasts to different parties, or
		// m.from misreports what it received. Which, no one can tell from here: the
		// broadcasts carry no signatures, so blame would be a guess.
		return r.errorf(2, nil, "%s received other round-1 broadcasts than this party did: a party equivocated (sent different round-1 payloads to different parties) or %s misreports; the culprit cannot be identified", m.from, m.from)
	}
	o, err := r.lib.deliver(m)
	if err != nil {
		return r.errorf(round, culprit, "%v", err)
	}
	return r.outcomeLocked(o)
}

// outcomeLocked sends what the library emitted and, if it has ended, ends the run.
func (r *libRun) outcomeLocked(o libOutcome) error {
	for _, m := range o.out {
		r.round = max(r.round, kindRound(m.kind))
		out := protocol.Outgoing{Broadcast: broadcastKind(m.kind), Payload: m.encode()}
		if !out.Broadcast {
			out.To = []protocol.PartyID{m.to}
		}
		m.wipe()
		r.emitLocked(out)
	}
	if o.done {
		if o.err != nil {
			culprits, cause := mapLibError(o.err, r.self)
			return r.failLocked(r.errorf(r.round, culprits, "%w", cause))
		}
		res, err := r.finish(o.result)
		if err != nil {
			return r.failLocked(r.errorf(r.round, nil, "%w", err))
		}
		r.endLocked(res)
		return nil
	}
	if r.lib.view != nil && len(r.pending) > 0 {
		pending := r.pending
		r.pending = nil
		for i, m := range pending {
			if err := r.deliverLocked(m); err != nil {
				for _, rest := range pending[i+1:] {
					rest.wipe()
				}
				return r.failLocked(err)
			}
			if r.ended {
				for _, rest := range pending[i+1:] {
					rest.wipe()
				}
				return nil
			}
		}
	}
	return nil
}

// releaseLib drops the library session, zeroizing what can be reached; part of release.
func (r *libRun) releaseLib() {
	if r.lib != nil {
		r.lib.wipe()
		r.lib = nil
	}
	for _, m := range r.pending {
		m.wipe()
	}
	r.pending = nil
}
