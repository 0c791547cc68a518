package reshare

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/runcore"
)

// Run is one participant's side of a reshare (see the package comment). Rounds in its errors:
// 1 for the dealings (commitments and subshares), 2 for the transcript digests.
//
// Concurrency: as every engine's run, through runcore.Core: Start and Handle take Core.Mu,
// which guards everything below it; payloads are decoded outside it.
type Run[S, P any] struct {
	runcore.Core
	cfg   Config[S, P]
	g     Group[S, P]
	p     protocol.ReshareParams // without its Share
	isNew bool
	newX  []S // the x-coordinates of the new parties, aligned with p.NewParties; public
	selfX S   // this party's, when it is new
	// lambdas holds λ_i over the dealers, aligned with p.OldParties, and oldPublic the
	// dealers' old public shares X_i, at a party with an old share (nil elsewhere).
	lambdas   []S
	oldPublic map[protocol.PartyID]P

	// Guarded by Core.Mu.
	old      *Old[S, P] // its Secret is wiped (and old set to nil) once dealt
	dealings map[protocol.PartyID]*dealing[S, P]
	keyOK    bool                                  // Σ_i C_i0 checked against the group key
	view     []byte                                // this party's transcript digest, once known
	echoes   map[protocol.PartyID][DigestSize]byte // other new parties' digests
	seen     map[seenKey][sha256.Size]byte         // payloads accepted, by sender and kind
}

type seenKey struct {
	from protocol.PartyID
	kind byte
}

// dealing is what one dealer dealt to this party.
type dealing[S, P any] struct {
	commitments []P
	body        []byte // the commitments as encoded, for the transcript
	subshare    S      // f_i(self) at a new party; secret
	hasSubshare bool
	verified    bool // the subshare matches the commitments (or this party is not new)
}

var _ protocol.Run = (*Run[int, int])(nil)

// New checks cfg and returns the run of cfg.Params.Self. It takes ownership of cfg.Old.Secret,
// which it wipes when the run ends, or at once if it returns an error.
func New[S, P any](cfg Config[S, P]) (*Run[S, P], error) {
	err := CheckParams(cfg.Engine, cfg.MaxParties, cfg.Params)
	var r *Run[S, P]
	if err == nil {
		if r, err = newRun(cfg); err != nil {
			err = fmt.Errorf("%s: reshare: %w", cfg.Engine, err)
		}
	}
	if err != nil {
		if cfg.Old != nil {
			cfg.Group.Wipe(cfg.Old.Secret)
		}
		return nil, err
	}
	return r, nil
}

func newRun[S, P any](cfg Config[S, P]) (*Run[S, P], error) {
	p := cfg.Params
	p.OldParties, p.NewParties = slices.Clone(p.OldParties), slices.Clone(p.NewParties)
	p.PublicKey, p.SessionNonce = slices.Clone(p.PublicKey), slices.Clone(p.SessionNonce)
	p.Share = nil
	if err := checkOld(p, cfg.Old); err != nil {
		return nil, err
	}
	g := cfg.Group
	r := &Run[S, P]{
		Core:     runcore.New(cfg.Engine, "reshare", p.Self, p.Participants(), MaxPayloadSize(g, cfg.MaxParties), cfg.ErrEnded),
		cfg:      cfg,
		g:        g,
		p:        p,
		isNew:    slices.Contains(p.NewParties, p.Self),
		old:      cfg.Old,
		dealings: make(map[protocol.PartyID]*dealing[S, P], len(p.OldParties)),
		echoes:   make(map[protocol.PartyID][DigestSize]byte, len(p.NewParties)),
		seen:     make(map[seenKey][sha256.Size]byte, 2*len(p.OldParties)+len(p.NewParties)),
	}
	r.cfg.Old, r.cfg.Params = nil, protocol.ReshareParams{}
	xs := make(map[uint16]protocol.PartyID, len(p.NewParties))
	for _, q := range p.NewParties {
		x := cfg.NewIndex(q)
		if prev, dup := xs[x]; dup || x == 0 { // an engine bug
			return nil, fmt.Errorf("new party %s has x-coordinate %d, which is 0 or also %s's", q, x, prev)
		}
		xs[x] = q
		r.newX = append(r.newX, g.Small(x))
		if q == p.Self {
			r.selfX = r.newX[len(r.newX)-1]
		}
	}
	if r.old != nil {
		oldXs := make([]uint16, len(p.OldParties))
		r.oldPublic = make(map[protocol.PartyID]P, len(p.OldParties))
		for i, q := range p.OldParties {
			oldXs[i] = r.old.Index(q)
			x, ok := r.old.PublicShares[q]
			if !ok {
				return nil, fmt.Errorf("the share has no public share of old party %s", q) // an engine bug: checkOld found q among its parties
			}
			r.oldPublic[q] = x
		}
		var err error
		if r.lambdas, err = lagrangeAtZero(g, oldXs); err != nil {
			return nil, err
		}
	}
	r.Release = r.wipe
	return r, nil
}

