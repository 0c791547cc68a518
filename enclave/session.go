package enclave

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

const (
	inboxSize      = 1024
	maxSessions    = 256
	seenSessionTTL = 10 * time.Minute
)

// session is this party's side of one protocol run, from prepare to result.
type session struct {
	id    wire.SessionID
	args  wire.PrepareArgs
	run   protocol.Run
	inbox chan inbound
	// preParams is what a keygen claimed from the pool; it goes back if the run never starts.
	preParams []byte
	created   time.Time

	mu      sync.Mutex
	started bool
	round   uint16
	done    chan struct{}
	result  protocol.Result
}

type inbound struct {
	from      protocol.PartyID
	broadcast bool
	payload   []byte
}

// sessionTable holds the sessions in progress and the ids already used.
type sessionTable struct {
	e    *Enclave
	mu   sync.Mutex
	live map[wire.SessionID]*session
	seen map[wire.SessionID]time.Time
}

func newSessionTable(e *Enclave) *sessionTable {
	return &sessionTable{e: e, live: map[wire.SessionID]*session{}, seen: map[wire.SessionID]time.Time{}}
}

func (t *sessionTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live)
}

func (t *sessionTable) get(id wire.SessionID) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live[id]
}

// prepare checks args, claims what the run needs and registers it; nothing is sent yet.
func (t *sessionTable) prepare(args *wire.PrepareArgs) error {
	id, err := wire.ParseSessionID(args.Session)
	if err != nil {
		return fmt.Errorf("session id: %v: %w", err, errBadRequest)
	}
	if err := t.reserve(id); err != nil {
		return err
	}
	run, pp, err := t.e.newRun(args)
	if err != nil {
		t.release(id)
		return err
	}
	s := &session{id: id, args: *args, run: run, preParams: pp, inbox: make(chan inbound, inboxSize), created: time.Now(), done: make(chan struct{})}
	t.mu.Lock()
	t.live[id] = s
	t.mu.Unlock()
	return nil
}

// reserve records id as used; a session id is never accepted twice.
func (t *sessionTable) reserve(id wire.SessionID) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.seen[id]; ok {
		return fmt.Errorf("session %s was already used: %w", id, errConflict)
	}
	if len(t.live) >= maxSessions {
		return fmt.Errorf("%d sessions are already in progress: %w", len(t.live), errNotReady)
	}
	t.seen[id] = time.Now()
	return nil
}

func (t *sessionTable) release(id wire.SessionID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.live, id)
}

// newRun validates a prepare request against this enclave's state and builds the run. For a
// keygen it also returns the pre-parameters it claimed.
func (e *Enclave) newRun(args *wire.PrepareArgs) (protocol.Run, []byte, error) {
	eng, ok := e.engines[args.Scheme]
	if !ok {
		return nil, nil, fmt.Errorf("scheme %q is not supported: %w", args.Scheme, errBadRequest)
	}
	if err := e.checkParties(args.Parties); err != nil {
		return nil, nil, err
	}
	if !keyIDPattern.MatchString(args.KeyID) {
		return nil, nil, fmt.Errorf("key id %q must be 32 lowercase hex digits: %w", args.KeyID, errBadRequest)
	}
	nonce := sessionNonce(args)
	switch args.Kind {
	case wire.KindKeygen:
		return e.newKeygen(eng, args, nonce)
	case wire.KindSign:
		if len(args.Batch) > 0 {
			run, err := e.newBatchSign(eng, args, nonce)
			return run, nil, err
		}
		run, err := e.newSign(eng, args, nonce)
		return run, nil, err
	case wire.KindImport:
		run, err := e.newImport(eng, args, nonce)
		return run, nil, err
	case wire.KindReshare:
		return e.newReshare(eng, args, nonce)
	case wire.KindChainCode:
		run, err := e.newChainCode(eng, args, nonce)
		return run, nil, err
	case wire.KindPresign:
		run, err := e.newPresign(eng, args, nonce)
		return run, nil, err
	}
	return nil, nil, fmt.Errorf("session kind %q is not keygen or sign: %w", args.Kind, errBadRequest)
}

