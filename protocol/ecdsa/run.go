package ecdsa

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/bnb-chain/tss-lib/v3/tss"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// MaxPayloadSize is the largest inbound payload Handle accepts.
const MaxPayloadSize = 1 << 20

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("ecdsa: run has ended")

// errAborted is the cause reported when Abort is called with a nil error.
var errAborted = errors.New("aborted")

// run adapts one tss-lib party to protocol.Run.
//
// Concurrency: mu guards the run's state. tss-lib's party has its own lock, and is never called
// with mu held. tss-lib writes its outbound messages synchronously to tssOut from inside Start
// and Update; the pump goroutine is always ready to take them, queues them without bound and
// feeds them to the Outgoing channel in order. The pump is also the only sender on done, so
// after the result nothing more is emitted, and the result is delivered only after every
// payload queued before it has been taken from Outgoing: the peers still need those (to finish,
// or to detect the failure themselves, with the right culprit). Abort skips that wait and drops
// the queue.
type run struct {
	task    string // "keygen" or "sign"
	self    protocol.PartyID
	parties *partySet
	// expect reports whether a message content belongs to this protocol and whether it must
	// arrive by broadcast.
	expect func(tss.MessageContent) (broadcast, known bool)
	// router, when set, frames and routes the payloads of a run whose tss-lib parties are not
	// one per participant (a reshare, see reshare.go); keygen and sign leave it nil.
	router router
	// withhold, when set, reports whether an outbound message must be held back instead of
	// sent: a presign run holds its own round-4 message (see presign.go), and parks.
	withhold func(tss.Message) bool
	// parked, when withhold is set, makes the run's result from the message held back; it is
	// called with mu held, once.
	parked func(held tss.Message) protocol.Result
	// begin replaces the tss-lib party's Start for a run that resumes a party already started
	// (the online rounds of a presignature).
	begin func() *tss.Error

	// gate is held for writing while the tss party starts, so that no Update runs before its
	// first round exists (tss-lib would store such a message and never look at it again).
	gate sync.RWMutex

	tssOut   chan tss.Message       // tss-lib -> pump; unbuffered
	outgoing chan protocol.Outgoing // pump -> caller
	done     chan protocol.Result   // the outcome; capacity 1, sent to once
	final    chan protocol.Result   // the outcome, handed to the pump; capacity 1
	hurry    chan struct{}          // closed by Abort: deliver a pending result now
	quiet    chan struct{}          // closed once ended and no call is in flight
	pumpGone chan struct{}          // closed when the pump has returned: nobody reads tssOut

	hurryOnce, quietOnce sync.Once

	mu       sync.Mutex
	party    tss.Party                      // nil once ended
	takeEnd  func() (protocol.Result, bool) // polls tss-lib's end channel; nil once ended
	started  bool
	pumping  bool
	ended    bool
	inflight int
	seen     map[seenKey][sha256.Size]byte
}

type seenKey struct {
	from protocol.PartyID
	typ  string
}

func newRun(task string, self protocol.PartyID, parties *partySet, expect func(tss.MessageContent) (bool, bool)) *run {
	return &run{
		task:     task,
		self:     self,
		parties:  parties,
		expect:   expect,
		tssOut:   make(chan tss.Message),
		outgoing: make(chan protocol.Outgoing),
		done:     make(chan protocol.Result, 1),
		final:    make(chan protocol.Result, 1),
		hurry:    make(chan struct{}),
		quiet:    make(chan struct{}),
		pumpGone: make(chan struct{}),
		seen:     make(map[seenKey][sha256.Size]byte),
	}
}

var _ protocol.Run = (*run)(nil)

func (r *run) String() string {
	return fmt.Sprintf("ecdsa %s run (%s of %v)", r.task, r.self, r.parties.ids)
}

func (r *run) Outgoing() <-chan protocol.Outgoing { return r.outgoing }

func (r *run) Done() <-chan protocol.Result { return r.done }

