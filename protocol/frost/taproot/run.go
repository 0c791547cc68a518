package taproot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/runcore"
)

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("bip340: run has ended")

// core is the lifecycle every run shares (see package runcore).
type core = runcore.Core

func newCore(task string, self protocol.PartyID, participants []protocol.PartyID) core {
	return runcore.New("bip340", task, self, participants, MaxPayloadSize, ErrEnded)
}

// libRun is a keygen run's engine (signing is this package's own: sign.go): it drives the
// wrapped library's handler, carries its messages as payloads and checks every inbound payload
// before the library sees it.
type libRun struct {
	core
	nonce []byte

	// start creates the library session (at Start, so that the polynomial is drawn inside the
	// run); finish turns the library's result into the run's.
	start  func() (*libSession, libOutcome, error)
	finish func(result any) (protocol.Result, error)
	// check does the task's own checks of a decoded payload (kind, counts, recipient).
	check func(from protocol.PartyID, m *message) error

	// Guarded by core.mu.
	lib     *libSession
	round   int        // the round in progress, for errors
	seen    replays    // payloads accepted, by sender and kind
	pending []*message // round-2 payloads held until this party's own view is known
}

func newLibRun(task string, self protocol.PartyID, participants []protocol.PartyID, nonce []byte) libRun {
	return libRun{
		core:  newCore(task, self, participants),
		nonce: slices.Clone(nonce),
		seen:  make(replays, 2*len(participants)),
	}
}

// checkEnvelope checks what every decoded payload must satisfy, in any run: the session
// nonce, the sender it names, and the broadcast flag its kind requires.
func checkEnvelope(c *core, from protocol.PartyID, broadcast bool, m *message, nonce []byte) error {
	culprit := []protocol.PartyID{from}
	round := kindRound(m.kind)
	switch {
	case !bytes.Equal(m.nonce[:], nonce):
		return c.Errorf(round, culprit, "%s sent a payload of another session", from)
	case m.from != from:
		return c.Errorf(round, culprit, "%s sent a payload that names %s as its sender", from, m.from)
	case broadcastKind(m.kind) != broadcast:
		how := "point-to-point"
		if broadcastKind(m.kind) {
			how = "broadcast"
		}
		return c.Errorf(round, culprit, "%s sent a %s payload, which must be %s, the other way", from, kindName(m.kind), how)
	}
	return nil
}

type seenKey struct {
	from protocol.PartyID
	kind byte
}

// replays remembers the payloads each sender sent, by kind, so that an identical replay is
// ignored and a second, different payload of the same kind is blamed on its sender.
type replays map[seenKey][sha256.Size]byte

// check reports whether payload is an identical replay (dup) and returns an error if from
// already sent a different payload of the same kind; otherwise it records payload.
func (s replays) check(c *core, from protocol.PartyID, kind byte, payload []byte) (dup bool, err error) {
	sum := sha256.Sum256(payload)
	key := seenKey{from, kind}
	if prev, ok := s[key]; ok {
		if prev == sum {
			return true, nil
		}
		return false, c.Errorf(kindRound(kind), []protocol.PartyID{from}, "%s sent two different %s payloads", from, kindName(kind))
	}
	s[key] = sum
	return false, nil
}

// Start runs the library's first round and sends its messages.
func (r *libRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	r.round = 1
	lib, o, err := r.start()
	if err != nil {
		return r.FailLocked(r.Errorf(1, nil, "starting: %w", err))
	}
	r.lib = lib
	return r.outcomeLocked(o)
}

// Handle takes one payload from another participant.
func (r *libRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.Mu.Lock()
	err := r.AdmitLocked(from, payload)
	r.Mu.Unlock()
	if err != nil {
		return err
	}
	m, derr := decodePayload(payload) // outside the lock: point decoding costs
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if r.Ended {
		if m != nil {
			m.wipe()
		}
		return ErrEnded
	}
	if derr != nil {
		return r.FailLocked(r.Errorf(r.round, []protocol.PartyID{from}, "malformed payload from %s: %v", from, derr))
	}
	if err := r.acceptLocked(from, broadcast, m, payload); err != nil {
		m.wipe()
		return r.FailLocked(err)
	}
	return nil
}

// acceptLocked checks a decoded payload and hands it to the library (or holds it until the
// library can take it).
func (r *libRun) acceptLocked(from protocol.PartyID, broadcast bool, m *message, payload []byte) error {
	culprit := []protocol.PartyID{from}
	round := kindRound(m.kind)
	if err := checkEnvelope(&r.core, from, broadcast, m, r.nonce); err != nil {
		return err
	}
	if !keygenKind(m.kind) {
		return r.Errorf(round, culprit, "%s sent a %s payload, which has no place in a %s run", from, kindName(m.kind), r.Task)
	}
	if err := r.check(from, m); err != nil {
		return r.Errorf(round, culprit, "%v", err)
	}
	if dup, err := r.seen.check(&r.core, from, m.kind, payload); err != nil || dup {
		m.wipe()
		return err // nil for an identical replay
	}
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
		return r.Errorf(2, nil, "%s received other round-1 broadcasts than this party did: a party equivocated (sent different round-1 payloads to different parties) or %s misreports; the culprit cannot be identified", m.from, m.from)
	}
	o, err := r.lib.deliver(m)
	if err != nil {
		return r.Errorf(round, culprit, "%v", err)
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
		r.EmitLocked(out)
	}
	if o.done {
		if o.err != nil {
			culprits, cause := mapLibError(o.err, r.Self)
			return r.FailLocked(r.Errorf(r.round, culprits, "%w", cause))
		}
		res, err := r.finish(o.result)
		if err != nil {
			return r.FailLocked(r.Errorf(r.round, nil, "%w", err))
		}
		r.EndLocked(res)
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
				return r.FailLocked(err)
			}
			if r.Ended {
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