func (e *Enclave) checkParties(parties []protocol.PartyID) error {
	n := len(e.cfg.Roster.Parties)
	if !slices.IsSorted(parties) || len(slices.Compact(slices.Clone(parties))) != len(parties) {
		return fmt.Errorf("parties %v must be sorted and distinct: %w", parties, errBadRequest)
	}
	for _, p := range parties {
		if !p.Valid(n) {
			return fmt.Errorf("%s is not in this cluster of %d: %w", p, n, errBadRequest)
		}
	}
	if !slices.Contains(parties, e.cfg.Identity.Party) {
		return fmt.Errorf("parties %v do not include this enclave (%s): %w", parties, e.cfg.Identity.Party, errBadRequest)
	}
	return nil
}

func (e *Enclave) newKeygen(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, []byte, error) {
	if err := e.checkKeygen(args); err != nil {
		return nil, nil, err
	}
	var pp []byte
	if eng.NeedsPreParams() {
		var err error
		if pp, err = e.pool.claim(); err != nil {
			return nil, nil, err
		}
	}
	run, err := eng.Keygen(protocol.KeygenParams{
		Self: e.cfg.Identity.Party, Parties: args.Parties, Threshold: args.Threshold,
		SessionNonce: nonce, PreParams: pp,
	})
	if err != nil {
		e.returnPreParams(pp)
		return nil, nil, err
	}
	return run, pp, nil
}

// returnPreParams puts back pre-parameters whose run never started: nothing derived from them
// has left the enclave, so they are as good as new.
func (e *Enclave) returnPreParams(pp []byte) {
	if pp == nil || e.pool == nil {
		return
	}
	if err := e.pool.add(pp); err != nil {
		e.log.Error("returning unused pre-parameters to the pool", "err", err)
	}
}

func (e *Enclave) checkKeygen(args *wire.PrepareArgs) error {
	// A key's committee is any two or more parties of the roster (checkParties made sure they
	// are in it), so that a cluster can hold keys on different committees and move a key
	// between them by resharing.
	if len(args.Parties) < 2 {
		return fmt.Errorf("a key generation needs at least 2 parties, got %v: %w", args.Parties, errBadRequest)
	}
	if args.Threshold < 2 || args.Threshold > len(args.Parties) {
		return fmt.Errorf("threshold %d must be at least 2 and at most the %d parties: %w", args.Threshold, len(args.Parties), errBadRequest)
	}
	if !labelPattern.MatchString(args.Label) {
		return fmt.Errorf("label %q must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit: %w", args.Label, errBadRequest)
	}
	if args.PKCS11ID != "" && !pkcs11IDPattern.MatchString(args.PKCS11ID) {
		return fmt.Errorf("PKCS#11 id %q must be 1 to 64 bytes in lowercase hex: %w", truncateString(args.PKCS11ID, 140), errBadRequest)
	}
	if args.Digest != "" || args.Message != "" {
		return fmt.Errorf("a key generation takes no digest or message: %w", errBadRequest)
	}
	if args.Reshare != nil || args.Epoch != 0 {
		return fmt.Errorf("a key generation takes no reshare or epoch: %w", errBadRequest)
	}
	if (args.Kind == wire.KindImport) != (args.Import != nil) {
		return fmt.Errorf("import arguments come with an import session and only with one: %w", errBadRequest)
	}
	return e.keys.checkNew(&wire.KeyInfo{ID: args.KeyID, Label: args.Label, PKCS11ID: args.PKCS11ID})
}

func (e *Enclave) newSign(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, error) {
	rec, err := e.signingKey(args)
	if err != nil {
		return nil, err
	}
	return e.signWithKey(eng, rec, args, nonce)
}