func (r *Run[S, P]) String() string {
	return fmt.Sprintf("%s reshare run (%s; %d of %v -> %d of %v)", r.cfg.Engine, r.Self, r.p.OldThreshold, r.p.OldParties, r.p.NewThreshold, r.p.NewParties)
}

// Start deals, at an old party; every other party has nothing to do until payloads arrive.
func (r *Run[S, P]) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	if r.old != nil {
		out, err := r.dealLocked()
		if err != nil {
			return r.FailLocked(r.Errorf(1, nil, "dealing: %v", err))
		}
		r.EmitLocked(out...)
	}
	if err := r.progressLocked(); err != nil {
		return r.FailLocked(err)
	}
	return nil
}

// dealLocked draws f_self with f_self(0) = λ_self·x_self, records its commitments (and the
// own subshare, at a new party) and returns the payloads for the others. The old secret, the
// polynomial and the subshares sent are wiped before it returns.
func (r *Run[S, P]) dealLocked() ([]protocol.Outgoing, error) {
	g := r.g
	defer func() {
		g.Wipe(r.old.Secret)
		r.old = nil
	}()
	coeffs := make([]S, 0, r.p.NewThreshold)
	defer func() {
		for _, a := range coeffs {
			g.Wipe(a)
		}
	}()
	coeffs = append(coeffs, g.Mul(r.lambdas[slices.Index(r.p.OldParties, r.Self)], r.old.Secret))
	for len(coeffs) < r.p.NewThreshold {
		a, err := g.RandomScalar()
		if err != nil {
			return nil, err
		}
		coeffs = append(coeffs, a)
	}
	own := &dealing[S, P]{commitments: make([]P, len(coeffs)), verified: true}
	for k, a := range coeffs {
		own.commitments[k] = g.BaseMul(a)
	}
	own.body = dealingBody(g, own.commitments)
	r.dealings[r.Self] = own
	out := []protocol.Outgoing{{Broadcast: true, Payload: append(appendHeader(nil, KindDealing, r.p.SessionNonce, r.Self), own.body...)}}
	for i, q := range r.p.NewParties {
		s := evalPoly(g, coeffs, r.newX[i])
		if q == r.Self {
			own.subshare, own.hasSubshare = s, true
			continue
		}
		out = append(out, protocol.Outgoing{To: []protocol.PartyID{q}, Payload: EncodeSubshare(g, r.p.SessionNonce, r.Self, q, s)})
		g.Wipe(s)
	}
	return out, nil
}

// Handle takes a dealer's commitments or subshare, or a new party's transcript digest.
func (r *Run[S, P]) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.Mu.Lock()
	err := r.AdmitLocked(from, payload)
	r.Mu.Unlock()
	if err != nil {
		return err
	}
	m, derr := Decode(r.g, r.cfg.MaxParties, payload) // outside the lock: point checks cost
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if r.Ended {
		m.Wipe(r.g)
		return r.cfg.ErrEnded
	}
	if derr != nil {
		return r.FailLocked(r.Errorf(payloadRound(payload), []protocol.PartyID{from}, "malformed payload from %s: %v", from, derr))
	}
	err = r.acceptLocked(from, broadcast, m, payload)
	m.Wipe(r.g) // a no-op if the run took the subshare
	if err == nil {
		err = r.progressLocked()
	}
	if err != nil {
		return r.FailLocked(err)
	}
	return nil
}

