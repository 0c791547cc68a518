package derive

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/runcore"
)

// The chain-code run: every party of a key draws a secret 32-byte contribution, broadcasts a
// commitment to it (round 1), and once it holds every other party's commitment broadcasts the
// contribution itself together with a digest of all the commitments it holds (round 2). Each
// party checks every contribution against its commitment (a mismatch names the sender as the
// culprit) and every other party's digest against its own (a mismatch means some party sent
// different commitments to different parties; that cannot be attributed). The chain code is
//
//	SHA-256(chainTag | session nonce | for each party in ascending order: party (uint16) | contribution)
//
// No party can choose it: every contribution is fixed by a commitment before any is revealed,
// and one honest random contribution makes it uniformly random. The payloads carry
// contributions in the clear: they must travel encrypted between enclaves, as every other
// protocol payload does, so that the host never sees the chain code.
//
// Payload encoding, version 1; both kinds are broadcast:
//
//	version (1 byte, = 1) | kind (1 byte) | session nonce (32 bytes) | sender (uint16, big-endian) | body
//
//	kindCommit: commitment (32 bytes) = SHA-256(commitTag | session nonce | sender (uint16) | contribution)
//	kindReveal: contribution (32 bytes, secret) | view (32 bytes)
//	            view = SHA-256(viewTag | session nonce | for each party ascending: party (uint16) | commitment)
//
// Decoding is strict: another version or kind, and any other length, are errors.
const (
	payloadVersion = 1

	kindCommit byte = 1
	kindReveal byte = 2

	nonceSize     = 32
	headerSize    = 2 + nonceSize + 2
	commitSize    = headerSize + sha256.Size
	revealSize    = headerSize + ChainCodeSize + sha256.Size
	taskChainCode = "chaincode" // the task named in errors

	// maxParties bounds the parties of a chain-code run, as the engines bound a key's.
	maxParties = 256

	// ChainCodeSize is the size of a chain code and of each party's contribution.
	ChainCodeSize = 32

	// MaxPayloadSize is the largest payload the chain-code run emits or accepts.
	MaxPayloadSize = revealSize
)

const (
	commitTag = "mpcsigner/derive/chaincode/v1/commit"
	viewTag   = "mpcsigner/derive/chaincode/v1/view"
	chainTag  = "mpcsigner/derive/chaincode/v1/chaincode"
)

// ErrEnded is returned by Start and Handle once the run has ended (it has a result, failed or
// was aborted). A payload that arrives after the end is not a fault of the run.
var ErrEnded = errors.New("derive: chain-code run has ended")

// message is a decoded payload.
type message struct {
	kind  byte
	nonce [nonceSize]byte
	from  protocol.PartyID
	// kindCommit: the commitment. kindReveal: the contribution (secret).
	value [32]byte
	view  [sha256.Size]byte // kindReveal
}

func kindName(k byte) string {
	switch k {
	case kindCommit:
		return "commitment"
	case kindReveal:
		return "reveal"
	}
	return fmt.Sprintf("kind %d", k)
}

// round is the round a payload kind belongs to, for errors.
func round(k byte) int {
	if k == kindReveal {
		return 2
	}
	return 1
}

func encodePayload(m *message) []byte {
	b := make([]byte, 0, revealSize)
	b = append(b, payloadVersion, m.kind)
	b = append(b, m.nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(m.from))
	b = append(b, m.value[:]...)
	if m.kind == kindReveal {
		b = append(b, m.view[:]...)
	}
	return b
}

func decodePayload(b []byte) (*message, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("payload of %d bytes is shorter than its header (%d)", len(b), headerSize)
	}
	if b[0] != payloadVersion {
		return nil, fmt.Errorf("payload version %d (want %d)", b[0], payloadVersion)
	}
	m := &message{kind: b[1]}
	want := 0
	switch m.kind {
	case kindCommit:
		want = commitSize
	case kindReveal:
		want = revealSize
	default:
		return nil, fmt.Errorf("unknown payload kind %d", m.kind)
	}
	if len(b) != want {
		return nil, fmt.Errorf("%s payload of %d bytes (want %d)", kindName(m.kind), len(b), want)
	}
	copy(m.nonce[:], b[2:])
	m.from = protocol.PartyID(binary.BigEndian.Uint16(b[2+nonceSize:]))
	copy(m.value[:], b[headerSize:])
	if m.kind == kindReveal {
		copy(m.view[:], b[headerSize+ChainCodeSize:])
	}
	return m, nil
}

func (m *message) wipe() { clear(m.value[:]) }

