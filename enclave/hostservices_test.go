package enclave

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation/sim"
	"github.com/mpcsigner/mpcsigner/enclave/seal"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/hostsvc"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// The limits of the host-backed store must fit inside what the host's log format carries, or
// the store could write something its host cannot keep or hand back.
func TestHostedStoreLimitsFitTheHostLog(t *testing.T) {
	if store.MaxHostedEntry > hostsvc.MaxEntryBody {
		t.Errorf("a sealed entry may be %d bytes, the host log carries %d", store.MaxHostedEntry, hostsvc.MaxEntryBody)
	}
	// The store counts each entry as its body plus 64 bytes, more than the log's framing.
	if hostsvc.EntryOverhead > 64 {
		t.Errorf("the log's framing is %d bytes per entry, more than the store counts", hostsvc.EntryOverhead)
	}
	if store.MaxHostedLog+len(hostsvc.ImageMagic) > hostsvc.MaxImageSize {
		t.Errorf("the store lets its log grow to %d bytes, the host serves at most %d", store.MaxHostedLog, hostsvc.MaxImageSize)
	}
}

const testKMSKeyID = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-0000000000aa"

// nitroLikeParty is one party set up as on Nitro, on loopback: the enclave's store kept by its
// host (a hostsvc server over a FileLog, the host's real code), its data key from a fake KMS
// behind TLS that the enclave reaches through a byte-forwarding proxy, with credentials the
// host hands over.
type nitroLikeParty struct {
	t          *testing.T
	att        *testAttestation
	kms        *seal.FakeKMS
	proxy      *recordingProxy
	storeDir   string
	hostAddr   transport.Addr
	configPath string
	stopHost   func()
}

var hostCreds = hostsvc.Credentials{
	AccessKeyID: "ASIAHOSTHANDEDOVER01", SecretAccessKey: "host-secret", SessionToken: "host-session-token",
	Expiration: time.Now().Add(time.Hour),
}

type fixedCredentials struct{}

func (fixedCredentials) Credentials(context.Context) (hostsvc.Credentials, error) {
	return hostCreds, nil
}

func newNitroLikeParty(t *testing.T) *nitroLikeParty { return newKMSParty(t, true) }