// Start begins the run. It computes the first round (for keygen about a second of CPU) but
// never waits for the Outgoing reader.
func (r *run) Start() error {
	r.gate.Lock()
	defer r.gate.Unlock()
	r.mu.Lock()
	switch {
	case r.ended:
		r.mu.Unlock()
		return ErrEnded
	case r.started:
		r.mu.Unlock()
		return errors.New("ecdsa: run already started")
	}
	r.started = true
	r.pumping = true
	r.inflight++
	party := r.party
	r.mu.Unlock()

	go r.pump()
	begin := party.Start
	if r.begin != nil {
		begin = r.begin
	}
	terr, perr := callTSS(begin)
	return r.settle(terr, perr)
}

// Handle feeds one payload from another participant to the run.
func (r *run) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	party, fromID, err := r.admit(from, payload)
	if err != nil {
		return err
	}
	msg, perr := r.parse(from, fromID, broadcast, payload)
	if perr != nil {
		r.leave()
		return r.fail(r.errorf([]protocol.PartyID{from}, "malformed payload from %s: %v", from, perr))
	}
	if dup, err := r.check(from, broadcast, msg, payload); err != nil || dup {
		r.leave()
		if err != nil {
			return r.fail(err)
		}
		return nil
	}
	r.gate.RLock()
	terr, perr := callTSS(func() *tss.Error {
		_, terr := party.Update(msg)
		return terr
	})
	r.gate.RUnlock()
	return r.settle(terr, perr)
}

// deliverLocal feeds msg, which one of this run's own tss-lib parties emitted, to its other
// one (a reshare party in both committees). It is Handle without the envelope checks: the
// message never left this run. Like Handle it counts as a call in flight, so the pump stays
// until it is done, and once the run has ended it does nothing.
func (r *run) deliverLocal(msg tss.ParsedMessage) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.inflight++
	party := r.party
	r.mu.Unlock()
	r.gate.RLock()
	terr, perr := callTSS(func() *tss.Error {
		_, terr := party.Update(msg)
		return terr
	})
	r.gate.RUnlock()
	_ = r.settle(terr, perr) // a failure ends the run and shows on Done
}

// router frames and routes the payloads of a run whose tss-lib parties do not map one to one
// onto participants.
type router interface {
	// parse decodes a payload from a participant into the message for this run's party.
	parse(from protocol.PartyID, broadcast bool, payload []byte) (tss.ParsedMessage, error)
	// route maps an outbound tss-lib message to the payloads for other participants and the
	// messages for this party's other tss-lib party.
	route(m tss.Message) (out []protocol.Outgoing, local []tss.ParsedMessage, err error)
	// culprit maps a tss-lib party to the participant it stands for.
	culprit(pid *tss.PartyID) (protocol.PartyID, bool)
}

// admit checks the run's state and the payload's envelope, and counts the call in flight.
func (r *run) admit(from protocol.PartyID, payload []byte) (tss.Party, *tss.PartyID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, nil, ErrEnded
	}
	var err *protocol.Error
	fromID, isParticipant := r.parties.byID[from]
	switch {
	case !r.started:
		err = r.errorf(nil, "payload from %s before Start", from)
	case from == r.self:
		err = r.errorf(nil, "payload claims to come from this party (%s)", from)
	case !isParticipant:
		err = r.errorf(nil, "payload from %s, which is not a participant", from)
	case len(payload) == 0:
		err = r.errorf([]protocol.PartyID{from}, "empty payload from %s", from)
	case len(payload) > MaxPayloadSize:
		err = r.errorf([]protocol.PartyID{from}, "payload from %s is too large (%d bytes, limit %d)", from, len(payload), MaxPayloadSize)
	}
	if err != nil {
		r.failLocked(err)
		return nil, nil, err
	}
	r.inflight++
	return r.party, fromID, nil
}