// signWithKey builds the run of a signing whose key record signingKey has checked.
func (e *Enclave) signWithKey(eng protocol.Engine, rec *keyRecord, args *wire.PrepareArgs, nonce []byte) (protocol.Run, error) {
	var err error
	if args.Presignature != "" {
		in, err := signInput(args, rec.Info.Scheme)
		if err != nil {
			return nil, err
		}
		return e.signPresigned(args, in)
	}
	params := protocol.SignParams{Self: e.cfg.Identity.Party, Signers: args.Parties, Share: rec.Share, SessionNonce: nonce}
	if err := signedPayload(args, rec.Info.Scheme, &params); err != nil {
		return nil, err
	}
	if args.Path != "" {
		if params.Derivation, err = e.derivation(eng, rec, args.Path); err != nil {
			return nil, err
		}
	}
	return eng.Sign(params)
}

// signingKey checks the arguments of a signing or presigning against the key they name and
// returns the key's record.
func (e *Enclave) signingKey(args *wire.PrepareArgs) (*keyRecord, error) {
	rec, err := e.keys.resolve(args.KeyID)
	if err != nil {
		return nil, err
	}
	if rec.Info.Scheme != args.Scheme {
		return nil, fmt.Errorf("key %s is %s, not %s: %w", args.KeyID, rec.Info.Scheme, args.Scheme, errBadRequest)
	}
	if rec.Info.Scheme == protocol.SchemeBLS12381 {
		// A raw digest would bypass slashing protection: a host could have a block or an
		// attestation root signed as "just a digest".
		return nil, fmt.Errorf("key %s is a validator key: it signs only Ethereum consensus messages through the eth2 API, where slashing protection applies: %w", args.KeyID, errBadRequest)
	}
	// The epoch first: a host that looked the key up before a reshare names the old signer
	// count too, and must hear that the key changed, not that its request is malformed.
	if args.Epoch != rec.Info.Epoch {
		return nil, fmt.Errorf("key %s is at epoch %d here and the request is for epoch %d: the key was reshared, look it up again: %w", args.KeyID, rec.Info.Epoch, args.Epoch, errStaleKey)
	}
	if len(args.Parties) != rec.Info.Threshold {
		return nil, fmt.Errorf("key %s needs exactly %d signers, got %d: %w", args.KeyID, rec.Info.Threshold, len(args.Parties), errBadRequest)
	}
	for _, p := range args.Parties {
		if !slices.Contains(rec.Info.Parties, p) {
			return nil, fmt.Errorf("%s holds no share of key %s: %w", p, args.KeyID, errBadRequest)
		}
	}
	if args.Label != "" || args.Threshold != 0 || args.PKCS11ID != "" || args.Reshare != nil {
		return nil, fmt.Errorf("a signing takes no label, threshold, PKCS#11 id or reshare: %w", errBadRequest)
	}
	return rec, nil
}

// signedPayload puts what a signing run signs into params: the digest, or for Ed25519 keys a
// whole message; exactly one of the two.
func signedPayload(args *wire.PrepareArgs, scheme protocol.Scheme, params *protocol.SignParams) error {
	if (args.Digest == "") == (args.Message == "") {
		return fmt.Errorf("a signing takes exactly one of a digest and a message: %w", errBadRequest)
	}
	if args.Message != "" {
		if scheme != protocol.SchemeEd25519 {
			return fmt.Errorf("%s keys sign a 32-byte digest, not a message: %w", scheme, errBadRequest)
		}
		msg, err := hex.DecodeString(args.Message)
		if err != nil || len(msg) > protocol.MaxMessageBytes {
			return fmt.Errorf("message must be hex of at most %d bytes: %w", protocol.MaxMessageBytes, errBadRequest)
		}
		params.Message = msg
		return nil
	}
	digest, err := hex.DecodeString(args.Digest)
	if err != nil || len(digest) != 32 {
		return fmt.Errorf("digest must be 64 hex digits: %w", errBadRequest)
	}
	copy(params.Digest[:], digest)
	return nil
}

