// Package enclave is one party of a threshold cluster: the code that runs inside an isolated
// enclave (a Nitro Enclave, an SEV-SNP VM, or a plain process on a laptop).
//
// It talks to nothing but its host, over one transport stream, and trusts nothing the host
// says beyond what it can check: protocol messages arrive end-to-end encrypted and
// authenticated from pinned peers, and every request is validated here. It holds its shares
// in a sealed store and runs the protocol engines.
//
// It must never import the host side, never write a share or a pre-parameter anywhere but its
// sealed store, and never send a share, a nonce or protocol plaintext to its host.
package enclave

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/enclave/slashing"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Conditions the enclave reports to its host; each maps to one wire error code.
var (
	errBadRequest = errors.New("bad request")
	errNotFound   = errors.New("not found")
	errConflict   = errors.New("conflict")
	errNotReady   = errors.New("not ready")
	errTimeout    = errors.New("timed out")
	errNoHost     = errors.New("no host connection")
	// errAbandoned: another participant or the host ended the session.
	errAbandoned = errors.New("session abandoned")
	// errRefused: an input failed verification (e.g. a peer's attestation).
	errRefused = errors.New("refused")
)

// Config holds what an Enclave needs. Everything but the timeouts, the pre-parameter settings
// and the logger is required.
type Config struct {
	Identity *Identity
	Roster   *Roster
	Store    store.Store
	Engines  []protocol.Engine
	// Attester makes this enclave's documents; Verifier checks its peers' against the policy.
	Attester attestation.Attester
	Verifier attestation.Verifier
	// ReattestEvery is how often the enclave makes a fresh document (default 2 minutes); keep
	// it well under the policy's maximum age.
	ReattestEvery time.Duration
	// PreParamsWant is how many pre-parameter sets to keep ready; 0 generates none (tests and
	// fixture-seeded devnets, where safe-prime searches would only slow everything down).
	PreParamsWant int
	// PreParamsFixtures seeds an empty pool (tests only: fixtures are public).
	PreParamsFixtures [][]byte
	// PrepareTimeout bounds how long a prepared session waits to be started (default 30 s).
	PrepareTimeout time.Duration
	// RunTimeout bounds one protocol run (default 120 s; the host sets tighter deadlines).
	RunTimeout time.Duration
	Logger     *slog.Logger
	// CrashAfterBlockRecord is a test hook: when non-zero, the process kills itself (SIGKILL)
	// right after durably recording a block at this slot, before the partial signature leaves,
	// so tests can show a crash between the check and the signature signs nothing twice.
	CrashAfterBlockRecord uint64
	// PresignMaxParked bounds the presignatures parked in memory (default 1024, about 42 KiB
	// each for ECDSA); a presign run beyond it is refused as not ready.
	PresignMaxParked int
	// PresignMaxAge is how long a parked presignature may wait for a request (default 1 hour);
	// older ones are discarded, and their durable binding records pruned.
	PresignMaxAge time.Duration
	// Approvals is who must approve lifecycle operations (refresh, committee change, backup
	// export and restore); nil or empty: nobody (development only, logged loudly).
	Approvals *approval.Policy
}

// Enclave is one running party.
type Enclave struct {
	cfg      Config
	log      *slog.Logger
	bootID   string
	engines  map[protocol.Scheme]protocol.Engine
	identity *attestedIdentity
	keys     *keyring
	pool     *preParamsPool
	channels *channelSet
	sessions *sessionTable
	presigs  *presigTable
	eth2     *eth2Signer

	ledger *storeLedger // approval nonces already used

	mu      sync.Mutex
	primary *transport.FrameConn
	conns   map[*transport.FrameConn]struct{}
}

