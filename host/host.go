// Package host is the untrusted side of a party: it proxies its enclave, relays protocol
// ciphertext between enclaves over TCP, coordinates signing sessions, and serves the native
// API and metrics. It also keeps its enclave's sealed store on disk and hands it the
// instance's AWS credentials (enclave services, enclavesvc.go): services it can withhold but
// not read or forge.
//
// A host can deny service but must never be able to forge: it sees no share and no protocol
// plaintext (enclaves encrypt end to end), and it never imports the enclave package. It must
// never log tokens or relay contents.
package host

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/eth2"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
	"github.com/mpcsigner/mpcsigner/web3signer"
	"github.com/mpcsigner/mpcsigner/web3signer/eth1"
)

// methodPeerHello opens a peer link: the dialing host names its party and proves it holds the
// cluster's peer token. It is answered by the host itself, never forwarded.
const methodPeerHello = "peer.hello"

type peerHello struct {
	Party protocol.PartyID `json:"party"`
	Token string           `json:"token"`
}

// Options are what a Host needs besides its Config.
type Options struct {
	Logger *slog.Logger
	// Mem is the in-memory transport, when the enclave address is mem:// (tests).
	Mem *transport.Mem
	// Verifier checks the parties' attestation documents for /healthcheck. The enclaves check
	// each other themselves; the host's view is for operators.
	Verifier attestation.Verifier
	// Observe, when set, sees every relay and every request and response body the host
	// forwards (tests use it to show that nothing secret passes through).
	Observe func(kind string, data []byte)
	// Web3SignerListener serves the Web3Signer API when set (Run opens it from the config).
	Web3SignerListener net.Listener
	// Eth1Listener serves the execution-layer front door when set (Run opens it from the config).
	Eth1Listener net.Listener
	// EnclaveServicesListener serves the enclave services when set (Run opens it from the
	// config's enclave_services.listen).
	EnclaveServicesListener net.Listener
}

// Host is one running host.
type Host struct {
	cfg       *Config
	log       *slog.Logger
	opts      Options
	apiToken  string
	peerToken string
	metrics   *metrics

	web3signer *web3signer.Server // nil unless configured
	eth2       *eth2Backend       // behind web3signer; nil unless configured
	eth1       *eth1.Server       // nil unless configured
	chains     *chains.Registry   // the chains the native API signs for

	local *link                      // to our enclave
	peers map[protocol.PartyID]*link // to peer hosts (and through them, their enclaves)

	keyLocks keyLocks // signings against reshares, per key
	presign  *presignPools
	batch    *batcher
	keyCache keyCache // recent look-ups for signings

	mu     sync.Mutex
	health map[protocol.PartyID]*partyState
}

type partyState struct {
	lastSeen       time.Time
	bootID         string
	ready          int  // pre-parameter sets ready
	needsPreParams bool // the enclave keeps a pre-parameter pool
	err            error

	// The party's attested identity, as last fetched and checked.
	identity   []byte
	fetched    time.Time
	attested   *attestation.Document
	attestErr  error
	learnedBy  string // our enclave's boot id when it last learned this identity
	learnedErr error
}

// identityRefresh is how often a party's identity is fetched again: well within the sim and
// Nitro documents' lifetimes, so peers always hold a fresh one.
const identityRefresh = 30 * time.Second

// New builds a Host from cfg, reading its token files.
func New(cfg *Config, opts Options) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	apiToken, err := api.ReadToken(cfg.API.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	peerToken, err := api.ReadToken(cfg.Peer.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("peer token: %w", err)
	}
	h := &Host{
		cfg: cfg, log: opts.Logger.With("party", int(cfg.Party)), opts: opts,
		apiToken: apiToken, peerToken: peerToken,
		metrics: newMetrics(),
		chains:  chainRegistry(),
		peers:   map[protocol.PartyID]*link{},
		health:  map[protocol.PartyID]*partyState{},
	}
	if err := h.buildLinks(); err != nil {
		return nil, err
	}
	h.presign = newPresignPools(h, cfg.Presign)
	h.batch = newBatcher(cfg.Batch, h.runBatch)
	if err := h.buildWeb3Signer(); err != nil {
		return nil, err
	}
	if err := h.buildEth1(); err != nil {
		return nil, err
	}
	return h, nil
}