// sessionNonce derives the run's nonce from everything that defines the run. Each participant
// computes it itself, so a host cannot hand two runs the same nonce without also reusing a
// session id, which every enclave refuses.
func sessionNonce(args *wire.PrepareArgs) []byte {
	h := sha256.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(b)))
		h.Write(b)
	}
	field([]byte("mpcsigner/v1 session nonce"))
	field([]byte(args.Session))
	field([]byte(args.Kind))
	field([]byte(args.Scheme))
	field([]byte(args.KeyID))
	field([]byte(args.Label))
	field([]byte(args.Digest))
	field([]byte(args.Message))
	if args.Path != "" {
		field([]byte("path"))
		field([]byte(args.Path))
	}
	if args.PKCS11ID != "" {
		field([]byte("pkcs11 id"))
		field([]byte(args.PKCS11ID))
	}
	if args.Presignature != "" {
		field([]byte("presignature"))
		field([]byte(args.Presignature))
	}
	if len(args.Batch) > 0 {
		field([]byte("batch"))
		_ = binary.Write(h, binary.BigEndian, uint32(len(args.Batch)))
		for _, item := range args.Batch {
			field([]byte(item.Digest))
			field([]byte(item.Message))
			field([]byte(item.Presignature))
		}
	}
	if args.Epoch != 0 {
		field([]byte("epoch"))
		_ = binary.Write(h, binary.BigEndian, args.Epoch)
	}
	if ra := args.Reshare; ra != nil {
		field([]byte("reshare"))
		_ = binary.Write(h, binary.BigEndian, ra.Epoch)
		_ = binary.Write(h, binary.BigEndian, uint32(ra.NewThreshold))
		for _, ps := range [][]protocol.PartyID{ra.OldParties, ra.NewParties} {
			_ = binary.Write(h, binary.BigEndian, uint32(len(ps)))
			for _, p := range ps {
				_ = binary.Write(h, binary.BigEndian, uint16(p))
			}
		}
		field([]byte(ra.PublicKey))
		field([]byte(ra.Created))
		field([]byte(ra.PKCS11ID))
	}
	if im := args.Import; im != nil {
		field([]byte("import"))
		_ = binary.Write(h, binary.BigEndian, uint16(im.Dealer))
		field([]byte(im.PublicKey))
	}
	_ = binary.Write(h, binary.BigEndian, uint32(args.Threshold))
	for _, p := range args.Parties {
		_ = binary.Write(h, binary.BigEndian, uint16(p))
	}
	return h.Sum(nil)
}

// start runs a prepared session to its end and returns its result.
func (t *sessionTable) start(ctx context.Context, ref string) (*wire.SessionResult, error) {
	id, err := wire.ParseSessionID(ref)
	if err != nil {
		return nil, fmt.Errorf("session id: %v: %w", err, errBadRequest)
	}
	s := t.get(id)
	if s == nil {
		return nil, fmt.Errorf("session %s is not prepared here: %w", ref, errNotFound)
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return nil, fmt.Errorf("session %s was already started: %w", ref, errConflict)
	}
	s.started = true
	s.mu.Unlock()
	defer t.release(id)

	go t.e.pumpOutgoing(s)
	if err := s.run.Start(); err != nil {
		s.run.Abort(err)
	} else {
		go t.e.pumpInbox(s)
	}
	timer := time.NewTimer(t.e.cfg.RunTimeout)
	defer timer.Stop()
	var res protocol.Result
	select {
	case res = <-s.run.Done():
	case <-timer.C:
		res.Err = fmt.Errorf("session %s did not finish within %s: %w", ref, t.e.cfg.RunTimeout, errTimeout)
		s.run.Abort(res.Err)
	case <-ctx.Done():
		res.Err = fmt.Errorf("enclave shutting down: %w", errNotReady)
		s.run.Abort(res.Err)
	}
	close(s.done)
	if res.Err != nil {
		t.e.tellPeersAbort(s, res.Err)
		return nil, res.Err
	}
	return t.e.finish(s, res)
}