// New checks cfg and builds an Enclave; Serve runs it.
func New(cfg Config) (*Enclave, error) {
	switch {
	case cfg.Identity == nil:
		return nil, errors.New("enclave: an identity is required")
	case cfg.Roster == nil:
		return nil, errors.New("enclave: a roster is required")
	case cfg.Store == nil:
		return nil, errors.New("enclave: a store is required")
	case len(cfg.Engines) == 0:
		return nil, errors.New("enclave: at least one engine is required")
	case cfg.Attester == nil || cfg.Verifier == nil:
		return nil, errors.New("enclave: an attester and a verifier are required")
	}
	if !cfg.Identity.Party.Valid(len(cfg.Roster.Parties)) {
		return nil, fmt.Errorf("enclave: %s is not in the roster of %d parties", cfg.Identity.Party, len(cfg.Roster.Parties))
	}
	if cfg.ReattestEvery == 0 {
		cfg.ReattestEvery = 2 * time.Minute
	}
	if cfg.PrepareTimeout == 0 {
		cfg.PrepareTimeout = 30 * time.Second
	}
	if cfg.RunTimeout == 0 {
		cfg.RunTimeout = 120 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Enclave{
		cfg:     cfg,
		log:     cfg.Logger.With("party", int(cfg.Identity.Party)),
		bootID:  randomHex(8),
		engines: map[protocol.Scheme]protocol.Engine{},
		keys:    &keyring{st: cfg.Store},
		ledger:  &storeLedger{st: cfg.Store},
		conns:   map[*transport.FrameConn]struct{}{},
	}
	for _, eng := range cfg.Engines {
		e.engines[eng.Scheme()] = eng
	}
	if cfg.Approvals == nil || !cfg.Approvals.Required() {
		e.log.Warn("operator approvals are NOT required: anyone who controls a host can refresh, reshare, export and restore keys; configure approvals.operators and approvals.quorum for real keys")
	} else {
		e.log.Info("operator approvals required for lifecycle operations", "policy", cfg.Approvals.String())
	}
	e.sessions = newSessionTable(e)
	db, err := slashing.Open(cfg.Store, prefixSlashing)
	if err != nil {
		return nil, fmt.Errorf("enclave: opening the slashing protection database: %w", err)
	}
	e.eth2 = newEth2Signer(e.keys, db)
	if e.presigs, err = newPresigTable(cfg.Store, cfg.PresignMaxParked, cfg.PresignMaxAge, e.log); err != nil {
		return nil, fmt.Errorf("enclave: %w", err)
	}
	e.keys.changed = append(e.keys.changed, e.presigs.dropKey)
	e.eth2.crashAtSlot = cfg.CrashAfterBlockRecord
	e.identity = &attestedIdentity{
		self: cfg.Identity.Party, static: cfg.Identity.Static.Public, roster: cfg.Roster,
		attester: cfg.Attester, verifier: cfg.Verifier, refresh: cfg.ReattestEvery, now: time.Now,
		peers: map[protocol.PartyID]learnedPeer{},
	}
	e.channels = newChannelSet(cfg.Identity.Party, cfg.Roster.ClusterID, cfg.Identity.Static, cfg.Roster.ids(), channelHooks{
		peerKey:     e.identity.key,
		ownDocument: func() ([]byte, error) { return e.identity.own(context.Background()) },
		checkPeer:   e.checkPeerHandshake,
		send:        e.sendRelay,
		deliver:     e.sessions.deliver,
	})
	if gen := e.preParamsEngine(); gen != nil {
		e.pool = &preParamsPool{st: cfg.Store, want: cfg.PreParamsWant, generate: gen.GeneratePreParams, log: e.log, wakeup: make(chan struct{}, 1)}
		if err := e.pool.seed(cfg.PreParamsFixtures); err != nil {
			return nil, fmt.Errorf("enclave: seeding pre-parameters: %w", err)
		}
	}
	return e, nil
}

func (e *Enclave) preParamsEngine() protocol.Engine {
	for _, eng := range e.cfg.Engines {
		if eng.NeedsPreParams() {
			return eng
		}
	}
	return nil
}

// Serve accepts host connections on l until ctx ends. The pre-parameter pool fills in the
// background meanwhile.
func (e *Enclave) Serve(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.pool != nil && e.pool.want > 0 {
		go e.pool.fill(ctx)
	}
	go e.sessions.expire(ctx)
	go e.presigs.expire(ctx)
	go func() {
		<-ctx.Done()
		l.Close()
		e.closeConns()
	}()
	e.log.Info("enclave serving", "addr", l.Addr().String(), "boot_id", e.bootID, "noise_public_key", e.cfg.Identity.PublicKeyHex())
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			e.log.Warn("accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		fc := transport.NewFrameConn(c)
		e.mu.Lock()
		e.conns[fc] = struct{}{}
		e.mu.Unlock()
		go e.serveConn(ctx, fc)
	}
}

func (e *Enclave) closeConns() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.conns {
		c.Close()
	}
}

