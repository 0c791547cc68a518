package taproot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/taurusgroup/multi-party-sig/pkg/math/curve"
	"github.com/taurusgroup/multi-party-sig/pkg/party"
	mps "github.com/taurusgroup/multi-party-sig/pkg/protocol"
	"github.com/taurusgroup/multi-party-sig/protocols/frost"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// This file is the only one that knows github.com/taurusgroup/multi-party-sig (alpha,
// unaudited). Replacing the library means rewriting this file: the payload encoding, the
// share format and the checks around them are this package's own.
//
// Only keygen uses the library: signing is this package's own (frost.go, sign.go) and never
// calls frost.SignTaproot.
//
// What the adapter relies on, read from v0.7.0-alpha-2025-01-28:
//   - frost.KeygenTaproot runs 3 rounds through a pkg/protocol MultiHandler; round 1 sends
//     nothing, so there are two message exchanges. Its "round 2" and "round 3" messages are
//     this package's rounds 1 and 2.
//   - Keygen ends with a TaprootConfig whose PublicKey is the x-only group key P, normalized
//     to an even y (the private and verification shares are negated when needed). It is NOT
//     tweaked: it is the BIP341 internal key.
//   - A party's Shamir index is its party.ID's bytes read as a big-endian integer; libID makes
//     it the party number.
//   - Message contents are CBOR; the mirror types below re-create them byte for byte, so that
//     no outside bytes ever reach the library's CBOR decoders (which panic on short input and
//     allocate what a length prefix claims: polynomial.Exponent.UnmarshalBinary), and a
//     commitment of the wrong degree never reaches keygen's final round (which panics when
//     the degrees differ).
//   - The handler silently ignores duplicates, later messages of a sender and messages it
//     cannot accept; this package refuses them first, naming the sender.
//   - MultiHandler.Stop panics on a finished handler (it closes its channel twice): never call
//     it. A run is abandoned by dropping the handler.

// libKeygenProtocol is the library's identifier of its keygen; payload kinds map to
// (protocol, round, broadcast).
const libKeygenProtocol = "frost/keygen-threshold-taproot"

// libID is the library's identifier of party p: its number as two big-endian bytes, so that
// the library's Shamir x-coordinate for p is p.
func libID(p protocol.PartyID) party.ID {
	return party.ID([]byte{byte(p >> 8), byte(p)})
}

func fromLibID(id party.ID) (protocol.PartyID, bool) {
	if len(id) != 2 {
		return 0, false
	}
	p := protocol.PartyID(binary.BigEndian.Uint16([]byte(id)))
	return p, p != 0
}

func libIDs(ps []protocol.PartyID) []party.ID {
	out := make([]party.ID, len(ps))
	for i, p := range ps {
		out[i] = libID(p)
	}
	return out
}

// librarySessionID is the session identifier given to the library for a run with this nonce.
// The library hashes it, with the protocol and the parties, into every hash of the run
// (proofs, commitments), so two runs never share one.
func librarySessionID(task string, nonce []byte) []byte {
	return append([]byte("mpcsigner/protocol/frost/taproot v1 "+task+"\x00"), nonce...)
}

// libSession drives one library handler.
type libSession struct {
	h          *mps.MultiHandler
	self       protocol.PartyID
	nonce      [nonceSize]byte
	protocolID string
	ssid       []byte
	// view is this party's hash of the round-1 broadcasts, known once it has sent its round-2
	// messages.
	view []byte
	// secrets are buffers this adapter built that hold secret values and that the library
	// keeps (the CBOR of received keygen shares); wipe zeroizes them.
	secrets [][]byte
}

// libOutcome is what the handler did after a step.
type libOutcome struct {
	out    []*message
	done   bool
	result any   // set when done without error
	err    error // set when done with an error; see mapLibError
}

// startLibSession creates the handler, which runs the library's round 1 at once (it draws the
// polynomial) and queues its first messages.
func startLibSession(start mps.StartFunc, sessionID []byte, self protocol.PartyID, nonce []byte, protocolID string) (*libSession, libOutcome, error) {
	h, err := mps.NewMultiHandler(start, sessionID)
	if err != nil {
		return nil, libOutcome{}, libErr(err)
	}
	s := &libSession{h: h, self: self, protocolID: protocolID}
	copy(s.nonce[:], nonce)
	o, err := s.drain()
	if err != nil {
		return nil, libOutcome{}, err
	}
	if s.ssid == nil {
		return nil, libOutcome{}, errors.New("multi-party-sig: the protocol sent nothing in its first round")
	}
	return s, o, nil
}

