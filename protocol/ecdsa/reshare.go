package ecdsa

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/resharing"
	"github.com/bnb-chain/tss-lib/v3/tss"
	"google.golang.org/protobuf/proto"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Resharing moves a key to fresh shares with tss-lib's ecdsa/resharing: the old committee
// (exactly the old threshold of current holders, the dealers) deals, the new committee (the
// receivers) ends with new shares of the same public key. A party can be in both committees.
//
// tss-lib tells the committees apart by the keys of their tss-lib party ids, so a party in
// both committees needs two ids and two tss-lib parties, one per committee. The receivers'
// ids keep key p, as keygen and sign use: a new share's x-coordinate (ShareID) is its key, and
// the existing Sign finds it there. The dealers' ids get key p<<dealerKeyShift, and the
// dealer's copy of its old share gets every x-coordinate (Ks) scaled by the same factor. That
// is the same sharing: scaling every x-coordinate of a Shamir sharing by one constant changes
// no Lagrange coefficient at zero, which is all a dealer computes with them.
//
// Payloads: one frame byte naming the committee of the sending tss-lib party (frameFromOld,
// frameFromNew), then the tss-lib wire bytes; a receiver's final acknowledgement is framed
// frameFinal and carries its transcript digest (below) before the tss-lib bytes. tss-lib's
// messages to a whole committee are protocol broadcasts (every participant sees the same
// payload; a participant with no role in that committee records and drops it), its messages to
// one party are point-to-point. A party in both committees passes messages between its own two
// tss-lib parties inside the run.
//
// Agreement: tss-lib has each receiver check its dealings against the commitments it was
// sent, but nothing makes the receivers compare what they were sent. A dealer that sent
// different commitments to different receivers (or a receiver different Paillier keys) would
// leave the new committee with shares that do not sign together, after the dealers have
// reported success and deleted their old shares. So every participant hashes the broadcasts
// the new shares depend on (each dealer's commitment and its opening, each receiver's
// Paillier key and ring-Pedersen parameters with their proofs) into a transcript digest; each
// receiver sends its digest with its final acknowledgement, and no participant reports
// success before every receiver's digest equals its own.
//
// tss-lib's session id (SSID) is computed by the dealers from the session nonce and their key
// data; receivers take it from the dealers' round-1 messages. A receiver that also deals
// checks every dealer's SSID against its own; a receiver that only receives can only check
// that the dealers agree (it lacks the old key data the SSID covers).

const (
	// maxReshareParties bounds each committee: every receiver verifies Paillier and
	// ring-Pedersen proofs of every other receiver, so the cost grows with the square of n.
	maxReshareParties = 64
	// dealerKeyShift turns party p into the dealer key p<<16, which no receiver key (p < 2^16)
	// can equal.
	dealerKeyShift = 16

	// Frame bytes: the committee whose tss-lib party sent the payload, and for frameFinal
	// (from the new committee) that a transcript digest follows.
	frameFromOld byte = 1
	frameFromNew byte = 2
	frameFinal   byte = 3

	// transcriptSize is the size of a transcript digest (SHA-256).
	transcriptSize = sha256.Size
)

// committee names one of the two committees of a reshare.
type committee byte

const (
	oldCommittee committee = 1 // the dealers
	newCommittee committee = 2 // the receivers
)

func (c committee) String() string {
	if c == oldCommittee {
		return "old"
	}
	return "new"
}

var _ protocol.Resharer = Engine{}

// Reshare implements protocol.Resharer for the engine's curve.
//
// A party in p.OldParties passes its current share (of this engine's curve, of p.PublicKey,
// with exactly p.OldThreshold as its threshold and every old party among its parties). A
// party in p.NewParties passes fresh pre-params (GeneratePreParams), and only such a party
// may. On success a new party's Result.Keygen holds the group public key (as keygen encodes
// it) and its new share, of threshold p.NewThreshold over p.NewParties; a party that only
// dealt gets the public key and a nil Share, and must then delete its old share. The run
// verifies that the new shares are of p.PublicKey before it reports success.
func (e Engine) Reshare(p protocol.ReshareParams) (protocol.Run, error) {
	c, err := curveByName(e.Curve)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: reshare: %w", err)
	}
	in, err := checkReshareParams(c, p)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: reshare: %w", err)
	}
	r, err := newReshare(c, p, in)
	if err != nil {
		in.wipe()
		return nil, fmt.Errorf("ecdsa: reshare: %w", err)
	}
	return r, nil
}