// serveConn reads frames from one host connection. A frame that does not decode ends the
// connection (the stream can no longer be trusted to be in sync); nothing else is disturbed.
func (e *Enclave) serveConn(ctx context.Context, fc *transport.FrameConn) {
	defer func() {
		fc.Close()
		e.mu.Lock()
		delete(e.conns, fc)
		if e.primary == fc {
			e.primary = nil
		}
		e.mu.Unlock()
	}()
	for {
		f, err := fc.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				e.log.Warn("host connection: refusing unreadable input and closing", "remote", fc.RemoteAddr(), "err", err)
			}
			return
		}
		switch f.Type {
		case wire.FrameRequest:
			req, err := wire.DecodeRequest(f.Body)
			if err != nil {
				e.notice(fc, fmt.Errorf("request does not decode: %w", err))
				continue
			}
			go e.handleRequest(ctx, fc, req)
		case wire.FrameRelay:
			if err := e.handleRelay(f.Body); err != nil {
				e.notice(fc, err)
			}
		default:
			e.notice(fc, fmt.Errorf("frame type %s is not accepted from a host", f.Type))
		}
	}
}

// notice tells the host that an input was refused. Notices use request id 0.
func (e *Enclave) notice(fc *transport.FrameConn, err error) {
	e.log.Warn("refused input from host", "err", err)
	resp := &wire.Response{ID: 0, Err: &wire.RemoteError{Code: wire.CodeRejected, Message: err.Error()}}
	_ = fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()})
}

func (e *Enclave) handleRelay(body []byte) error {
	r, err := wire.DecodeRelay(body)
	if err != nil {
		return fmt.Errorf("relay does not decode: %w", err)
	}
	if r.To != e.cfg.Identity.Party {
		return fmt.Errorf("relay addressed to %s reached %s", r.To, e.cfg.Identity.Party)
	}
	return e.channels.Receive(r.From, r.Data)
}

// sendRelay hands channel data for a peer to the primary host connection.
func (e *Enclave) sendRelay(to protocol.PartyID, data []byte) error {
	e.mu.Lock()
	fc := e.primary
	e.mu.Unlock()
	if fc == nil {
		return errNoHost
	}
	r := &wire.Relay{From: e.cfg.Identity.Party, To: to, Data: data}
	return fc.Write(wire.Frame{Type: wire.FrameRelay, Body: r.Encode()})
}

func (e *Enclave) handleRequest(ctx context.Context, fc *transport.FrameConn, req *wire.Request) {
	body, err := e.dispatch(ctx, fc, req)
	resp := &wire.Response{ID: req.ID, Body: body}
	if err != nil {
		resp.Body = nil
		resp.Err = toRemoteError(err)
		e.log.Info("request failed", "method", req.Method, "err", err)
	}
	if werr := fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()}); werr != nil {
		e.log.Warn("writing a response", "method", req.Method, "err", werr)
	}
}

