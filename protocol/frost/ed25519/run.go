package ed25519

import (
	"errors"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/runcore"
)

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("ed25519: run has ended")

// core is the lifecycle every run shares (see package runcore).
type core = runcore.Core

func newCore(task string, self protocol.PartyID, participants []protocol.PartyID) core {
	return runcore.New("ed25519", task, self, participants, MaxPayloadSize, ErrEnded)
}

// checkEnvelope checks what every decoded payload must satisfy: the session nonce, the sender
// it names, and the broadcast flag its kind requires.
func checkEnvelope(c *core, from protocol.PartyID, broadcast bool, m *message, nonce []byte) error {
	culprit := []protocol.PartyID{from}
	round := kindRound(m.kind)
	switch {
	case string(m.nonce[:]) != string(nonce):
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
		return false, c.Errorf(kindRound(kind), []protocol.PartyID{from}, "%s sent two different %s payloads", from, kindName(kind))
	}
	byKind[kind] = sum
	return false, nil
}