// reshareInputs are the decoded secrets of one party's reshare: its old share when it deals,
// its pre-params when it receives.
type reshareInputs struct {
	share *Share
	pre   *keygen.LocalPreParams
}

// wipe zeroes the secret numbers of the inputs. tss-lib's parties share them, so it must only
// run once no call into tss-lib can happen any more.
func (in *reshareInputs) wipe() {
	if in.share != nil {
		wipeInt(in.share.save.Xi)
		wipePreParams(&in.share.save.LocalPreParams)
	}
	if in.pre != nil {
		wipePreParams(in.pre)
	}
}

// checkReshareParams checks p for this engine and decodes its secrets.
func checkReshareParams(c *curve, p protocol.ReshareParams) (*reshareInputs, error) {
	if err := protocol.CheckReshare(p); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		name string
		ps   []protocol.PartyID
	}{{"old", p.OldParties}, {"new", p.NewParties}} {
		if len(l.ps) > maxReshareParties {
			return nil, fmt.Errorf("%d %s parties; at most %d can take part in an ECDSA reshare", len(l.ps), l.name, maxReshareParties)
		}
	}
	if p.OldThreshold < 2 {
		return nil, fmt.Errorf("old threshold %d: an ECDSA key needs at least 2 signers", p.OldThreshold)
	}
	if p.NewThreshold < 2 {
		return nil, fmt.Errorf("new threshold %d: an ECDSA key needs at least 2 signers", p.NewThreshold)
	}
	if err := checkSessionNonce(p.SessionNonce); err != nil {
		return nil, err
	}
	isOld, isNew := slices.Contains(p.OldParties, p.Self), slices.Contains(p.NewParties, p.Self)
	in := &reshareInputs{}
	if isOld {
		s, err := checkDealerShare(c, p) // first: a share of another curve says so
		if err != nil {
			return nil, err
		}
		in.share = s
	}
	if len(p.PublicKey) != 33 || c.parse(p.PublicKey) != nil {
		in.wipe()
		return nil, fmt.Errorf("public key (%d bytes) is not a 33-byte compressed %s key", len(p.PublicKey), c.name)
	}
	switch {
	case isNew && len(p.PreParams) == 0:
		in.wipe()
		return nil, fmt.Errorf("%s is a new party and needs pre-params (GeneratePreParams) for its new share", p.Self)
	case !isNew && len(p.PreParams) != 0:
		in.wipe()
		return nil, fmt.Errorf("%s only deals and gets no new share: it must not be given pre-params", p.Self)
	case isNew:
		pre, err := decodePreParams(p.PreParams)
		if err != nil {
			in.wipe()
			return nil, errors.New(strings.TrimPrefix(err.Error(), "ecdsa: ")) // Reshare adds its own
		}
		in.pre = pre
	}
	return in, nil
}

// checkDealerShare decodes a dealer's share and checks it against the reshare.
func checkDealerShare(c *curve, p protocol.ReshareParams) (*Share, error) {
	s, err := decodeShare(p.Share)
	if err != nil {
		return nil, fmt.Errorf("invalid share: %w", err)
	}
	fail := func(format string, args ...any) (*Share, error) {
		wipeInt(s.save.Xi)
		wipePreParams(&s.save.LocalPreParams)
		return nil, fmt.Errorf(format, args...)
	}
	switch {
	case s.curve != c:
		return fail("the share is on %s, this engine reshares %s keys", s.curve.name, c.name)
	case s.self != p.Self:
		return fail("the share belongs to %s, not to %s", s.self, p.Self)
	case !bytes.Equal(s.publicKey, p.PublicKey):
		return fail("the share is of public key %x, not of %x", s.publicKey, p.PublicKey)
	case s.threshold != p.OldThreshold:
		return fail("the share's threshold is %d, the reshare's old threshold %d", s.threshold, p.OldThreshold)
	}
	for _, q := range p.OldParties {
		if !slices.Contains(s.parties, q) {
			return fail("old party %s holds no share of this key (its parties are %v)", q, s.parties)
		}
	}
	return s, nil
}