func (e *Enclave) dispatch(ctx context.Context, fc *transport.FrameConn, req *wire.Request) ([]byte, error) {
	switch req.Method {
	case wire.MethodHello:
		e.mu.Lock()
		e.primary = fc
		e.mu.Unlock()
		return wire.EncodeJSON(e.status()), nil
	case wire.MethodStatus:
		return wire.EncodeJSON(e.status()), nil
	case wire.MethodKeysList:
		keys, err := e.keys.list()
		if err != nil {
			return nil, err
		}
		for i := range keys {
			e.eth2.markDisabled(&keys[i])
		}
		return wire.EncodeJSON(wire.KeysReply{Keys: keys}), nil
	case wire.MethodKeyGet:
		var ref wire.KeyRef
		if err := decodeArgs(req.Body, &ref); err != nil {
			return nil, err
		}
		rec, err := e.keys.resolve(ref.Key)
		if err != nil {
			return nil, err
		}
		info := rec.describe()
		e.eth2.markDisabled(&info)
		return wire.EncodeJSON(info), nil
	case wire.MethodKeyDelete:
		var ref wire.KeyRef
		if err := decodeArgs(req.Body, &ref); err != nil {
			return nil, err
		}
		deleted, err := e.keys.delete(ref.Key)
		if err != nil {
			return nil, err
		}
		e.log.Info("key deletion", "key_id", ref.Key, "held_a_share", deleted)
		return wire.EncodeJSON(wire.KeyDeleteReply{Deleted: deleted}), nil
	case wire.MethodKeyDerive:
		var args wire.DeriveArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		reply, err := e.deriveKey(&args)
		if err != nil {
			return nil, err
		}
		return wire.EncodeJSON(reply), nil
	case wire.MethodBackupExport:
		var args wire.BackupExportArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		reply, err := e.exportBackup(&args)
		if err != nil {
			return nil, err
		}
		return wire.EncodeJSON(reply), nil
	case wire.MethodBackupRestore:
		var args wire.BackupRestoreArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		info, err := e.restoreBackup(&args)
		if err != nil {
			return nil, err
		}
		return wire.EncodeJSON(info), nil
	case wire.MethodKeyRetire:
		var args wire.KeyRetireArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		deleted, err := e.keys.retire(args.Key, args.Epoch)
		if err != nil {
			return nil, err
		}
		e.log.Info("key retirement", "key_id", args.Key, "epoch", args.Epoch, "held_a_share", deleted)
		return wire.EncodeJSON(wire.KeyDeleteReply{Deleted: deleted}), nil
	case wire.MethodPrepare:
		var args wire.PrepareArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return nil, e.sessions.prepare(&args)
	case wire.MethodStart:
		var ref wire.SessionRef
		if err := decodeArgs(req.Body, &ref); err != nil {
			return nil, err
		}
		res, err := e.sessions.start(ctx, ref.Session)
		if err != nil {
			return nil, err
		}
		return wire.EncodeJSON(res), nil
	case wire.MethodAbort:
		var ref wire.SessionRef
		if err := decodeArgs(req.Body, &ref); err != nil {
			return nil, err
		}
		e.sessions.abort(ref.Session, fmt.Errorf("the host ended the session (%s): %w", ref.Reason, errAbandoned))
		return nil, nil
	case wire.MethodIdentity:
		if len(req.Body) != 0 {
			return nil, fmt.Errorf("identity takes no arguments: an enclave attests only to its own key and binding: %w", errBadRequest)
		}
		doc, err := e.identity.own(ctx)
		if err != nil {
			return nil, err
		}
		return wire.EncodeJSON(wire.IdentityReply{Party: e.cfg.Identity.Party, Kind: e.cfg.Attester.Kind(), Document: doc}), nil
	case wire.MethodPeerLearn:
		var pd wire.PeerDocument
		if err := decodeArgs(req.Body, &pd); err != nil {
			return nil, err
		}
		return nil, e.learnPeer(pd)
	case wire.MethodEth2Sign:
		var args wire.Eth2SignArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return encodeReply(e.eth2.sign(&args))
	case wire.MethodEth2SignBatch:
		var args wire.Eth2SignBatch
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return encodeReply(e.eth2.signBatch(&args))
	case wire.MethodEth2Import:
		var args wire.Eth2Interchange
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return nil, e.eth2.importInterchange(&args)
	case wire.MethodEth2Export:
		var args wire.Eth2Pubkeys
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return encodeReply(e.eth2.export(&args))
	case wire.MethodEth2Disable:
		var args wire.Eth2Pubkeys
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return encodeReply(e.eth2.disable(&args))
	case wire.MethodEth2Enable:
		var args wire.Eth2Pubkeys
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return nil, e.eth2.enable(&args)
	case wire.MethodEth2Watermark:
		if len(req.Body) > 0 {
			var args wire.Eth2SetWatermark
			if err := decodeArgs(req.Body, &args); err != nil {
				return nil, err
			}
			if err := e.eth2.setWatermark(&args); err != nil {
				return nil, err
			}
		}
		return wire.EncodeJSON(e.eth2.watermark()), nil
	case wire.MethodRandom:
		var args wire.RandomArgs
		if err := decodeArgs(req.Body, &args); err != nil {
			return nil, err
		}
		return encodeReply(random(&args))
	case wire.MethodPeerReset:
		var ref wire.PeerRef
		if err := decodeArgs(req.Body, &ref); err != nil {
			return nil, err
		}
		e.channels.reset(ref.Party, nil)
		return nil, nil
	}
	return nil, fmt.Errorf("unknown method %q: %w", req.Method, errBadRequest)
}