// commitment binds a contribution to the session and its sender.
func commitment(nonce []byte, from protocol.PartyID, contribution *[32]byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(commitTag))
	h.Write(nonce)
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(from)))
	h.Write(contribution[:])
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// chainCodeRun is one party's side of the chain-code protocol (see the comment on the
// payload encoding).
type chainCodeRun struct {
	runcore.Core
	nonce []byte
	rng   io.Reader

	// Guarded by Core.Mu.
	own      [ChainCodeSize]byte // this party's contribution; secret
	commits  map[protocol.PartyID][sha256.Size]byte
	reveals  map[protocol.PartyID]*message // contributions are secret
	seen     map[seenKey][sha256.Size]byte
	revealed bool
}

type seenKey struct {
	from protocol.PartyID
	kind byte
}

var _ protocol.Run = (*chainCodeRun)(nil)

// NewChainCodeRun returns self's side of a run in which all parties of a key jointly generate
// a secret chain code for derivation below it (protocol.Derivation.ChainCode). sessionNonce is
// 32 bytes, not all zero, identical at every party and fresh for every run.
//
// On success Done yields Result{Keygen: &protocol.KeygenOutput{Share: chainCode}} with the
// 32-byte chain code in Share and PublicKey nil; every party that succeeds holds the same chain
// code. It is a secret: keep it sealed with the key's share. On failure the *protocol.Error
// (task "chaincode") names a party whose reveal does not match its commitment, or one that sent
// a malformed or conflicting payload.
func NewChainCodeRun(self protocol.PartyID, parties []protocol.PartyID, sessionNonce []byte) (protocol.Run, error) {
	return newChainCodeRun(self, parties, sessionNonce, rand.Reader)
}

func newChainCodeRun(self protocol.PartyID, parties []protocol.PartyID, sessionNonce []byte, rng io.Reader) (*chainCodeRun, error) {
	ps := slices.Clone(parties)
	slices.Sort(ps)
	if err := checkChainCodeParams(self, ps, sessionNonce); err != nil {
		return nil, fmt.Errorf("derive: chain-code run: %w", err)
	}
	r := &chainCodeRun{
		Core:    runcore.New("derive", taskChainCode, self, ps, MaxPayloadSize, ErrEnded),
		nonce:   slices.Clone(sessionNonce),
		rng:     rng,
		commits: make(map[protocol.PartyID][sha256.Size]byte, len(ps)),
		reveals: make(map[protocol.PartyID]*message, len(ps)),
		seen:    make(map[seenKey][sha256.Size]byte, 2*len(ps)),
	}
	r.Release = r.wipe
	return r, nil
}

func checkChainCodeParams(self protocol.PartyID, parties []protocol.PartyID, nonce []byte) error {
	if n := len(parties); n < 2 || n > maxParties {
		return fmt.Errorf("%d parties (want 2 to %d)", n, maxParties)
	}
	if err := protocol.CheckPartyList(parties); err != nil {
		return err
	}
	if !slices.Contains(parties, self) {
		return fmt.Errorf("self (%s) is not one of the parties %v", self, parties)
	}
	if len(nonce) != nonceSize {
		return fmt.Errorf("session nonce must be exactly %d bytes, got %d", nonceSize, len(nonce))
	}
	if !slices.ContainsFunc(nonce, func(b byte) bool { return b != 0 }) {
		return errors.New("session nonce must not be all zero")
	}
	return nil
}

func (r *chainCodeRun) String() string {
	return fmt.Sprintf("derive chain-code run (%s of %v)", r.Self, r.Participants)
}

// wipe clears every contribution the run holds; runcore calls it once, when the run ends.
func (r *chainCodeRun) wipe() {
	clear(r.own[:])
	for _, m := range r.reveals {
		m.wipe()
	}
	clear(r.reveals)
}

// Start draws this party's contribution and broadcasts its commitment.
func (r *chainCodeRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.rng, r.own[:]); err != nil {
		return r.FailLocked(r.Errorf(1, nil, "drawing the contribution: %v", err))
	}
	c := commitment(r.nonce, r.Self, &r.own)
	r.commits[r.Self] = c
	m := &message{kind: kindCommit, from: r.Self, value: c}
	copy(m.nonce[:], r.nonce)
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodePayload(m)})
	return nil
}