// check verifies the message type and its broadcast flag, and that the sender has not sent
// another message of this type (an identical copy is reported as dup and ignored).
func (r *run) check(from protocol.PartyID, broadcast bool, msg tss.ParsedMessage, payload []byte) (dup bool, err error) {
	wantBroadcast, known := r.expect(msg.Content())
	typ := msg.Type()
	switch {
	case !known:
		return false, r.errorf([]protocol.PartyID{from}, "%s sent a message of unexpected type %q", from, typ)
	case wantBroadcast != broadcast:
		how := "point-to-point"
		if wantBroadcast {
			how = "broadcast"
		}
		return false, r.errorf([]protocol.PartyID{from}, "%s sent %q, which must be %s, the other way", from, typ, how)
	}
	sum := sha256.Sum256(payload)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return false, ErrEnded
	}
	key := seenKey{from, typ}
	if prev, ok := r.seen[key]; ok {
		if prev == sum {
			return true, nil
		}
		return false, r.errorf([]protocol.PartyID{from}, "%s sent two different %q messages", from, typ)
	}
	r.seen[key] = sum
	return false, nil
}

// settle ends a call into tss-lib: it picks up tss-lib's result or error and ends the run if
// either is there.
func (r *run) settle(terr *tss.Error, perr error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.leaveLocked()
	var err *protocol.Error
	switch {
	case perr != nil:
		err = r.errorf(nil, "%v", perr)
	case terr != nil:
		err = r.mapError(terr)
	}
	if r.ended {
		if err != nil {
			return err
		}
		return nil
	}
	if res, ok := r.takeEnd(); ok {
		if res.Err != nil {
			r.failLocked(res.Err)
			return res.Err
		}
		r.endLocked(res)
		return nil
	}
	if err != nil {
		r.failLocked(err)
		return err
	}
	return nil
}

// Abort ends the run with err unless it has already ended. Done yields at once: payloads not
// yet taken from Outgoing are dropped, and a result that was waiting for them to be taken is
// delivered as it is.
func (r *run) Abort(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe == nil {
			cause := err
			if cause == nil {
				cause = errAborted
			}
			pe = &protocol.Error{Task: r.task, Cause: cause}
		}
		r.failLocked(pe)
	}
	r.hurryOnce.Do(func() { close(r.hurry) })
	r.checkQuietLocked()
}

// park ends a presign run with the presignature made from the message it held back. It runs
// on its own goroutine because the pump, which found the message, must never wait for mu
// (the run that emitted it may still be inside tss-lib).
func (r *run) park(held tss.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		r.endLocked(r.parked(held))
	}
}

// fail ends the run with err unless it has already ended, and returns err.
func (r *run) fail(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		r.failLocked(err)
	}
	return err
}

func (r *run) failLocked(err error) { r.endLocked(protocol.Result{Err: err}) }

// endLocked records the outcome and hands it over for delivery.
func (r *run) endLocked(res protocol.Result) {
	r.ended = true
	r.party, r.takeEnd, r.seen = nil, nil, nil // release the secrets tss-lib holds
	if r.pumping {
		r.final <- res
	} else {
		r.done <- res
	}
	r.checkQuietLocked()
}

func (r *run) leave() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaveLocked()
}

func (r *run) leaveLocked() {
	r.inflight--
	r.checkQuietLocked()
}

func (r *run) checkQuietLocked() {
	if r.ended && r.inflight == 0 {
		r.quietOnce.Do(func() { close(r.quiet) })
	}
}

// pump moves tss-lib's messages to Outgoing and delivers the result, after the payloads queued
// before it unless Abort hurries it. It ends once the result is delivered and no call into
// tss-lib is in flight (so nothing can write to tssOut again).
func (r *run) pump() {
	defer close(r.pumpGone)
	var (
		queue    []protocol.Outgoing
		pending  *protocol.Result
		finished bool // the result has been delivered
		quiet    = r.quiet
		hurry    = r.hurry
	)
	deliver := func(res protocol.Result) {
		r.done <- res // capacity 1, sent to once: never blocks
		finished, pending = true, nil
		clear(queue)
		queue = nil
	}
	for {
		if pending != nil && len(queue) == 0 {
			deliver(*pending)
		}
		if finished && quiet == nil {
			return
		}
		var (
			send chan<- protocol.Outgoing
			next protocol.Outgoing
		)
		if !finished && len(queue) > 0 {
			send, next = r.outgoing, queue[0]
		}
		select {
		case m := <-r.tssOut:
			if finished || pending != nil {
				continue
			}
			if r.withhold != nil && r.withhold(m) {
				go r.park(m)
				continue
			}
			outs, err := r.outbound(m)
			if err != nil {
				go r.fail(r.errorf(nil, "encoding an outbound message: %v", err))
				continue
			}
			queue = append(queue, outs...)
		case send <- next:
			queue[0] = protocol.Outgoing{}
			queue = queue[1:]
		case res := <-r.final:
			if hurry == nil {
				deliver(res)
			} else {
				pending = &res
			}
		case <-hurry:
			hurry = nil
			if pending != nil {
				deliver(*pending)
			}
		case <-quiet:
			quiet = nil
		}
	}
}