// finish persists what a successful run produced and describes it for the host.
func (e *Enclave) finish(s *session, res protocol.Result) (*wire.SessionResult, error) {
	switch {
	case res.Keygen != nil && s.args.Kind == wire.KindReshare:
		return e.finishReshare(s, res.Keygen)
	case res.Keygen != nil && s.args.Kind == wire.KindChainCode:
		info, err := e.keys.setChainCode(s.args.KeyID, res.Keygen.Share)
		clear(res.Keygen.Share)
		if err != nil {
			return nil, fmt.Errorf("saving the chain code: %w", err)
		}
		e.log.Info("chain code drawn", "key_id", info.ID, "chain_code_id", info.ChainCodeID)
		return &wire.SessionResult{Key: info}, nil
	case res.Keygen != nil:
		rec := &keyRecord{
			Info: wire.KeyInfo{
				ID: s.args.KeyID, Label: s.args.Label, PKCS11ID: s.args.PKCS11ID, Scheme: s.args.Scheme,
				PublicKey: hex.EncodeToString(res.Keygen.PublicKey),
				Threshold: s.args.Threshold, Parties: s.args.Parties,
				Created: time.Now().UTC().Format(time.RFC3339),
			},
			Share: res.Keygen.Share,
		}
		if err := e.keys.save(rec); err != nil {
			return nil, fmt.Errorf("saving the new share: %w", err)
		}
		e.log.Info("key generated", "key_id", rec.Info.ID, "label", rec.Info.Label)
		return &wire.SessionResult{Key: &rec.Info}, nil
	case res.Presignature != nil:
		if err := e.presigs.park(s.id, s.args, res.Presignature); err != nil {
			return nil, err
		}
		return &wire.SessionResult{Presigned: true}, nil
	case res.Signatures != nil:
		return batchResult(res.Signatures), nil
	case res.Signature != nil:
		sig, rid := wireSignature(res.Signature)
		return &wire.SessionResult{Signature: sig, RecoveryID: rid}, nil
	}
	return nil, errors.New("the run ended with no result")
}

// wireSignature is a signature as the host receives it: hex bytes, and for ECDSA the recovery id.
func wireSignature(s *protocol.Signature) (string, *int) {
	if !s.IsECDSA() {
		return hex.EncodeToString(s.Bytes()), nil
	}
	rid := int(s.RecoveryID)
	return hex.EncodeToString(s.Bytes()), &rid
}

// pumpOutgoing encrypts what the run emits and hands it to the host, until the session ends.
func (e *Enclave) pumpOutgoing(s *session) {
	for {
		select {
		case <-s.done:
			return
		case out := <-s.run.Outgoing():
			recipients := out.To
			if out.Broadcast {
				recipients = others(s.args.Parties, e.cfg.Identity.Party)
			}
			s.mu.Lock()
			s.round++
			round := s.round
			s.mu.Unlock()
			for _, to := range recipients {
				if err := e.sendEnvelope(s, wire.KindProtocol, round, to, out.Broadcast, out.Payload); err != nil {
					s.run.Abort(fmt.Errorf("sending to %s: %w", to, err))
					return
				}
			}
		}
	}
}

func (e *Enclave) sendEnvelope(s *session, kind wire.EnvelopeKind, round uint16, to protocol.PartyID, broadcast bool, payload []byte) error {
	env := &wire.Envelope{Kind: kind, Session: s.id, Round: round, From: e.cfg.Identity.Party, To: to, Broadcast: broadcast, Payload: payload}
	b, err := env.Encode()
	if err != nil {
		return err
	}
	return e.channels.Send(to, b)
}