// acceptLocked checks and records a decoded payload. When the run keeps m's subshare it
// takes it out of m, so that wiping m afterwards leaves it alone.
func (r *Run[S, P]) acceptLocked(from protocol.PartyID, broadcast bool, m *Message[S, P], payload []byte) error {
	culprit := []protocol.PartyID{from}
	round := kindRound(m.Kind)
	switch {
	case !bytes.Equal(m.Nonce[:], r.p.SessionNonce):
		return r.Errorf(round, culprit, "%s sent a payload of another session", from)
	case m.From != from:
		return r.Errorf(round, culprit, "%s sent a payload that names %s as its sender", from, m.From)
	case broadcastKind(m.Kind) != broadcast:
		how := "point-to-point"
		if broadcastKind(m.Kind) {
			how = "broadcast"
		}
		return r.Errorf(round, culprit, "%s sent a %s payload, which must be %s, the other way", from, KindName(m.Kind), how)
	case m.Kind != KindEcho && !slices.Contains(r.p.OldParties, from):
		return r.Errorf(round, culprit, "%s sent a %s payload, but it is not one of the dealers %v", from, KindName(m.Kind), r.p.OldParties)
	case m.Kind == KindEcho && !slices.Contains(r.p.NewParties, from):
		return r.Errorf(round, culprit, "%s sent a %s payload, but it is not one of the new parties %v", from, KindName(m.Kind), r.p.NewParties)
	case m.Kind == KindSubshare && !r.isNew:
		return r.Errorf(round, culprit, "%s sent a subshare to this party, which is not a new party", from)
	case m.Kind == KindSubshare && m.To != r.Self:
		return r.Errorf(round, culprit, "%s sent this party a subshare addressed to %s", from, m.To)
	}
	sum := sha256.Sum256(payload)
	key := seenKey{from, m.Kind}
	if prev, ok := r.seen[key]; ok {
		if prev == sum {
			return nil // an identical replay
		}
		return r.Errorf(round, culprit, "%s sent two different %s payloads", from, KindName(m.Kind))
	}
	r.seen[key] = sum
	if m.Kind == KindEcho {
		r.echoes[from] = m.Digest
		return nil
	}
	d := r.dealings[from]
	if d == nil {
		d = &dealing[S, P]{verified: !r.isNew}
		r.dealings[from] = d
	}
	if m.Kind == KindSubshare {
		d.subshare, d.hasSubshare = m.Subshare, true
		m.hasSubshare = false // the run owns it now
		return r.verifyLocked(from, d)
	}
	if err := r.checkCommitmentsLocked(from, m.Commitments); err != nil {
		return err
	}
	d.commitments, d.body = m.Commitments, m.body
	return r.verifyLocked(from, d)
}

// checkCommitmentsLocked checks a dealer's commitments: their number, and at a party that
// holds an old share, C_i0 = λ_i·X_i.
func (r *Run[S, P]) checkCommitmentsLocked(from protocol.PartyID, cs []P) error {
	culprit := []protocol.PartyID{from}
	if len(cs) != r.p.NewThreshold {
		return r.Errorf(1, culprit, "%s sent %d commitments (want %d, the new threshold)", from, len(cs), r.p.NewThreshold)
	}
	if r.lambdas == nil {
		return nil
	}
	i := slices.Index(r.p.OldParties, from)
	if !r.g.Equal(cs[0], r.g.ScalarMul(r.oldPublic[from], r.lambdas[i])) {
		return r.Errorf(1, culprit, "%s dealt something other than its share of the key (its constant commitment is not λ·X for its old public share X)", from)
	}
	return nil
}

// verifyLocked checks a dealer's subshare against its commitments once both are here.
func (r *Run[S, P]) verifyLocked(from protocol.PartyID, d *dealing[S, P]) error {
	if d.verified || d.commitments == nil || !d.hasSubshare {
		return nil
	}
	if !r.g.Equal(r.g.BaseMul(d.subshare), evalCommitments(r.g, d.commitments, r.selfX)) {
		return r.Errorf(1, []protocol.PartyID{from}, "the subshare %s sent does not match its commitments", from)
	}
	d.verified = true
	return nil
}