// parse decodes an inbound payload from a participant into a tss-lib message.
func (r *run) parse(from protocol.PartyID, fromID *tss.PartyID, broadcast bool, payload []byte) (tss.ParsedMessage, error) {
	if r.router != nil {
		return r.router.parse(from, broadcast, payload)
	}
	return tss.ParseWireMessage(payload, fromID, broadcast)
}

// outbound maps a tss-lib message to the payloads it becomes. A router may also hand back
// messages for this party's other tss-lib party, which are delivered on their own goroutine:
// the pump must never wait for tss-lib.
func (r *run) outbound(m tss.Message) ([]protocol.Outgoing, error) {
	if r.router == nil {
		o, err := r.convert(m)
		if err != nil {
			return nil, err
		}
		return []protocol.Outgoing{o}, nil
	}
	outs, local, err := r.router.route(m)
	if err != nil {
		return nil, err
	}
	for _, msg := range local {
		go r.deliverLocal(msg)
	}
	return outs, nil
}

// convert maps a tss-lib message to an Outgoing.
func (r *run) convert(m tss.Message) (protocol.Outgoing, error) {
	b, routing, err := m.WireBytes()
	if err != nil {
		return protocol.Outgoing{}, err
	}
	if m.IsBroadcast() {
		return protocol.Outgoing{Broadcast: true, Payload: b}, nil
	}
	if routing == nil || len(routing.To) == 0 {
		return protocol.Outgoing{}, errors.New("point-to-point message without recipients")
	}
	to := make([]protocol.PartyID, 0, len(routing.To))
	for _, pid := range routing.To {
		p, ok := r.parties.fromTSS(pid)
		if !ok || p == r.self {
			return protocol.Outgoing{}, errors.New("message addressed to a party outside the run")
		}
		to = append(to, p)
	}
	return protocol.Outgoing{To: to, Payload: b}, nil
}

// mapError turns a tss-lib error into a *protocol.Error naming the culprits among the other
// participants. (tss-lib names the local party for some local failures; it is no culprit.)
func (r *run) mapError(terr *tss.Error) *protocol.Error {
	pe := &protocol.Error{Task: r.task, Cause: terr.Cause()}
	if terr.Round() > 0 {
		pe.Round = terr.Round()
	}
	if pe.Cause == nil {
		pe.Cause = errors.New(terr.Error())
	}
	for _, c := range terr.Culprits() {
		if p, ok := r.culprit(c); ok && p != r.self && !slices.Contains(pe.Culprits, p) {
			pe.Culprits = append(pe.Culprits, p)
		}
	}
	slices.Sort(pe.Culprits)
	return pe
}

// culprit maps a tss-lib party named in an error to the participant it stands for.
func (r *run) culprit(pid *tss.PartyID) (protocol.PartyID, bool) {
	if r.router != nil {
		return r.router.culprit(pid)
	}
	return r.parties.fromTSS(pid)
}

func (r *run) errorf(culprits []protocol.PartyID, format string, args ...any) *protocol.Error {
	return &protocol.Error{Task: r.task, Culprits: culprits, Cause: fmt.Errorf(format, args...)}
}

// callTSS calls into tss-lib, turning a panic into an error. (A panic inside tss-lib may
// leave its party locked; the run ends on it, so the party is not called again.)
func callTSS(f func() *tss.Error) (terr *tss.Error, perr error) {
	defer func() {
		if rec := recover(); rec != nil {
			terr, perr = nil, fmt.Errorf("internal error in tss-lib: %v", rec)
		}
	}()
	return f(), nil
}