// learnPeer verifies a peer's identity document and, if it holds, uses the key it attests.
func (e *Enclave) learnPeer(pd wire.PeerDocument) error {
	if pd.Party == e.cfg.Identity.Party || !slices.Contains(e.cfg.Roster.Parties, pd.Party) {
		return fmt.Errorf("%s is not a peer in this cluster: %w", pd.Party, errBadRequest)
	}
	d, err := e.identity.check(pd.Party, pd.Document, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", err, errRefused)
	}
	if e.identity.learn(pd.Party, d) {
		e.log.Info("peer has a new attested key; renegotiating", "peer", int(pd.Party))
		e.channels.reset(pd.Party, nil)
	}
	e.channels.keyLearned(pd.Party)
	return nil
}

// checkPeerHandshake verifies the document a peer sent in a handshake, and learns its key.
func (e *Enclave) checkPeerHandshake(p protocol.PartyID, document, static []byte) error {
	d, err := e.identity.check(p, document, static)
	if err != nil {
		return err
	}
	e.identity.learn(p, d)
	// The handshake taught us p's key: a channel to p that was waiting for it can start. It
	// must not block this handshake, which holds nothing of that channel.
	go e.channels.keyLearned(p)
	return nil
}

func decodeArgs(body []byte, v any) error {
	if err := wire.DecodeJSON(body, v); err != nil {
		return fmt.Errorf("%v: %w", err, errBadRequest)
	}
	return nil
}

func (e *Enclave) status() wire.StatusReply {
	s := wire.StatusReply{
		Party:          e.cfg.Identity.Party,
		NoisePublicKey: e.cfg.Identity.PublicKeyHex(),
		BootID:         e.bootID,
		Sessions:       e.sessions.count(),
		Presignatures:  e.presigs.count(),
	}
	if e.pool != nil {
		s.PreParamsReady, s.PreParamsWant = e.pool.ready(), e.pool.want
	}
	if names, err := e.cfg.Store.List(prefixKey); err == nil {
		s.Keys = len(names)
	}
	return s
}

// toRemoteError is the one place enclave errors become wire error codes.
func toRemoteError(err error) *wire.RemoteError {
	re := &wire.RemoteError{Code: wire.CodeInternal, Message: trimSentinels(err.Error())}
	var pe *protocol.Error
	switch {
	case errors.Is(err, errTimeout):
		re.Code = wire.CodeTimeout
	case errors.Is(err, errAbandoned), errors.Is(err, errNoHost), errors.Is(err, errUnknownPeer), errors.Is(err, errNoPeerKey):
		re.Code = wire.CodeUnavailable
	case errors.As(err, &pe):
		re.Code, re.Culprits = wire.CodeProtocol, pe.Culprits
	case errors.Is(err, errBadRequest):
		re.Code = wire.CodeBadRequest
	case errors.Is(err, errRefused):
		re.Code = wire.CodeRejected
	case errors.Is(err, errPolicy):
		re.Code = wire.CodePolicy
	case errors.Is(err, errNotFound):
		re.Code = wire.CodeNotFound
	case errors.Is(err, errStaleKey):
		re.Code = wire.CodeStaleKey
	case errors.Is(err, errConflict):
		re.Code = wire.CodeConflict
	case errors.Is(err, errNotReady):
		re.Code = wire.CodeNotReady
	}
	if len(re.Message) > 4000 {
		re.Message = strings.ToValidUTF8(re.Message[:4000], "")
	}
	return re
}

// trimSentinels drops the trailing ": not found"-style sentinel text that %w leaves, since the
// code already says it.
func trimSentinels(msg string) string {
	for _, s := range []error{errBadRequest, errNotFound, errConflict, errNotReady, errTimeout, errAbandoned} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	return msg
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// encodeReply encodes a handler's reply, or passes its error on.
func encodeReply[T any](v *T, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return wire.EncodeJSON(v), nil
}