// buildEth1 makes the execution-layer front door when it is configured.
func (h *Host) buildEth1() error {
	c := h.cfg.Eth1
	if c.Listen == "" && h.opts.Eth1Listener == nil {
		return nil
	}
	srv, err := eth1.New(newEth1Backend(h), eth1.Config{
		ChainID: new(big.Int).SetUint64(c.ChainID), Downstream: c.Downstream, Log: h.log.With("api", "eth1"),
	})
	if err != nil {
		return fmt.Errorf("eth1: %w", err)
	}
	h.eth1 = srv
	return nil
}

// buildWeb3Signer makes the Web3Signer API when it is configured.
func (h *Host) buildWeb3Signer() error {
	w := h.cfg.Web3Signer
	if w.Listen == "" && h.opts.Web3SignerListener == nil {
		return nil
	}
	network, err := eth2.LookupNetwork(w.Network)
	if err != nil {
		return fmt.Errorf("web3signer.network: %w", err)
	}
	cfg := web3signer.Config{Network: network, Log: h.log.With("api", "web3signer"), Observe: h.eth2Observe}
	backend := newEth2Backend(h)
	h.eth2 = backend
	if w.KeymanagerTokenFile != "" {
		tok, err := api.ReadToken(w.KeymanagerTokenFile)
		if err != nil {
			return fmt.Errorf("web3signer keymanager token: %w", err)
		}
		cfg.Keymanager, cfg.KeymanagerToken = &keymanager{b: backend}, tok
	}
	h.web3signer, err = web3signer.New(backend, cfg)
	return err
}

func (h *Host) buildLinks() error {
	addr, err := transport.ParseAddr(h.cfg.Enclave)
	if err != nil {
		return err
	}
	tr, err := transport.For(addr, h.opts.Mem)
	if err != nil {
		return err
	}
	h.local = newLink("enclave", h.log, func(ctx context.Context) (net.Conn, error) { return tr.Dial(ctx, addr) })
	h.local.onConnect = func(ctx context.Context, l *link) error {
		_, err := h.callLink(ctx, l, wire.MethodHello, nil)
		return err
	}
	h.local.onRelay = h.relayFromEnclave
	h.local.onNotice = func(e *wire.RemoteError) {
		h.metrics.notices.Inc()
		h.log.Warn("enclave refused an input", "code", e.Code, "message", e.Message)
	}
	for _, p := range h.cfg.Parties {
		if p.ID == h.cfg.Party {
			continue
		}
		peerAddr := p.Peer
		var d net.Dialer
		l := newLink(fmt.Sprintf("peer %d", p.ID), h.log, func(ctx context.Context) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", peerAddr)
		})
		l.onConnect = func(ctx context.Context, l *link) error {
			_, err := h.callLink(ctx, l, methodPeerHello, wire.EncodeJSON(peerHello{Party: h.cfg.Party, Token: h.peerToken}))
			return err
		}
		h.peers[p.ID] = l
	}
	return nil
}