// newReshare builds the run: a partySet of all participants for the envelope checks, the two
// committees' tss-lib ids, and this party's tss-lib parties.
func newReshare(c *curve, p protocol.ReshareParams, in *reshareInputs) (protocol.Run, error) {
	rt := newReshareRouter(p)
	oldCtx, newCtx := tss.NewPeerContext(rt.oldIDs), tss.NewPeerContext(rt.newIDs)
	paramsFor := func(id *tss.PartyID) *tss.ReSharingParameters {
		params := tss.NewReSharingParameters(c.ec, oldCtx, newCtx, id, len(rt.oldIDs), p.OldThreshold-1, len(rt.newIDs), p.NewThreshold-1)
		params.SetSessionNonce(new(big.Int).SetBytes(p.SessionNonce))
		return params
	}

	r := newRun("reshare", p.Self, newPartySet(p.Participants()), reshareMessage)
	r.router = rt
	party := &reshareParty{curve: c, pub: slices.Clone(p.PublicKey), self: p.Self, rt: rt, ssids: make(map[protocol.PartyID][]byte)}
	end := &reshareEnd{curve: c, pub: party.pub, threshold: p.NewThreshold, parties: slices.Clone(p.NewParties), self: p.Self, transcript: rt.transcript}
	if in.share != nil {
		end.dealer = make(chan *keygen.LocalPartySaveData, 1)
		key := in.share.save
		key.Ks = make([]*big.Int, len(in.share.save.Ks))
		for j, k := range in.share.save.Ks {
			key.Ks[j] = dealerKey(k)
		}
		dealer, err := construct(func() tss.Party {
			return resharing.NewLocalParty(paramsFor(rt.old[p.Self]), key, r.tssOut, end.dealer)
		})
		if err != nil {
			return nil, err
		}
		party.dealer = dealer
	}
	if in.pre != nil {
		end.receiver = make(chan *keygen.LocalPartySaveData, 1)
		key := keygen.NewLocalPartySaveData(len(rt.newIDs))
		key.LocalPreParams = *in.pre
		receiver, err := construct(func() tss.Party {
			return resharing.NewLocalParty(paramsFor(rt.new[p.Self]), key, r.tssOut, end.receiver)
		})
		if err != nil {
			return nil, err
		}
		party.receiver = receiver
	}
	party.Party = party.receiver
	if party.Party == nil {
		party.Party = party.dealer
	}
	r.party = party
	r.takeEnd = end.take
	w := &reshareRun{run: r, wipe: func() { in.wipe(); end.wipe() }}
	return w, nil
}

// reshareRun is a reshare's run; it wipes the run's secrets once the run has ended and no call
// into tss-lib is left.
type reshareRun struct {
	*run
	wipe     func()
	wipeOnce sync.Once
}

func (w *reshareRun) Start() error {
	err := w.run.Start()
	w.wipeWhenQuiet()
	return err
}

func (w *reshareRun) Abort(err error) {
	w.run.Abort(err)
	w.wipeWhenQuiet()
}

// wipeWhenQuiet starts, once, the goroutine that wipes the secrets after the run's end. (A
// run that is neither started nor aborted has no goroutine, and its secrets go with it.)
func (w *reshareRun) wipeWhenQuiet() {
	w.wipeOnce.Do(func() {
		go func() {
			<-w.run.quiet
			w.wipe()
		}()
	})
}

// reshareEnd collects what this party's tss-lib parties produce. take runs under the run's
// lock, which also guards these fields.
type reshareEnd struct {
	curve     *curve
	pub       []byte
	threshold int
	parties   []protocol.PartyID
	self      protocol.PartyID

	dealer, receiver chan *keygen.LocalPartySaveData // nil for a role this party does not have
	dealt            bool
	save             *keygen.LocalPartySaveData
	xi               *big.Int // the new secret share, reduced mod N
	transcript       *transcript
}