// Handle takes another party's commitment or reveal.
func (r *chainCodeRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.AdmitLocked(from, payload); err != nil {
		return err
	}
	m, err := decodePayload(payload)
	if err != nil {
		return r.FailLocked(r.Errorf(0, []protocol.PartyID{from}, "malformed payload from %s: %v", from, err))
	}
	if err := r.checkEnvelope(from, broadcast, m); err != nil {
		m.wipe()
		return r.FailLocked(err)
	}
	dup, err := r.dedupe(from, m.kind, payload)
	if err != nil || dup {
		m.wipe()
		if err != nil {
			return r.FailLocked(err)
		}
		return nil
	}
	switch m.kind {
	case kindCommit:
		r.commits[from] = m.value
		r.revealOnceCommittedLocked()
	case kindReveal:
		r.reveals[from] = m
	}
	r.finishIfCompleteLocked()
	return nil
}

// checkEnvelope checks the session nonce, the sender a payload names and its broadcast flag.
func (r *chainCodeRun) checkEnvelope(from protocol.PartyID, broadcast bool, m *message) error {
	culprit := []protocol.PartyID{from}
	switch {
	case subtle.ConstantTimeCompare(m.nonce[:], r.nonce) != 1:
		return r.Errorf(round(m.kind), culprit, "%s sent a payload of another session", from)
	case m.from != from:
		return r.Errorf(round(m.kind), culprit, "%s sent a payload that names %s as its sender", from, m.from)
	case !broadcast:
		return r.Errorf(round(m.kind), culprit, "%s sent its %s point-to-point; it must be broadcast", from, kindName(m.kind))
	}
	return nil
}

// dedupe admits one payload per sender and kind: an identical copy is reported as dup, a
// different one blames the sender.
func (r *chainCodeRun) dedupe(from protocol.PartyID, kind byte, payload []byte) (dup bool, err error) {
	sum := sha256.Sum256(payload)
	key := seenKey{from, kind}
	if prev, ok := r.seen[key]; ok {
		if prev == sum {
			return true, nil
		}
		return false, r.Errorf(round(kind), []protocol.PartyID{from}, "%s sent two different %s payloads", from, kindName(kind))
	}
	r.seen[key] = sum
	return false, nil
}

// revealOnceCommittedLocked broadcasts this party's contribution once it holds every
// commitment: only then can no party still choose its own contribution after seeing another.
func (r *chainCodeRun) revealOnceCommittedLocked() {
	if r.revealed || len(r.commits) != len(r.Participants) {
		return
	}
	r.revealed = true
	m := &message{kind: kindReveal, from: r.Self, value: r.own, view: r.view()}
	copy(m.nonce[:], r.nonce)
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodePayload(m)})
	m.wipe()
}

// view digests every commitment this party holds, in party order.
func (r *chainCodeRun) view() [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(viewTag))
	h.Write(r.nonce)
	for _, p := range r.Participants {
		c := r.commits[p]
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(p)))
		h.Write(c[:])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// finishIfCompleteLocked ends the run once this party has revealed and holds every other
// party's reveal: with the chain code if every reveal checks out, else with an error naming
// the parties whose reveal does not match their commitment.
func (r *chainCodeRun) finishIfCompleteLocked() {
	if !r.revealed || len(r.reveals) != len(r.Participants)-1 {
		return
	}
	var culprits []protocol.PartyID
	for _, p := range r.Participants {
		if m, ok := r.reveals[p]; ok && commitment(r.nonce, p, &m.value) != r.commits[p] {
			culprits = append(culprits, p)
		}
	}
	if len(culprits) > 0 {
		r.FailLocked(r.Errorf(2, culprits, "the contribution revealed by %v does not match its commitment", culprits))
		return
	}
	own := r.view()
	var disagree []protocol.PartyID
	for _, p := range r.Participants {
		if m, ok := r.reveals[p]; ok && m.view != own {
			disagree = append(disagree, p)
		}
	}
	if len(disagree) > 0 {
		r.FailLocked(r.Errorf(2, nil, "%v saw other commitments than %s: some party sent different commitments to different parties", disagree, r.Self))
		return
	}
	r.EndLocked(protocol.Result{Keygen: &protocol.KeygenOutput{Share: r.derive()}})
}

// derive hashes every contribution in party order; the caller has checked them all.
func (r *chainCodeRun) derive() []byte {
	h := sha256.New()
	h.Write([]byte(chainTag))
	h.Write(r.nonce)
	for _, p := range r.Participants {
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(p)))
		if p == r.Self {
			h.Write(r.own[:])
		} else {
			h.Write(r.reveals[p].value[:])
		}
	}
	return h.Sum(make([]byte, 0, ChainCodeSize))
}