// deliver hands one validated message to the handler and returns what it did. An error means
// the handler could not take the message (the sender is at fault).
func (s *libSession) deliver(m *message) (libOutcome, error) {
	lm, err := s.toLib(m)
	if err != nil {
		return libOutcome{}, err
	}
	if !s.h.CanAccept(lm) {
		return libOutcome{}, fmt.Errorf("the protocol cannot accept a %s payload from %s at this point", kindName(m.kind), m.from)
	}
	s.h.Accept(lm)
	o, err := s.drain()
	if err != nil {
		return libOutcome{}, fmt.Errorf("handling the %s payload of %s: %w", kindName(m.kind), m.from, err)
	}
	return o, nil
}

// drain collects what the handler has queued and, once it has ended, its outcome. An error
// is a fault of this party's library (it emitted something this adapter cannot carry).
func (s *libSession) drain() (libOutcome, error) {
	var o libOutcome
	for {
		select {
		case lm, ok := <-s.h.Listen():
			if !ok {
				o.done = true
				o.result, o.err = s.h.Result()
				return o, nil
			}
			if lm.RoundNumber == 0 {
				continue // the library's abort notice, which carries its error text: not relayed
			}
			m, err := s.fromLib(lm)
			if err != nil {
				return libOutcome{}, err
			}
			o.out = append(o.out, m)
		default:
			return o, nil
		}
	}
}

// wipe zeroizes what the adapter can reach and drops the handler. What the library holds
// internally (its polynomial, the scalars it decoded) is not reachable: it is
// dropped with the handler, not zeroized.
func (s *libSession) wipe() {
	for _, b := range s.secrets {
		clear(b)
	}
	s.secrets = nil
	s.h = nil
}

// kindOf maps a library message to a payload kind.
func kindOf(protocolID string, round uint16, broadcast bool) (byte, bool) {
	switch {
	case protocolID == libKeygenProtocol && round == 2 && broadcast:
		return kindKeygenCommit, true
	case protocolID == libKeygenProtocol && round == 3 && broadcast:
		return kindKeygenReveal, true
	case protocolID == libKeygenProtocol && round == 3:
		return kindKeygenShare, true
	}
	return 0, false
}

// CBOR mirrors of the library's message contents (field names and order are the library's).
type (
	cborKeygenCommit struct {
		Phi        []byte    `cbor:"Phi_i"` // 4-byte count || CBOR of cborExponent
		Proof      cborProof `cbor:"Sigma_i"`
		Commitment []byte    `cbor:"Commitment"`
	}
	cborExponent struct {
		IsConstant   bool     `cbor:"IsConstant"`
		Coefficients [][]byte `cbor:"Coefficients"`
	}
	cborProof struct {
		C struct {
			C []byte `cbor:"C"`
		} `cbor:"C"`
		Z struct {
			Z []byte `cbor:"Z"`
		} `cbor:"Z"`
	}
	cborKeygenReveal struct {
		ChainKey     []byte `cbor:"C_l"`
		Decommitment []byte `cbor:"Decommitment"`
	}
	cborKeygenShare struct {
		Share []byte `cbor:"F_li"`
	}
)

// strictCBOR decodes the library's own output: unknown fields, duplicate keys and oversized
// arrays are errors.
var strictCBOR = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxArrayElements:  maxParties + 1,
		MaxMapPairs:       16,
		MaxNestedLevels:   8,
		IndefLength:       cbor.IndefLengthForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// fromLib converts a message the library emitted into a payload message, and checks that the