// Run serves until ctx ends: links, the peer listener, the health monitor, the API and metrics.
func (h *Host) Run(ctx context.Context) error {
	peerL, err := net.Listen("tcp", h.cfg.Peer.Listen)
	if err != nil {
		return fmt.Errorf("peer listener: %w", err)
	}
	apiL, err := net.Listen("tcp", h.cfg.API.Listen)
	if err != nil {
		peerL.Close()
		return fmt.Errorf("api listener: %w", err)
	}
	metricsL, err := net.Listen("tcp", h.cfg.Metrics.Listen)
	if err != nil {
		peerL.Close()
		apiL.Close()
		return fmt.Errorf("metrics listener: %w", err)
	}
	if h.cfg.Eth1.Listen != "" {
		l, err := net.Listen("tcp", h.cfg.Eth1.Listen)
		if err != nil {
			peerL.Close()
			apiL.Close()
			metricsL.Close()
			return fmt.Errorf("eth1 listener: %w", err)
		}
		h.opts.Eth1Listener = l
	}
	if h.cfg.Web3Signer.Listen != "" {
		w3sL, err := net.Listen("tcp", h.cfg.Web3Signer.Listen)
		if err != nil {
			peerL.Close()
			apiL.Close()
			metricsL.Close()
			return fmt.Errorf("web3signer listener: %w", err)
		}
		h.opts.Web3SignerListener = w3sL
	}
	if h.opts.EnclaveServicesListener == nil {
		l, err := h.listenEnclaveServices()
		if err != nil {
			peerL.Close()
			apiL.Close()
			metricsL.Close()
			return err
		}
		h.opts.EnclaveServicesListener = l
	}
	return h.Serve(ctx, peerL, apiL, metricsL)
}

// Serve is Run on listeners the caller opened (tests pass port-0 listeners).
func (h *Host) Serve(ctx context.Context, peerL, apiL, metricsL net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	spawn(func() { h.local.run(ctx) })
	for _, l := range h.peers {
		spawn(func() { l.run(ctx) })
	}
	spawn(func() { h.servePeers(ctx, peerL) })
	spawn(func() { h.monitor(ctx) })
	spawn(func() { h.refreshLoop(ctx) })
	spawn(func() { h.presign.run(ctx) })
	apiSrv := h.apiServer()
	metricsSrv := h.metricsServer()
	errc := make(chan error, 5) // one per server spawned below, so none blocks after Serve stops reading
	spawn(func() { errc <- serveHTTP(apiSrv, apiL, h.cfg.API.TLS) })
	spawn(func() { errc <- serveHTTP(metricsSrv, metricsL, TLSConfig{}) })
	eth1Srv := &http.Server{Handler: h.eth1, ReadHeaderTimeout: 10 * time.Second}
	if l := h.opts.Eth1Listener; l != nil && h.eth1 != nil {
		spawn(func() { errc <- serveHTTP(eth1Srv, l, h.cfg.Eth1.TLS) })
		h.log.Info("eth1 API serving", "addr", l.Addr().String(), "chain_id", h.cfg.Eth1.ChainID)
	}
	if l := h.opts.EnclaveServicesListener; l != nil {
		spawn(func() { errc <- h.serveEnclaveServices(ctx, l) })
	}
	w3sSrv := &http.Server{Handler: h.web3signer, ReadHeaderTimeout: 10 * time.Second}
	if w3sL := h.opts.Web3SignerListener; w3sL != nil && h.web3signer != nil {
		spawn(func() { errc <- serveHTTP(w3sSrv, w3sL, h.cfg.Web3Signer.TLS) })
		h.log.Info("web3signer API serving", "addr", w3sL.Addr().String(), "network", h.cfg.Web3Signer.Network)
	}
	h.log.Info("host serving", "api", apiL.Addr().String(), "peer", peerL.Addr().String(), "metrics", metricsL.Addr().String(), "enclave", h.cfg.Enclave)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = apiSrv.Shutdown(shutdownCtx)
	_ = metricsSrv.Shutdown(shutdownCtx)
	_ = w3sSrv.Shutdown(shutdownCtx)
	_ = eth1Srv.Shutdown(shutdownCtx)
	peerL.Close()
	wg.Wait()
	return err
}

// callLink sends a request on a link and turns a remote error into a Go error.
func (h *Host) callLink(ctx context.Context, l *link, method string, body []byte) ([]byte, error) {
	h.observe("request:"+method, body)
	resp, err := l.call(ctx, method, body)
	if err != nil {
		return nil, err
	}
	if resp.Err != nil {
		return nil, resp.Err
	}
	h.observe("response:"+method, resp.Body)
	return resp.Body, nil
}