// take reports the run's result once every tss-lib party of this party has finished.
func (e *reshareEnd) take() (protocol.Result, bool) {
	if e.dealer != nil && !e.dealt {
		select {
		case <-e.dealer: // the dealer's save data holds nothing: tss-lib zeroed its old share
			e.dealt = true
		default:
		}
	}
	if e.receiver != nil && e.save == nil {
		select {
		case e.save = <-e.receiver:
		default:
		}
	}
	if (e.dealer != nil && !e.dealt) || (e.receiver != nil && e.save == nil) {
		return protocol.Result{}, false
	}
	// A broadcast this party only records may still be on its way.
	if agreed, err := e.transcript.agreed(); err != nil {
		return protocol.Result{Err: &protocol.Error{Task: "reshare", Cause: err}}, true
	} else if !agreed {
		return protocol.Result{}, false
	}
	if e.receiver == nil {
		return protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: slices.Clone(e.pub)}}, true
	}
	return e.result(), true
}

// result turns the receiver's save data into the new share, after checking it and that it is
// a share of the key being reshared.
func (e *reshareEnd) result() protocol.Result {
	fail := func(err error) protocol.Result {
		return protocol.Result{Err: &protocol.Error{Task: "reshare", Cause: fmt.Errorf("the new share is unusable: %w", err)}}
	}
	s := &Share{curve: e.curve, threshold: e.threshold, parties: e.parties, self: e.self, save: *e.save}
	// tss-lib adds up the dealt shares without reducing them mod N.
	if e.save.Xi != nil {
		e.xi = new(big.Int).Mod(e.save.Xi, e.curve.ec.Params().N)
		s.save.Xi = e.xi
	}
	if err := s.check(); err != nil {
		return fail(err)
	}
	if !bytes.Equal(s.publicKey, e.pub) {
		return fail(fmt.Errorf("it is a share of public key %x, not of the key being reshared, %x", s.publicKey, e.pub))
	}
	b, err := s.encode()
	if err != nil {
		return fail(err)
	}
	back, err := decodeShare(b)
	if err != nil || !bytes.Equal(back.publicKey, e.pub) {
		return fail(errors.New("share does not survive encoding"))
	}
	wipeInt(back.save.Xi)
	wipePreParams(&back.save.LocalPreParams)
	return protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: slices.Clone(e.pub), Share: b}}
}

// wipe zeroes the new secret share (the pre-params in it are the inputs', wiped with them).
func (e *reshareEnd) wipe() {
	if e.save != nil {
		wipeInt(e.save.Xi)
	}
	wipeInt(e.xi)
}

// reshareParty is this party's side of a reshare as the one tss.Party a run drives: its dealer
// (old committee) and its receiver (new committee) tss-lib parties, either of which may be
// nil. run calls only Start and Update; the embedded party answers the rest of tss.Party.
type reshareParty struct {
	tss.Party
	dealer, receiver tss.Party

	curve *curve
	pub   []byte
	self  protocol.PartyID
	rt    *reshareRouter

	mu    sync.Mutex
	ssids map[protocol.PartyID][]byte // from the dealers' round-1 messages
}

// Start starts the receiver, which only waits for the dealers, then the dealer, which deals.
func (p *reshareParty) Start() *tss.Error {
	if p.receiver != nil {
		if err := p.receiver.Start(); err != nil {
			return err
		}
	}
	if p.dealer != nil {
		return p.dealer.Start()
	}
	return nil
}

// Update hands msg to whichever of this party's tss-lib parties it is for, and drops it if
// none is (a broadcast to a committee this party is not in).
func (p *reshareParty) Update(msg tss.ParsedMessage) (bool, *tss.Error) {
	kind, ok := reshareKindOf(msg.Content())
	if !ok {
		return false, nil // run.check refuses unknown types before they get here
	}
	if from, ok := p.rt.member(msg.GetFrom()); ok {
		p.rt.transcript.record(from.party, msg.Content())
	}
	if kind.toNew && p.receiver != nil {
		if r1, ok := msg.Content().(*resharing.DGRound1Message); ok {
			if err := p.checkRound1(msg.GetFrom(), r1); err != nil {
				// Round 1: the receiver leaves it only once every dealer's round-1 message
				// has passed this check. (Not receiver.WrapError: it reads the round unlocked.)
				return false, tss.NewError(err.cause, resharing.TaskName, 1, p.rt.new[p.self], err.culprits...)
			}
		}
		if ok, err := p.receiver.Update(msg); err != nil || !ok {
			return ok, err
		}
	}
	if kind.toOld && p.dealer != nil {
		return p.dealer.Update(msg)
	}
	return true, nil
}