// progressLocked does whatever the payloads received so far allow: check the group key once
// every dealer's commitments are here, send this party's transcript digest once every check
// has passed, and end the run once every new party's digest is here and equals this party's.
func (r *Run[S, P]) progressLocked() error {
	if r.Ended {
		return nil
	}
	for _, q := range r.p.OldParties {
		d := r.dealings[q]
		if d == nil || d.commitments == nil || !d.verified {
			return nil
		}
	}
	if !r.keyOK {
		if err := r.cfg.CheckKey(r.sumLocked(0)); err != nil {
			return r.Errorf(1, nil, "the dealers' commitments are not a sharing of the group key: %v (a dealer dealt something other than its share; only a party holding an old share can tell which)", err)
		}
		r.keyOK = true
	}
	if r.view == nil {
		r.view = r.transcriptLocked()
		if r.isNew {
			r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: EncodeEcho(r.p.SessionNonce, r.Self, [DigestSize]byte(r.view))})
		}
	}
	others := len(r.p.NewParties)
	if r.isNew {
		others--
	}
	if len(r.echoes) < others {
		return nil
	}
	var differ []string
	for _, q := range r.p.NewParties {
		if d, ok := r.echoes[q]; ok && !bytes.Equal(d[:], r.view) {
			differ = append(differ, q.String())
		}
	}
	if len(differ) > 0 {
		return r.Errorf(2, nil, "%s received other commitments or parameters than this party did: a dealer sent different commitments to different parties, or a party misreports what it received; the culprit cannot be identified, and no new share is kept", strings.Join(differ, ", "))
	}
	return r.finishLocked()
}

// sumLocked returns Σ_i C_ik over the dealers.
func (r *Run[S, P]) sumLocked(k int) P {
	var acc P
	for i, q := range r.p.OldParties {
		c := r.dealings[q].commitments[k]
		if i == 0 {
			acc = c
			continue
		}
		acc = r.g.AddPoints(acc, c)
	}
	return acc
}

// transcriptLocked returns the digest every participant must agree on: the parameters, the
// session nonce and every dealer's commitments as this party received them.
func (r *Run[S, P]) transcriptLocked() []byte {
	h := sha256.New()
	u16 := func(v int) { h.Write(binary.BigEndian.AppendUint16(nil, uint16(v))) }
	parties := func(ps []protocol.PartyID) {
		u16(len(ps))
		for _, q := range ps {
			u16(int(q))
		}
	}
	h.Write([]byte("mpcsigner reshare transcript v1\x00"))
	h.Write([]byte(r.cfg.Engine))
	h.Write([]byte{0})
	h.Write(r.p.SessionNonce)
	u16(r.p.OldThreshold)
	parties(r.p.OldParties)
	u16(r.p.NewThreshold)
	parties(r.p.NewParties)
	u16(len(r.p.PublicKey))
	h.Write(r.p.PublicKey)
	for _, q := range r.p.OldParties {
		u16(int(q))
		h.Write(r.dealings[q].body)
	}
	return h.Sum(nil)
}

// finishLocked ends the run: with the new share at a new party, with the public key alone at
// an old-only party.
func (r *Run[S, P]) finishLocked() error {
	if !r.isNew {
		r.EndLocked(protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: slices.Clone(r.p.PublicKey)}})
		return nil
	}
	g := r.g
	var x S
	for i, q := range r.p.OldParties {
		s := r.dealings[q].subshare
		if i == 0 {
			x = g.Mul(s, g.Small(1)) // a copy, which the loop may wipe
			continue
		}
		sum := g.Add(x, s)
		g.Wipe(x)
		x = sum
	}
	defer g.Wipe(x)
	agg := make([]P, r.p.NewThreshold)
	for k := range agg {
		agg[k] = r.sumLocked(k)
	}
	ns := NewShare[S, P]{Threshold: r.p.NewThreshold, Parties: slices.Clone(r.p.NewParties), Self: r.Self, Secret: x, GroupKey: agg[0]}
	for _, xm := range r.newX {
		ns.PublicShares = append(ns.PublicShares, evalCommitments(g, agg, xm))
	}
	out, err := r.cfg.Share(ns)
	if err != nil {
		return r.Errorf(2, nil, "the new share: %v", err)
	}
	if out == nil || out.Share == nil || !bytes.Equal(out.PublicKey, r.p.PublicKey) {
		return r.Errorf(2, nil, "the new share is not of the key the reshare names") // an engine bug
	}
	r.EndLocked(protocol.Result{Keygen: out})
	return nil
}

// wipe zeroizes every secret the run holds; called once, when the run ends.
func (r *Run[S, P]) wipe() {
	if r.old != nil {
		r.g.Wipe(r.old.Secret)
		r.old = nil
	}
	for _, d := range r.dealings {
		if d.hasSubshare {
			r.g.Wipe(d.subshare)
			d.hasSubshare = false
		}
	}
}