// linkTo returns the link that reaches party p's enclave.
func (h *Host) linkTo(p protocol.PartyID) *link {
	if p == h.cfg.Party {
		return h.local
	}
	return h.peers[p]
}

// callParty calls a method on party p's enclave, through its host if p is not us.
func (h *Host) callParty(ctx context.Context, p protocol.PartyID, method string, args any) ([]byte, error) {
	l := h.linkTo(p)
	if l == nil {
		return nil, fmt.Errorf("%s is not in this cluster: %w", p, ErrBadRequest)
	}
	var body []byte
	if args != nil {
		body = wire.EncodeJSON(args)
	}
	out, err := h.callLink(ctx, l, method, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return out, nil
}

func (h *Host) observe(kind string, data []byte) {
	if h.opts.Observe != nil {
		h.opts.Observe(kind, data)
	}
}

// relayFromEnclave forwards channel data our enclave emitted to the recipient's host.
func (h *Host) relayFromEnclave(r *wire.Relay) {
	if r.From != h.cfg.Party {
		h.log.Warn("enclave emitted a relay with a foreign sender; dropped", "from", int(r.From))
		return
	}
	l := h.peers[r.To]
	if l == nil {
		h.log.Warn("enclave emitted a relay for an unknown party; dropped", "to", int(r.To))
		return
	}
	h.observe("relay", r.Data)
	h.relay(l, "out", wire.Frame{Type: wire.FrameRelay, Body: r.Encode()})
}

// relay sends a relay frame on l, waiting a little for l if it is reconnecting (sendLater),
// and counts the outcome: ok, late (sent after waiting) or dropped.
func (h *Host) relay(l *link, direction string, f wire.Frame) {
	if err := l.send(f); err == nil {
		h.metrics.relayed.WithLabelValues(direction, "ok").Inc()
		return
	}
	waiting := l.sendLater(f, relayWait, func(err error) {
		if err != nil {
			h.metrics.relayed.WithLabelValues(direction, "dropped").Inc()
			h.log.Debug("relay dropped: the link stayed down", "link", l.name, "err", err)
			return
		}
		h.metrics.relayed.WithLabelValues(direction, "late").Inc()
	})
	if !waiting {
		h.metrics.relayed.WithLabelValues(direction, "dropped").Inc()
	}
}

// servePeers accepts peer host connections: relays for our enclave and requests for it.
func (h *Host) servePeers(ctx context.Context, ln net.Listener) {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go h.servePeer(ctx, c)
	}
}

// peerHelloTimeout bounds how long a connection may sit on the peer port without proving it is
// a peer, so strangers cannot hold connections open.
const peerHelloTimeout = 10 * time.Second

// servePeer serves one peer connection. It must open with a valid peer.hello; a frame that
// does not decode closes it, and nothing else is disturbed.
func (h *Host) servePeer(ctx context.Context, c net.Conn) {
	fc := transport.NewFrameConn(c)
	defer fc.Close()
	stop := context.AfterFunc(ctx, func() { fc.Close() })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(peerHelloTimeout))
	from, err := h.acceptPeerHello(fc)
	if err != nil {
		h.log.Warn("refused a peer connection", "remote", fc.RemoteAddr(), "err", err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	for {
		f, err := fc.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				h.log.Warn("peer connection: refusing unreadable input and closing", "peer", int(from), "err", err)
			}
			return
		}
		switch f.Type {
		case wire.FrameRelay:
			h.relayToEnclave(from, f.Body)
		case wire.FrameRequest:
			req, err := wire.DecodeRequest(f.Body)
			if err != nil {
				h.log.Warn("peer sent a request that does not decode; closing", "peer", int(from), "err", err)
				return
			}
			go h.forwardRequest(ctx, fc, req)
		default:
			h.log.Warn("peer sent an unexpected frame; closing", "peer", int(from), "type", f.Type.String())
			return
		}
	}
}