// culpritError is a failure and the tss-lib parties it is blamed on.
type culpritError struct {
	cause    error
	culprits []*tss.PartyID
}

// checkRound1 checks what tss-lib leaves unchecked in a dealer's round-1 message: that it is
// about the key being reshared (tss-lib compares only the first dealer's key with the sum of
// the dealings), and that every dealer uses the same session id.
func (p *reshareParty) checkRound1(fromID *tss.PartyID, m *resharing.DGRound1Message) *culpritError {
	from, _ := p.rt.culprit(fromID)
	pub, err := m.UnmarshalECDSAPub(p.curve.ec)
	if err != nil || !p.curve.onCurve(pub) {
		return &culpritError{fmt.Errorf("%s's round-1 message carries no valid public key", from), []*tss.PartyID{fromID}}
	}
	if enc, err := p.curve.compress(pub); err != nil || !bytes.Equal(enc, p.pub) {
		return &culpritError{fmt.Errorf("%s deals a sharing of public key %x, not of the key being reshared, %x", from, enc, p.pub), []*tss.PartyID{fromID}}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.ssids[from] = slices.Clone(m.UnmarshalSSID())
	if p.dealer != nil {
		// This party computed its own SSID from its own nonce and key data: whoever differs
		// is at fault.
		own, ok := p.ssids[p.self]
		if !ok {
			return nil
		}
		var culprits []*tss.PartyID
		var names []string
		for _, q := range p.rt.oldParties {
			if s, ok := p.ssids[q]; ok && !bytes.Equal(s, own) {
				culprits, names = append(culprits, p.rt.old[q]), append(names, q.String())
			}
		}
		if len(culprits) > 0 {
			return &culpritError{fmt.Errorf("%s computed a session id other than this party's: the session nonces or the copies of the old key data differ", strings.Join(names, ", ")), culprits}
		}
		return nil
	}
	var first []byte
	for _, q := range p.rt.oldParties {
		s, ok := p.ssids[q]
		switch {
		case !ok:
		case first == nil:
			first = s
		case !bytes.Equal(s, first):
			return &culpritError{cause: errors.New("the old parties use different session ids: their session nonces or their copies of the old key data differ")}
		}
	}
	return nil
}

// reshareKind is what the protocol says of one tss-lib resharing message type: its frame byte
// (which says the sending committee), which committees receive it, and whether it is a
// broadcast.
type reshareKind struct {
	frame        byte
	toOld, toNew bool
	broadcast    bool
}

func reshareKindOf(c tss.MessageContent) (reshareKind, bool) {
	switch c.(type) {
	case *resharing.DGRound1Message: // the dealing's commitment and the SSID
		return reshareKind{frame: frameFromOld, toNew: true, broadcast: true}, true
	case *resharing.DGRound2Message1: // a receiver's Paillier key, ring-Pedersen parameters and proofs
		return reshareKind{frame: frameFromNew, toNew: true, broadcast: true}, true
	case *resharing.DGRound2Message2: // a receiver's acknowledgement to the dealers
		return reshareKind{frame: frameFromNew, toOld: true, broadcast: true}, true
	case *resharing.DGRound3Message1: // a dealer's share for one receiver
		return reshareKind{frame: frameFromOld, toNew: true}, true
	case *resharing.DGRound3Message2: // the opening of the dealing's commitment
		return reshareKind{frame: frameFromOld, toNew: true, broadcast: true}, true
	case *resharing.DGRound4Message1: // a receiver's Paillier factor proof for one other receiver
		return reshareKind{frame: frameFromNew, toNew: true}, true
	case *resharing.DGRound4Message2: // a receiver's final acknowledgement, with its transcript digest
		return reshareKind{frame: frameFinal, toOld: true, toNew: true, broadcast: true}, true
	}
	return reshareKind{}, false
}

// frameCommittee returns the committee a frame byte says the sender is in.
func frameCommittee(frame byte) (committee, bool) {
	switch frame {
	case frameFromOld:
		return oldCommittee, true
	case frameFromNew, frameFinal:
		return newCommittee, true
	}
	return 0, false
}

// reshareMessage classifies resharing message contents for run.check.
func reshareMessage(c tss.MessageContent) (broadcast, known bool) {
	k, ok := reshareKindOf(c)
	return k.broadcast, ok
}

// member is one tss-lib party of a reshare: a participant in one of its committees.
type member struct {
	party     protocol.PartyID
	committee committee
}

// reshareRouter frames, routes and attributes a reshare's payloads (see the comment at the top
// of this file). Only its transcript changes once it is built.
type reshareRouter struct {
	self           protocol.PartyID
	oldParties     []protocol.PartyID
	oldIDs, newIDs tss.SortedPartyIDs
	old, new       map[protocol.PartyID]*tss.PartyID
	byKey          map[string]member
	transcript     *transcript
}

var _ router = (*reshareRouter)(nil)

func newReshareRouter(p protocol.ReshareParams) *reshareRouter {
	rt := &reshareRouter{
		self:       p.Self,
		oldParties: slices.Clone(p.OldParties),
		old:        make(map[protocol.PartyID]*tss.PartyID),
		new:        make(map[protocol.PartyID]*tss.PartyID),
		byKey:      make(map[string]member),
		transcript: newTranscript(p),
	}
	unsorted := make(tss.UnSortedPartyIDs, len(p.OldParties))
	for i, q := range p.OldParties {
		unsorted[i] = tss.NewPartyID("old-"+strconv.Itoa(int(q)), q.String()+" (old committee)", dealerKey(big.NewInt(int64(q))))
		rt.old[q] = unsorted[i]
		rt.byKey[string(unsorted[i].Key)] = member{q, oldCommittee}
	}
	rt.oldIDs = tss.SortPartyIDs(unsorted)
	ns := newPartySet(p.NewParties) // key p, as keygen and sign use
	rt.newIDs = ns.tss
	for q, id := range ns.byID {
		rt.new[q] = id
		rt.byKey[string(id.Key)] = member{q, newCommittee}
	}
	return rt
}

// dealerKey is the tss-lib key of a dealer whose receiver key is k.
func dealerKey(k *big.Int) *big.Int { return new(big.Int).Lsh(k, dealerKeyShift) }

func (rt *reshareRouter) member(pid *tss.PartyID) (member, bool) {
	if pid == nil || pid.MessageWrapper_PartyID == nil {
		return member{}, false
	}
	m, ok := rt.byKey[string(pid.Key)]
	return m, ok
}

func (rt *reshareRouter) culprit(pid *tss.PartyID) (protocol.PartyID, bool) {
	m, ok := rt.member(pid)
	return m.party, ok
}

// parse decodes a framed payload from participant from. The frame byte must name a committee
// from is in, and be the one of the message type; a point-to-point message must be for a
// committee this party is in. A final acknowledgement's transcript digest is recorded.
func (rt *reshareRouter) parse(from protocol.PartyID, broadcast bool, payload []byte) (tss.ParsedMessage, error) {
	if len(payload) < 2 {
		return nil, fmt.Errorf("%d bytes is too short for a reshare payload (a frame byte, then a message)", len(payload))
	}
	frame, body := payload[0], payload[1:]
	com, ok := frameCommittee(frame)
	if !ok {
		return nil, fmt.Errorf("unknown frame byte 0x%02x (want %d or %d: from the old or the new committee, %d: a final acknowledgement)", frame, frameFromOld, frameFromNew, frameFinal)
	}
	ids := rt.old
	if com == newCommittee {
		ids = rt.new
	}
	id, ok := ids[from]
	if !ok {
		return nil, fmt.Errorf("framed as from the %s committee, which %s is not in", com, from)
	}
	var digest []byte
	if frame == frameFinal {
		if len(body) < transcriptSize+1 {
			return nil, fmt.Errorf("%d bytes is too short for a final acknowledgement (a frame byte, a %d-byte transcript digest, then a message)", len(payload), transcriptSize)
		}
		digest, body = body[:transcriptSize], body[transcriptSize:]
	}
	msg, err := tss.ParseWireMessage(body, id, broadcast)
	if err != nil {
		return nil, err
	}
	kind, known := reshareKindOf(msg.Content())
	switch {
	case !known:
		// run.check names the unexpected type.
	case kind.frame != frame:
		return nil, fmt.Errorf("a %q message framed 0x%02x; it must be framed 0x%02x", msg.Type(), frame, kind.frame)
	case !kind.broadcast && kind.toNew && rt.new[rt.self] == nil:
		return nil, fmt.Errorf("a point-to-point %q message for the new committee, which this party (%s) is not in", msg.Type(), rt.self)
	case digest != nil:
		rt.transcript.reported(from, digest)
	}
	return msg, nil
}

// route frames a message of one of this party's tss-lib parties for the other participants it
// is addressed to, and hands a copy addressed to this party's other tss-lib party back for
// local delivery.
func (rt *reshareRouter) route(m tss.Message) ([]protocol.Outgoing, []tss.ParsedMessage, error) {
	from, ok := rt.member(m.GetFrom())
	if !ok || from.party != rt.self {
		return nil, nil, errors.New("message from a tss-lib party that is not this party")
	}
	if len(m.GetTo()) == 0 {
		return nil, nil, errors.New("message without recipients")
	}
	b, _, err := m.WireBytes()
	if err != nil {
		return nil, nil, err
	}
	// A copy of our own: for the transcript, and for local delivery.
	own, err := tss.ParseWireMessage(b, m.GetFrom(), m.IsBroadcast())
	if err != nil {
		return nil, nil, err
	}
	kind, ok := reshareKindOf(own.Content())
	if !ok {
		return nil, nil, fmt.Errorf("tss-lib emitted a %q message, which a reshare does not have", own.Type())
	}
	rt.transcript.record(rt.self, own.Content())
	var remote []protocol.PartyID
	var local []tss.ParsedMessage
	for _, pid := range m.GetTo() {
		to, ok := rt.member(pid)
		switch {
		case !ok:
			return nil, nil, errors.New("message addressed to a party outside the run")
		case to.party != rt.self:
			if !slices.Contains(remote, to.party) {
				remote = append(remote, to.party)
			}
		case to.committee != from.committee: // this party's other tss-lib party
			if len(local) > 0 {
				return nil, nil, errors.New("message addressed twice to this party's other tss-lib party")
			}
			local = append(local, own)
		}
		// A tss-lib party's message to itself (the receivers' last acknowledgement goes to
		// both whole committees) is dropped: tss-lib has stored its own copy.
	}
	if len(remote) == 0 {
		return nil, local, nil
	}
	payload := append([]byte{kind.frame}, b...)
	if kind.frame == frameFinal {
		digest, err := rt.transcript.digest()
		if err != nil {
			return nil, nil, err
		}
		payload = slices.Concat([]byte{frameFinal}, digest, b)
	}
	if m.IsBroadcast() {
		return []protocol.Outgoing{{Broadcast: true, Payload: payload}}, local, nil
	}
	slices.Sort(remote)
	return []protocol.Outgoing{{To: remote, Payload: payload}}, local, nil
}

// wipeInt zeroes x's digits and sets it to 0.
func wipeInt(x *big.Int) {
	if x != nil {
		clear(x.Bits())
		x.SetInt64(0)
	}
}

// wipePreParams zeroes the secret numbers of pre-params (the moduli stay: they are public).
func wipePreParams(pp *keygen.LocalPreParams) {
	if sk := pp.PaillierSK; sk != nil {
		wipeInt(sk.LambdaN)
		wipeInt(sk.PhiN)
		wipeInt(sk.P)
		wipeInt(sk.Q)
	}
	wipeInt(pp.Alpha)
	wipeInt(pp.Beta)
	wipeInt(pp.P)
	wipeInt(pp.Q)
}

// transcript collects, at one participant, the broadcasts the new shares depend on, and the
// digests of them that the receivers report (see Agreement at the top of this file). It is
// safe for concurrent use.
type transcript struct {
	self      protocol.PartyID
	dealers   []protocol.PartyID
	receivers []protocol.PartyID

	mu sync.Mutex
	// seen holds a participant's broadcasts, hashed: as a dealer its commitment and its
	// opening, as a receiver its Paillier key, ring-Pedersen parameters and proofs. The first
	// copy counts: run.check refuses a second, different one from a peer.
	seen    map[protocol.PartyID]*[3][]byte
	reports map[protocol.PartyID][]byte // a receiver's transcript digest
}

// Slots of transcript.seen.
const (
	seenCommitment = iota
	seenOpening
	seenReceiverKeys
)

func newTranscript(p protocol.ReshareParams) *transcript {
	return &transcript{
		self: p.Self, dealers: slices.Clone(p.OldParties), receivers: slices.Clone(p.NewParties),
		seen: make(map[protocol.PartyID]*[3][]byte), reports: make(map[protocol.PartyID][]byte),
	}
}

// record notes content, a message of from, if it is one of the transcript's broadcasts.
func (t *transcript) record(from protocol.PartyID, content tss.MessageContent) {
	var slot int
	switch content.(type) {
	case *resharing.DGRound1Message:
		slot = seenCommitment
	case *resharing.DGRound3Message2:
		slot = seenOpening
	case *resharing.DGRound2Message1:
		slot = seenReceiverKeys
	default:
		return
	}
	h := hashContent(content)
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.seen[from]
	if e == nil {
		e = new([3][]byte)
		t.seen[from] = e
	}
	if e[slot] == nil {
		e[slot] = h
	}
}

// hashContent hashes a message content's deterministic protobuf encoding (every participant
// runs this same code, so equal contents hash equal).
func hashContent(c tss.MessageContent) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return []byte{} // not nil: recorded, and it cannot equal a real hash
	}
	h := sha256.Sum256(b)
	return h[:]
}