// pumpInbox feeds received payloads to the run one at a time.
func (e *Enclave) pumpInbox(s *session) {
	for {
		select {
		case <-s.done:
			return
		case in := <-s.inbox:
			if err := s.run.Handle(in.from, in.broadcast, in.payload); err != nil {
				s.run.Abort(err)
				return
			}
		}
	}
}

// tellPeersAbort lets the other participants fail fast instead of waiting for their timeout.
func (e *Enclave) tellPeersAbort(s *session, cause error) {
	reason := []byte(cause.Error())
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	reason = bytes.ToValidUTF8(reason, nil)
	for _, to := range others(s.args.Parties, e.cfg.Identity.Party) {
		_ = e.sendEnvelope(s, wire.KindAbort, 0, to, false, reason)
	}
}

// deliver routes an authenticated plaintext from a peer to its session. Anything that does not
// fit a live session is refused with an error (the host hears of it as a notice); it never
// reaches another session.
func (t *sessionTable) deliver(from protocol.PartyID, plaintext []byte) error {
	env, err := wire.DecodeEnvelope(plaintext)
	if err != nil {
		return fmt.Errorf("envelope from %s: %w", from, err)
	}
	if env.From != from || env.To != t.e.cfg.Identity.Party {
		return fmt.Errorf("envelope on %s's channel claims to be from %s to %s", from, env.From, env.To)
	}
	s := t.get(env.Session)
	if s == nil {
		return fmt.Errorf("envelope from %s for unknown session %s", from, env.Session)
	}
	if !slices.Contains(s.args.Parties, from) {
		return fmt.Errorf("envelope from %s, who is not in session %s", from, env.Session)
	}
	switch env.Kind {
	case wire.KindAbort:
		s.run.Abort(fmt.Errorf("%s left the session (%s): %w", from, bytes.ToValidUTF8(env.Payload, nil), errAbandoned))
	case wire.KindProtocol:
		select {
		case s.inbox <- inbound{from: from, broadcast: env.Broadcast, payload: env.Payload}:
		default:
			s.run.Abort(fmt.Errorf("%s sent more than %d messages: %w", from, inboxSize, &protocol.Error{Task: s.args.Kind, Culprits: []protocol.PartyID{from}}))
		}
	default:
		return fmt.Errorf("envelope from %s of kind %s", from, env.Kind)
	}
	return nil
}

// abort ends a session on the host's request. A presign session that already ended here
// parked a presignature: the host abandons it (another signer failed), so it is discarded.
func (t *sessionTable) abort(ref string, cause error) {
	id, err := wire.ParseSessionID(ref)
	if err != nil {
		return
	}
	s := t.get(id)
	if s == nil {
		t.e.presigs.discard(id)
		return
	}
	s.run.Abort(cause)
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		t.release(id)
		t.e.returnPreParams(s.preParams)
	}
}

// expire drops sessions prepared but never started, and forgets old session ids.
func (t *sessionTable) expire(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t.mu.Lock()
			for id, s := range t.live {
				s.mu.Lock()
				stale := !s.started && now.Sub(s.created) > t.e.cfg.PrepareTimeout
				s.mu.Unlock()
				if stale {
					s.run.Abort(fmt.Errorf("session %s was prepared but never started: %w", id, errTimeout))
					delete(t.live, id)
					go t.e.returnPreParams(s.preParams)
				}
			}
			for id, at := range t.seen {
				if now.Sub(at) > seenSessionTTL {
					delete(t.seen, id)
				}
			}
			t.mu.Unlock()
		}
	}
}

func others(parties []protocol.PartyID, self protocol.PartyID) []protocol.PartyID {
	out := make([]protocol.PartyID, 0, len(parties))
	for _, p := range parties {
		if p != self {
			out = append(out, p)
		}
	}
	return out
}