// newKMSParty is a party sealed by KMS whose store is kept by its host (hostStore) or, for a
// platform with a disk, in data_dir with the KMS blob in a file beside it.
func newKMSParty(t *testing.T, hostStore bool) *nitroLikeParty {
	t.Helper()
	dir := t.TempDir()
	storeSection, blobPath := "store:\n  kind: host", ""
	if !hostStore {
		storeSection = "data_dir: " + filepath.Join(dir, "enclave-data")
		blobPath = "\n    blob_path: " + filepath.Join(dir, "sealer", "data-key.kms")
	}
	p := &nitroLikeParty{t: t, att: newTestAttestation(t), storeDir: filepath.Join(dir, "host-store")}
	p.kms = seal.NewFakeKMS(testKMSKeyID, p.att.verifier)
	srv, err := seal.StartFakeKMSServer(p.kms, "kms.eu-west-1.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	p.proxy = startRecordingProxy(t, srv.Addr)
	caFile := writeFile(t, dir, "kms-ca.pem", srv.CAPEM)
	p.startHost(transport.Addr{Scheme: transport.SchemeLoopback, Host: "127.0.0.1"})

	roster := testRoster()
	rosterPath := writeFile(t, dir, "roster.json", []byte(fmt.Sprintf(
		`{"version":1,"cluster_id":%q,"threshold":2,"epoch":1,"parties":[1,2,3]}`, roster.ClusterID)))
	p.configPath = writeFile(t, dir, "enclave.yaml", []byte(fmt.Sprintf(`version: 1
party: 1
listen: loopback://127.0.0.1:0
roster: %s
host_services: %s
%s
sealer:
  kind: kms
  kms:
    key_id: %q
    region: eu-west-1
    proxy: loopback://%s
    ca_file: %s%s
attestation:
  kind: sim
  sim:
    ca_dir: %s
  policy:
    measurements:
      0: %q
preparams:
  want: 0
`, rosterPath, p.hostAddr, storeSection, testKMSKeyID, p.proxy.addr, caFile, blobPath, dir, fmt.Sprintf("%x", p.att.pcrs[0]))))
	return p
}

// startHost serves the host's side (FileLog and credentials) at addr.
func (p *nitroLikeParty) startHost(addr transport.Addr) {
	p.t.Helper()
	fl, err := hostsvc.OpenFileLog(p.storeDir, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	l, err := transport.Loopback{}.Listen(addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.hostAddr = transport.ListenerAddr(l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = (&hostsvc.Server{Log: fl, Credentials: fixedCredentials{}}).Serve(ctx, l)
		_ = fl.Close()
		close(done)
	}()
	var once sync.Once
	p.stopHost = func() { once.Do(func() { cancel(); <-done }) }
	p.t.Cleanup(p.stopHost)
}

func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runningEnclave is one start of the party's enclave, and the test playing its host channel.
type runningEnclave struct {
	st     store.Store
	fc     *transport.FrameConn
	cancel context.CancelFunc
	done   chan struct{}
	nextID uint64
}

// start runs the enclave as `mpcsigner enclave` does: load the config, open the store (which
// unseals through KMS and replays the host's log), load the identity, serve.
func (p *nitroLikeParty) start() (*runningEnclave, error) {
	p.t.Helper()
	cfg, err := LoadFileConfig(p.configPath)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := cfg.OpenStore(ctx, StoreDeps{Attester: p.att.attester, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	id, err := LoadIdentity(st, cfg.Party)
	if err != nil {
		return nil, err
	}
	roster, err := LoadRoster(cfg.Roster)
	if err != nil {
		return nil, err
	}
	e, err := New(Config{Identity: id, Roster: roster, Store: st, Engines: []protocol.Engine{bls.Engine{}},
		Attester: p.att.attester, Verifier: p.att.verifier})
	if err != nil {
		return nil, err
	}
	l, err := transport.Loopback{}.Listen(transport.Addr{Scheme: transport.SchemeLoopback, Host: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	r := &runningEnclave{st: st, done: make(chan struct{})}
	var sctx context.Context
	sctx, r.cancel = context.WithCancel(context.Background())
	go func() { _ = e.Serve(sctx, l); close(r.done) }()
	conn, err := transport.Loopback{}.Dial(context.Background(), transport.ListenerAddr(l))
	if err != nil {
		return nil, err
	}
	r.fc = transport.NewFrameConn(conn)
	p.t.Cleanup(r.stop)
	return r, nil
}

// stop ends the enclave process: the service stops and the store is closed.
func (r *runningEnclave) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.fc.Close()
	_ = r.st.Close()
	r.cancel = nil
}

// call sends a request on the host channel and returns the reply's body.
func (r *runningEnclave) call(t *testing.T, method string, args any) []byte {
	t.Helper()
	r.nextID++
	req := &wire.Request{ID: r.nextID, Method: method}
	if args != nil {
		req.Body = wire.EncodeJSON(args)
	}
	if err := r.fc.Write(wire.Frame{Type: wire.FrameRequest, Body: req.Encode()}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := r.fc.Read()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := wire.DecodeResponse(f.Body)
		if f.Type != wire.FrameResponse || err != nil || resp.ID != req.ID {
			continue
		}
		if resp.Err != nil {
			t.Fatalf("%s: %v", method, resp.Err)
		}
		return resp.Body
	}
}

func (r *runningEnclave) status(t *testing.T) wire.StatusReply {
	var s wire.StatusReply
	if err := wire.DecodeJSON(r.call(t, wire.MethodStatus, nil), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *runningEnclave) watermark(t *testing.T, set *wire.Eth2SetWatermark) wire.Eth2Watermark {
	var w wire.Eth2Watermark
	var args any
	if set != nil {
		args = set
	}
	if err := wire.DecodeJSON(r.call(t, wire.MethodEth2Watermark, args), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestNitroLikeRestartKeepsState is issue 3 end to end on loopback: an enclave configured with
// sealer.kind kms and store.kind host starts, records state, stops, and starts again with the
// same identity and state, its data key released by KMS only to its attested recipient key and
// its store replayed from the sealed log its host kept.
func TestNitroLikeRestartKeepsState(t *testing.T) {
	p := newNitroLikeParty(t)
	first, err := p.start()
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	noiseKey := first.status(t).NoisePublicKey
	first.watermark(t, &wire.Eth2SetWatermark{Slot: 123456, Epoch: 3858})
	first.stop()
	if g, d := p.kms.Calls(); g != 1 || d != 0 {
		t.Fatalf("first start: KMS saw %d GenerateDataKey and %d Decrypt, want 1 and 0", g, d)
	}

	// The host process restarts too, on the same directory and port.
	p.stopHost()
	p.startHost(p.hostAddr)

	second, err := p.start()
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := second.status(t).NoisePublicKey; got != noiseKey {
		t.Fatalf("after the restart the Noise key is %s, was %s: the identity did not survive", got, noiseKey)
	}
	if w := second.watermark(t, nil); !w.Set || w.Slot != 123456 || w.Epoch != 3858 {
		t.Fatalf("after the restart the watermark is %+v", w)
	}
	if g, d := p.kms.Calls(); g != 1 || d != 1 {
		t.Fatalf("after the restart: KMS saw %d GenerateDataKey and %d Decrypt, want 1 and 1", g, d)
	}
	second.stop()

	t.Run("KMS calls carry the host's credentials", func(t *testing.T) {
		for _, r := range p.kms.Requests() {
			if r.AccessKeyID != hostCreds.AccessKeyID || r.SessionToken != hostCreds.SessionToken {
				t.Fatalf("%s signed with %q, not the credentials the host handed over", r.Target, r.AccessKeyID)
			}
		}
	})
	t.Run("the proxy carried only TLS", func(t *testing.T) {
		sent := p.proxy.sent()
		if len(sent) == 0 {
			t.Fatal("nothing went through the proxy")
		}
		for _, clear := range []string{"TrentService", "GenerateDataKey", "mpcsigner/v1 kms recipient", hostCreds.AccessKeyID, "Authorization"} {
			if bytes.Contains(sent, []byte(clear)) {
				t.Fatalf("the proxy saw %q in the clear", clear)
			}
		}
		if sent[0] != 0x16 { // a TLS handshake record
			t.Fatalf("the first byte through the proxy is %#x, not a TLS handshake", sent[0])
		}
	})
	t.Run("the host keeps only sealed data", func(t *testing.T) {
		for _, name := range []string{"log", "kms-blob"} {
			b, err := os.ReadFile(filepath.Join(p.storeDir, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, clear := range []string{"identity/", "slashing/", noiseKey} {
				if bytes.Contains(b, []byte(clear)) {
					t.Fatalf("the host's %s holds %q in the clear", name, clear)
				}
			}
		}
	})
}

// TestKMSSealedLocalStore is sealer.kind kms on a platform with a disk: the store and the KMS
// blob are local files, and the host only hands over credentials.
func TestKMSSealedLocalStore(t *testing.T) {
	p := newKMSParty(t, false)
	first, err := p.start()
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	noiseKey := first.status(t).NoisePublicKey
	first.stop()
	second, err := p.start()
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := second.status(t).NoisePublicKey; got != noiseKey {
		t.Fatalf("after the restart the Noise key is %s, was %s", got, noiseKey)
	}
	if g, d := p.kms.Calls(); g != 1 || d != 1 {
		t.Fatalf("KMS saw %d GenerateDataKey and %d Decrypt, want 1 and 1", g, d)
	}
	if b, err := os.ReadFile(filepath.Join(p.storeDir, "log")); err != nil || len(b) != len(hostsvc.ImageMagic) {
		t.Fatalf("the host's log holds %d bytes (%v): the local store should not use it", len(b), err)
	}
}

// TestNitroLikeHostServesAlteredLog: a hostile host serves a log whose framing is valid (it
// recomputes the CRCs) but whose content it changed: the enclave refuses to start, and says
// why. A host serving an older prefix is not detected (see store.Hosted): it starts with the
// older state.
func TestNitroLikeHostServesAlteredLog(t *testing.T) {
	p := newNitroLikeParty(t)
	e, err := p.start()
	if err != nil {
		t.Fatal(err)
	}
	e.watermark(t, &wire.Eth2SetWatermark{Slot: 10, Epoch: 1})
	e.watermark(t, &wire.Eth2SetWatermark{Slot: 20, Epoch: 2})
	e.stop()
	p.stopHost()
	logPath := filepath.Join(p.storeDir, "log")
	image, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := hostsvc.ParseImage(image)
	if err != nil || len(entries) < 4 {
		t.Fatalf("the log: %v, %d entries", err, len(entries))
	}
	serve := func(entries []hostsvc.Entry) {
		t.Helper()
		p.stopHost()
		if err := os.WriteFile(logPath, hostsvc.EncodeImage(entries), 0o600); err != nil {
			t.Fatal(err)
		}
		p.startHost(p.hostAddr)
	}

	altered := cloneHostEntries(entries)
	altered[len(altered)-1].Body[7] ^= 1
	serve(altered)
	if _, err := p.start(); !errors.Is(err, store.ErrLogRefused) {
		t.Fatalf("start on an altered log = %v, want store.ErrLogRefused", err)
	} else if !strings.Contains(err.Error(), "nothing of it was applied") {
		t.Errorf("the refusal does not say nothing was applied: %v", err)
	}

	serve(cloneHostEntries(entries[:len(entries)-1])) // the last write rolled back
	older, err := p.start()
	if err != nil {
		t.Fatalf("start on a prefix of the log: %v", err)
	}
	if w := older.watermark(t, nil); w.Slot != 10 {
		t.Fatalf("on a prefix the enclave has watermark %+v; this test documents that it starts from the older state", w)
	}
}

func cloneHostEntries(entries []hostsvc.Entry) []hostsvc.Entry {
	out := make([]hostsvc.Entry, len(entries))
	for i, e := range entries {
		out[i] = hostsvc.Entry{Kind: e.Kind, Seq: e.Seq, Body: bytes.Clone(e.Body)}
	}
	return out
}

// TestNitroLikeUnattestedEnclaveGetsNoKey: an enclave whose measurement the key policy does
// not allow gets no data key, so it cannot open the store its host keeps.
func TestNitroLikeUnattestedEnclaveGetsNoKey(t *testing.T) {
	p := newNitroLikeParty(t)
	e, err := p.start()
	if err != nil {
		t.Fatal(err)
	}
	e.stop()
	p.att.attester = &sim.Attester{CA: p.att.ca, PCRs: sim.MeasurementOf([]byte("another image"))}
	if _, err := p.start(); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("start with another measurement = %v, want KMS's AccessDeniedException", err)
	}
}

// recordingProxy forwards loopback connections to a target, as vsock-proxy forwards the
// enclave's connections to KMS, and keeps every byte the enclave sent.
type recordingProxy struct {
	addr string
	mu   sync.Mutex
	buf  bytes.Buffer
}

func startRecordingProxy(t *testing.T, target string) *recordingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &recordingProxy{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.forward(c, target)
		}
	}()
	return p
}

func (p *recordingProxy) forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(c, up); c.Close() }()
	_, _ = io.Copy(io.MultiWriter(up, p), c)
}

func (p *recordingProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *recordingProxy) sent() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.buf.Bytes())
}

// TestNitroExampleConfigLoads keeps deploy/nitro/config/enclave.yaml in step with the code:
// with its placeholders filled in, it loads as a KMS-sealed, host-stored enclave.
func TestNitroExampleConfigLoads(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "nitro", "config", "enclave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	filled := regexp.MustCompile(`"<PCR[^"]*>"`).ReplaceAllString(string(raw), `"`+strings.Repeat("11", 48)+`"`)
	cfg, err := LoadFileConfig(writeFile(t, t.TempDir(), "enclave.yaml", []byte(filled)))
	if err != nil {
		t.Fatalf("the example configuration does not load: %v", err)
	}
	if cfg.Sealer.Kind != SealerKMS || cfg.Store.Kind != StoreHost || cfg.HostServices != "vsock://3:5001" || cfg.Sealer.KMS.Proxy != "vsock://3:8000" {
		t.Fatalf("the example is not a KMS-sealed, host-stored enclave: %+v", cfg)
	}
}