// reported notes the transcript digest receiver from sent with its final acknowledgement.
func (t *transcript) reported(from protocol.PartyID, digest []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.reports[from]; !ok {
		t.reports[from] = slices.Clone(digest)
	}
}

// digest returns this party's transcript digest, or an error if a broadcast is missing.
func (t *transcript) digest() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.digestLocked()
}

func (t *transcript) digestLocked() ([]byte, error) {
	h := sha256.New()
	h.Write([]byte("mpcsigner ecdsa reshare transcript v1"))
	part := func(p protocol.PartyID, slot int, what string) error {
		e := t.seen[p]
		if e == nil || e[slot] == nil {
			return fmt.Errorf("%s of %s has not arrived here", what, p)
		}
		h.Write(binary.BigEndian.AppendUint16([]byte{byte(slot)}, uint16(p)))
		h.Write(e[slot])
		return nil
	}
	for _, d := range t.dealers {
		if err := part(d, seenCommitment, "the dealing commitment"); err != nil {
			return nil, err
		}
		if err := part(d, seenOpening, "the dealing opening"); err != nil {
			return nil, err
		}
	}
	for _, r := range t.receivers {
		if err := part(r, seenReceiverKeys, "the Paillier key"); err != nil {
			return nil, err
		}
	}
	return h.Sum(nil), nil
}

// agreed reports whether every other receiver has reported a transcript digest equal to this
// party's, and an error if one differs. It reports false while a broadcast or a report is
// still missing.
func (t *transcript) agreed() (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	own, err := t.digestLocked()
	if err != nil {
		return false, nil
	}
	var differ []string
	for _, r := range t.receivers {
		if r == t.self {
			continue
		}
		d, ok := t.reports[r]
		if !ok {
			return false, nil
		}
		if !bytes.Equal(d, own) {
			differ = append(differ, r.String())
		}
	}
	if len(differ) > 0 {
		return false, fmt.Errorf("%s saw other broadcasts than this party (a dealer or a receiver sent different copies to different parties, or the receiver lies about them): the new shares might not sign together, so none is kept", strings.Join(differ, ", "))
	}
	return true, nil
}