func (h *Host) acceptPeerHello(fc *transport.FrameConn) (protocol.PartyID, error) {
	f, err := fc.Read()
	if err != nil {
		return 0, err
	}
	if f.Type != wire.FrameRequest {
		return 0, fmt.Errorf("first frame is %s, not a peer.hello request", f.Type)
	}
	req, err := wire.DecodeRequest(f.Body)
	if err != nil {
		return 0, err
	}
	var hello peerHello
	if req.Method != methodPeerHello || wire.DecodeJSON(req.Body, &hello) != nil {
		return 0, errors.New("first request is not a well-formed peer.hello")
	}
	resp := &wire.Response{ID: req.ID}
	ok := subtle.ConstantTimeCompare([]byte(hello.Token), []byte(h.peerToken)) == 1
	if !ok || hello.Party == h.cfg.Party || h.peers[hello.Party] == nil {
		resp.Err = &wire.RemoteError{Code: wire.CodeRejected, Message: "peer token or party not accepted"}
		_ = fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()})
		return 0, fmt.Errorf("peer.hello for party %d not accepted", hello.Party)
	}
	return hello.Party, fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()})
}

// relayToEnclave hands a peer's relay to our enclave. The enclave checks the cryptography; the
// host only refuses relays that claim another sender than the peer that sent them.
func (h *Host) relayToEnclave(from protocol.PartyID, body []byte) {
	r, err := wire.DecodeRelay(body)
	if err != nil || r.From != from || r.To != h.cfg.Party {
		h.metrics.relayed.WithLabelValues("in", "refused").Inc()
		h.log.Warn("refused a relay from a peer", "peer", int(from), "err", err)
		return
	}
	h.observe("relay", r.Data)
	h.relay(h.local, "in", wire.Frame{Type: wire.FrameRelay, Body: body})
}

// forwardRequest calls our enclave on a peer host's behalf and returns the answer.
func (h *Host) forwardRequest(ctx context.Context, fc *transport.FrameConn, req *wire.Request) {
	resp := &wire.Response{ID: req.ID}
	if req.Method == wire.MethodHello {
		// Only this host decides which connection is its enclave's primary.
		resp.Err = &wire.RemoteError{Code: wire.CodeRejected, Message: "hello is not forwarded"}
	} else {
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen+h.cfg.Timeouts.Call)
		r, err := h.local.call(cctx, req.Method, req.Body)
		cancel()
		switch {
		case err != nil:
			resp.Err = &wire.RemoteError{Code: wire.CodeUnavailable, Message: fmt.Sprintf("party %d's enclave: %v", h.cfg.Party, err)}
		default:
			resp.Err, resp.Body = r.Err, r.Body
		}
	}
	_ = fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()})
}

// monitor polls every party's enclave status once a second. It feeds reachability (so a lost
// quorum fails fast) and notices restarted enclaves, whose channels must be renegotiated.
func (h *Host) monitor(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var wg sync.WaitGroup
		for _, p := range h.cfg.Parties {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.probe(ctx, p.ID)
			}()
		}
		wg.Wait()
		h.metrics.reachable.Set(float64(h.reachableCount()))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *Host) probe(ctx context.Context, p protocol.PartyID) {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	body, err := h.callParty(cctx, p, wire.MethodStatus, nil)
	var st wire.StatusReply
	if err == nil {
		err = wire.DecodeJSON(body, &st)
	}
	h.mu.Lock()
	ps := h.health[p]
	if ps == nil {
		ps = &partyState{}
		h.health[p] = ps
	}
	restarted := false
	if err == nil {
		restarted = ps.bootID != "" && ps.bootID != st.BootID
		ps.lastSeen, ps.bootID, ps.ready, ps.err = time.Now(), st.BootID, st.PreParamsReady, nil
		ps.needsPreParams = st.PreParamsWant > 0 || st.PreParamsReady > 0
	} else {
		ps.err = err
	}
	h.mu.Unlock()
	if err != nil {
		return
	}
	if restarted {
		h.presign.forgetParty(p)
	}
	if restarted && p != h.cfg.Party {
		h.log.Info("peer enclave restarted; renegotiating its channel", "peer", int(p))
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, _ = h.callParty(rctx, h.cfg.Party, wire.MethodPeerReset, wire.PeerRef{Party: p})
	}
	h.refreshIdentity(ctx, p, restarted)
}

