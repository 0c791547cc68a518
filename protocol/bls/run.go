package bls

import (
	"errors"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/runcore"
)

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("bls: run has ended")

// core is the lifecycle every run shares (see package runcore).
type core = runcore.Core

func newCore(task string, self protocol.PartyID, participants []protocol.PartyID) core {
	return runcore.New("bls", task, self, participants, MaxPayloadSize, ErrEnded)
}

// checkEnvelope checks what every decoded payload must satisfy: the session nonce, the sender
// it names, and the broadcast flag its kind requires.
func checkEnvelope(c *core, from protocol.PartyID, broadcast bool, m *message, nonce []byte) error {
	culprit := []protocol.PartyID{from}
	switch {
	case string(m.nonce[:]) != string(nonce):
		return c.Errorf(1, culprit, "%s sent a payload of another session", from)
	case m.from != from:
		return c.Errorf(1, culprit, "%s sent a payload that names %s as its sender", from, m.from)
	case broadcastKind(m.kind) != broadcast:
		how := "point-to-point"
		if broadcastKind(m.kind) {
			how = "broadcast"
		}
		return c.Errorf(1, culprit, "%s sent a %s payload, which must be %s, the other way", from, kindName(m.kind), how)
	}
	return nil
}