// conversion loses nothing: re-encoding it must give the library's bytes back.
func (s *libSession) fromLib(lm *mps.Message) (*message, error) {
	kind, ok := kindOf(lm.Protocol, uint16(lm.RoundNumber), lm.Broadcast)
	if !ok || lm.Protocol != s.protocolID {
		return nil, fmt.Errorf("multi-party-sig emitted an unexpected message (%s, round %d, broadcast %t)", lm.Protocol, lm.RoundNumber, lm.Broadcast)
	}
	if s.ssid == nil {
		s.ssid = bytes.Clone(lm.SSID)
	}
	from, ok := fromLibID(lm.From)
	switch {
	case !bytes.Equal(lm.SSID, s.ssid):
		return nil, errors.New("multi-party-sig emitted messages of two sessions")
	case !ok || from != s.self:
		return nil, errors.New("multi-party-sig emitted a message in another party's name")
	}
	m := &message{kind: kind, nonce: s.nonce, from: from}
	if kindRound(kind) == 2 {
		if len(lm.BroadcastVerification) != viewSize {
			return nil, fmt.Errorf("multi-party-sig emitted a %s message with a %d-byte view (want %d)", kindName(kind), len(lm.BroadcastVerification), viewSize)
		}
		m.view = bytes.Clone(lm.BroadcastVerification)
		if s.view == nil {
			s.view = m.view
		}
		if !bytes.Equal(m.view, s.view) {
			return nil, errors.New("multi-party-sig emitted two different views of round 1")
		}
	} else if len(lm.BroadcastVerification) != 0 {
		return nil, fmt.Errorf("multi-party-sig emitted a round-1 %s message with a view", kindName(kind))
	}
	if kind == kindKeygenShare {
		to, ok := fromLibID(lm.To)
		if !ok {
			return nil, errors.New("multi-party-sig addressed a share to an unknown party")
		}
		m.to = to
		defer clear(lm.Data) // the library does not keep what it sends point to point
	}
	if err := m.setContent(lm.Data); err != nil {
		m.wipe()
		return nil, fmt.Errorf("multi-party-sig emitted a %s message this package cannot carry: %w", kindName(kind), err)
	}
	data, err := m.libData()
	if err != nil {
		m.wipe()
		return nil, err
	}
	same := bytes.Equal(data, lm.Data)
	clear(data)
	if !same {
		m.wipe()
		return nil, fmt.Errorf("multi-party-sig emitted a %s message this package would not carry faithfully", kindName(kind))
	}
	// Validate it as the recipients will (a message this party emits must decode): a keygen is
	// rare and its failure costly.
	enc := m.encode()
	check, err := decodePayload(enc)
	clear(enc)
	if err != nil {
		m.wipe()
		return nil, fmt.Errorf("multi-party-sig emitted an invalid %s message: %w", kindName(kind), err)
	}
	check.wipe()
	return m, nil
}

// setContent fills m's body fields from the library's CBOR content.
func (m *message) setContent(data []byte) error {
	switch m.kind {
	case kindKeygenCommit:
		var c cborKeygenCommit
		if err := strictCBOR.Unmarshal(data, &c); err != nil {
			return err
		}
		if len(c.Phi) < 4 {
			return errors.New("truncated polynomial commitment")
		}
		var e cborExponent
		if err := strictCBOR.Unmarshal(c.Phi[4:], &e); err != nil {
			return err
		}
		if int(binary.BigEndian.Uint32(c.Phi)) != len(e.Coefficients) || e.IsConstant {
			return errors.New("unexpected polynomial commitment")
		}
		m.coefficients, m.proofCommitment, m.proofResponse, m.chainCommitment = e.Coefficients, c.Proof.C.C, c.Proof.Z.Z, c.Commitment
	case kindKeygenReveal:
		var c cborKeygenReveal
		if err := strictCBOR.Unmarshal(data, &c); err != nil {
			return err
		}
		m.chainKey, m.decommitment = c.ChainKey, c.Decommitment
	case kindKeygenShare:
		var c cborKeygenShare
		if err := strictCBOR.Unmarshal(data, &c); err != nil {
			return err
		}
		m.share = c.Share
	default:
		return fmt.Errorf("no library content for %s", kindName(m.kind))
	}
	return nil
}

// libData builds the library's CBOR content for m.
func (m *message) libData() ([]byte, error) {
	var v any
	switch m.kind {
	case kindKeygenCommit:
		e, err := cbor.Marshal(cborExponent{Coefficients: m.coefficients})
		if err != nil {
			return nil, err
		}
		phi := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(e)), uint32(len(m.coefficients)))
		c := cborKeygenCommit{Phi: append(phi, e...), Commitment: m.chainCommitment}
		c.Proof.C.C, c.Proof.Z.Z = m.proofCommitment, m.proofResponse
		v = c
	case kindKeygenReveal:
		v = cborKeygenReveal{ChainKey: m.chainKey, Decommitment: m.decommitment}
	case kindKeygenShare:
		v = cborKeygenShare{Share: m.share}
	default:
		return nil, fmt.Errorf("no library content for %s", kindName(m.kind))
	}
	return cbor.Marshal(v)
}