// refreshIdentity fetches party p's attested identity when it is due, checks it for health
// reporting, and hands a peer's to our enclave, which verifies it before using the key.
func (h *Host) refreshIdentity(ctx context.Context, p protocol.PartyID, restarted bool) {
	h.mu.Lock()
	ps, self := h.health[p], h.health[h.cfg.Party]
	due := restarted || ps.identity == nil || time.Since(ps.fetched) > identityRefresh
	ourBoot := ""
	if self != nil {
		ourBoot = self.bootID
	}
	relearn := p != h.cfg.Party && ourBoot != "" && ps.learnedBy != ourBoot
	doc := ps.identity
	h.mu.Unlock()
	if !due && !relearn {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	var attested *attestation.Document
	var attestErr error
	if due {
		body, err := h.callParty(cctx, p, wire.MethodIdentity, nil)
		var id wire.IdentityReply
		if err == nil {
			err = wire.DecodeJSON(body, &id)
		}
		if err != nil {
			h.mu.Lock()
			ps.attestErr = fmt.Errorf("fetching identity: %w", err)
			h.mu.Unlock()
			return
		}
		doc = id.Document
		attested, attestErr = h.verifyIdentity(doc)
	}
	var learnErr error
	if p != h.cfg.Party {
		_, learnErr = h.callParty(cctx, h.cfg.Party, wire.MethodPeerLearn, wire.PeerDocument{Party: p, Document: doc})
		if learnErr != nil {
			h.log.Warn("our enclave refused a peer's identity", "peer", int(p), "err", learnErr)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if due {
		ps.identity, ps.fetched, ps.attested, ps.attestErr = doc, time.Now(), attested, attestErr
	}
	if p != h.cfg.Party {
		ps.learnedErr = learnErr
		if learnErr == nil {
			ps.learnedBy = ourBoot
		}
	}
}

func (h *Host) verifyIdentity(doc []byte) (*attestation.Document, error) {
	if h.opts.Verifier == nil {
		return nil, errors.New("this host has no attestation verifier configured")
	}
	return h.opts.Verifier.Verify(doc, time.Now())
}

// reachable reports whether party p answered recently.
func (h *Host) reachable(p protocol.PartyID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.health[p]
	return ps != nil && ps.err == nil && time.Since(ps.lastSeen) < h.cfg.Timeouts.Reachable
}

func (h *Host) reachableCount() int {
	n := 0
	for _, p := range h.cfg.Parties {
		if h.reachable(p.ID) {
			n++
		}
	}
	return n
}

// Health describes what this host can reach.
func (h *Host) Health() api.Health {
	out := api.Health{Party: uint16(h.cfg.Party), Threshold: h.cfg.Threshold}
	for _, p := range h.cfg.Parties {
		ph := api.PartyHealth{Party: uint16(p.ID), Reachable: h.reachable(p.ID)}
		h.mu.Lock()
		if ps := h.health[p.ID]; ps != nil {
			ph.BootID, ph.PreParamsReady = ps.bootID, ps.ready
			if !ps.lastSeen.IsZero() {
				ph.LastSeen = ps.lastSeen.UTC().Format(time.RFC3339Nano)
			}
			if ps.err != nil {
				ph.Error = shortError(ps.err)
			}
		}
		h.mu.Unlock()
		if ph.Reachable {
			out.Reachable++
		}
		out.Parties = append(out.Parties, ph)
	}
	out.Status = "ok"
	if out.Reachable < h.cfg.Threshold {
		out.Status = "degraded"
	}
	return out
}

func shortError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); len(s) > 200 && i > 0 {
		s = s[:200]
	}
	return s
}