// toLib builds the library message for a validated payload message addressed to this party.
func (s *libSession) toLib(m *message) (*mps.Message, error) {
	data, err := m.libData()
	if err != nil {
		return nil, err
	}
	lm := &mps.Message{
		SSID:                  s.ssid,
		From:                  libID(m.from),
		Protocol:              s.protocolID,
		Data:                  data,
		Broadcast:             broadcastKind(m.kind),
		BroadcastVerification: m.view,
	}
	// This package's round r is the library's round r+1. (round.Number is internal to the
	// library: it can only be set from constants.)
	switch kindRound(m.kind) {
	case 1:
		lm.RoundNumber = 2
	case 2:
		lm.RoundNumber = 3
	}
	if !lm.Broadcast {
		lm.To = libID(s.self)
	}
	if m.kind == kindKeygenShare {
		s.secrets = append(s.secrets, data) // the library keeps the message until the run ends
	}
	return lm, nil
}

// keygenOutput is what a finished keygen produced, in this package's terms.
type keygenOutput struct {
	internalKey  []byte
	secret       []byte // 32 bytes; secret: the caller clears it
	publicShares map[protocol.PartyID][]byte
	threshold    int
}

// keygenResult converts the library's keygen result and zeroizes its private share.
func keygenResult(result any, self protocol.PartyID) (*keygenOutput, error) {
	cfg, ok := result.(*frost.TaprootConfig)
	if !ok || cfg == nil || cfg.PrivateShare == nil {
		return nil, fmt.Errorf("multi-party-sig returned a %T, not a taproot key", result)
	}
	secret, err := cfg.PrivateShare.MarshalBinary()
	cfg.PrivateShare.Set(curve.Secp256k1{}.NewScalar()) // zero the library's copy
	if err != nil {
		return nil, err
	}
	out := &keygenOutput{internalKey: bytes.Clone(cfg.PublicKey), secret: secret, threshold: cfg.Threshold + 1, publicShares: map[protocol.PartyID][]byte{}}
	if id, ok := fromLibID(cfg.ID); !ok || id != self {
		clear(out.secret)
		return nil, errors.New("multi-party-sig returned the key of another party")
	}
	for id, y := range cfg.VerificationShares {
		p, ok := fromLibID(id)
		if !ok || y == nil {
			clear(out.secret)
			return nil, errors.New("multi-party-sig returned a public share of an unknown party")
		}
		if out.publicShares[p], err = y.MarshalBinary(); err != nil {
			clear(out.secret)
			return nil, err
		}
	}
	return out, nil
}

func startKeygenSession(self protocol.PartyID, parties []protocol.PartyID, threshold int, nonce []byte) (*libSession, libOutcome, error) {
	start := frost.KeygenTaproot(libID(self), libIDs(parties), threshold-1)
	return startLibSession(start, librarySessionID("keygen", nonce), self, nonce, libKeygenProtocol)
}

// mapLibError turns the library's failure into culprits (this party excluded: a failure of
// its own is not a fault of another) and a printable cause.
func mapLibError(err error, self protocol.PartyID) ([]protocol.PartyID, error) {
	var le mps.Error
	var culprits []protocol.PartyID
	if errors.As(err, &le) {
		for _, id := range le.Culprits {
			if p, ok := fromLibID(id); ok && p != self {
				culprits = append(culprits, p)
			}
		}
		err = le.Err
	}
	return culprits, libErr(err)
}

// libError is an error of the wrapped library, printable: the library formats party
// identifiers (two raw bytes here) into its messages.
type libError struct{ err error }

func libErr(err error) error {
	if err == nil {
		return errors.New("multi-party-sig: unknown failure")
	}
	return &libError{err}
}

func (e *libError) Error() string {
	s := e.err.Error()
	if len(s) > 512 {
		s = s[:512]
	}
	return "multi-party-sig: " + strings.Map(func(r rune) rune {
		if strconv.IsPrint(r) {
			return r
		}
		return '?'
	}, strings.ToValidUTF8(s, "?"))
}

func (e *libError) Unwrap() error { return e.err }
