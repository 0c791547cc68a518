package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// testHost runs one host whose enclave and peers do not exist: enough to test its front doors.
type testHost struct {
	h       *Host
	apiURL  string
	peer    string
	token   string
	dir     string
	cfg     *Config
	metrics string
	// mem is the in-memory transport the host dials its enclave on (mem://nobody-listens):
	// a test may serve a stand-in enclave there.
	mem *transport.Mem
}

func startTestHost(t *testing.T, tlsOn bool) *testHost {
	t.Helper()
	dir := t.TempDir()
	th := &testHost{dir: dir, token: "api-token-for-tests"}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	peerL, apiL, metricsL := listen(), listen(), listen()
	cfg := &Config{
		Version: 1, Party: 1, Threshold: 2,
		Enclave: "mem://nobody-listens",
		API:     APIConfig{Listen: apiL.Addr().String(), TokenFile: write("api.token", th.token+"\n")},
		Peer:    PeerConfig{Listen: peerL.Addr().String(), TokenFile: write("peer.token", "peer-token")},
		Metrics: Listen{Listen: metricsL.Addr().String()},
		Parties: []PartyAddr{{ID: 1, Peer: peerL.Addr().String()}, {ID: 2, Peer: "127.0.0.1:1"}, {ID: 3, Peer: "127.0.0.1:1"}},
		// Nothing attests here; the section must still be valid.
		Attestation: attestation.Config{Kind: attestation.KindNitro, Policy: attestation.PolicyConfig{Measurements: map[int]string{0: strings.Repeat("00", 48)}}},
	}
	scheme := "http"
	if tlsOn {
		cfg.API.TLS.CertFile, cfg.API.TLS.KeyFile = writeSelfSigned(t, dir)
		scheme = "https"
	}
	cfg.defaults()
	th.mem = transport.NewMem()
	h, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), Mem: th.mem})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = h.Serve(ctx, peerL, apiL, metricsL)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	th.h, th.cfg = h, cfg
	th.apiURL = scheme + "://" + apiL.Addr().String()
	th.peer = peerL.Addr().String()
	th.metrics = "http://" + metricsL.Addr().String() + "/metrics"
	return th
}

// writeSelfSigned makes a throwaway certificate for 127.0.0.1 and returns its files.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mpcsigner test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestAPIOverTLSWithToken(t *testing.T) {
	th := startTestHost(t, true)
	c, err := api.NewClient(api.ClientOptions{URL: th.apiURL, TokenFile: th.cfg.API.TokenFile, CAFile: th.cfg.API.TLS.CertFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// With no enclave reachable, health answers over TLS and says the quorum is missing.
	h, err := c.Health(ctx)
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable || h.Status != "degraded" || h.Reachable != 0 {
		t.Fatalf("health: %+v, %v", h, err)
	}
	// Signing fails fast with 503, naming the unreachable parties.
	start := time.Now()
	_, err = c.Sign(ctx, "anykey", api.SignRequest{Digest: strings.Repeat("ab", 32)})
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable || !strings.Contains(apiErr.Message, "party") {
		t.Fatalf("sign without a quorum: %v", err)
	}
	if elapsed := time.Since(start); elapsed > th.cfg.Timeouts.Sign {
		t.Fatalf("sign without a quorum took %s, longer than the %s timeout", elapsed, th.cfg.Timeouts.Sign)
	}
	// Plain HTTP to the TLS listener is refused.
	if resp, err := http.Get(strings.Replace(th.apiURL, "https", "http", 1) + api.PathHealth); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served on the TLS listener")
		}
		resp.Body.Close()
	}
}

func TestAPIRefusesMissingOrWrongToken(t *testing.T) {
	th := startTestHost(t, false)
	for name, auth := range map[string]string{
		"none":        "",
		"wrong":       "Bearer not-the-token",
		"prefix only": "Bearer " + th.token[:5],
		"longer":      "Bearer " + th.token + "x",
		"basic":       "Basic " + th.token,
	} {
		req, _ := http.NewRequest(http.MethodGet, th.apiURL+api.PathKeys, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", name, resp.StatusCode)
		}
	}
}

// A peer connection must open with the cluster's peer token; anything else, and any frame that
// does not decode, closes that connection without affecting the host.
func TestPeerPortRefusesStrangersAndGarbage(t *testing.T) {
	th := startTestHost(t, false)
	cases := map[string][]byte{
		"truncated frame": {0, 0, 0, 9, byte(wire.FrameRequest), 1},
		"oversized frame": {0x7f, 0, 0, 0, byte(wire.FrameRelay)},
		"no hello":        frameBytes(t, wire.Frame{Type: wire.FrameRelay, Body: (&wire.Relay{From: 2, To: 1, Data: []byte{3}}).Encode()}),
		"wrong token":     frameBytes(t, helloFrame(2, "guess")),
		"our own party":   frameBytes(t, helloFrame(1, "peer-token")),
		"unknown party":   frameBytes(t, helloFrame(7, "peer-token")),
	}
	for name, raw := range cases {
		conn, err := net.Dial("tcp", th.peer)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// End our side, so a half-sent frame is seen as truncated rather than still arriving.
		_ = conn.(*net.TCPConn).CloseWrite()
		// The host answers a refused hello with an error, then closes; otherwise it just closes.
		fc := transport.NewFrameConn(conn)
		for {
			f, err := fc.Read()
			if err != nil {
				break
			}
			if f.Type == wire.FrameResponse {
				resp, derr := wire.DecodeResponse(f.Body)
				if derr != nil || resp.Err == nil {
					t.Errorf("%s: the host accepted: %+v %v", name, resp, derr)
				}
			}
		}
		conn.Close()
	}
	// The genuine peer token is still accepted afterwards.
	conn, err := net.Dial("tcp", th.peer)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fc := transport.NewFrameConn(conn)
	if err := fc.Write(helloFrame(2, "peer-token")); err != nil {
		t.Fatal(err)
	}
	f, err := fc.Read()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := wire.DecodeResponse(f.Body)
	if err != nil || resp.Err != nil {
		t.Fatalf("genuine hello refused: %+v %v", resp, err)
	}
}

func helloFrame(p protocol.PartyID, token string) wire.Frame {
	req := &wire.Request{ID: 1, Method: methodPeerHello, Body: wire.EncodeJSON(peerHello{Party: p, Token: token})}
	return wire.Frame{Type: wire.FrameRequest, Body: req.Encode()}
}

func frameBytes(t *testing.T, f wire.Frame) []byte {
	t.Helper()
	var b strings.Builder
	if err := wire.WriteFrame(&b, f); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

func TestConfigValidateNamesEveryProblem(t *testing.T) {
	err := (&Config{Version: 2, Party: 5, Threshold: 1, Enclave: "tcp://x", Parties: []PartyAddr{{ID: 2, Peer: "nope"}}}).Validate()
	if err == nil {
		t.Fatal("an empty config validated")
	}
	for _, want := range []string{"version", "threshold", "party", "parties", "enclave", "api.listen", "api.token_file", "peer.token_file", "attestation.kind"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("validation error does not mention %s: %v", want, err)
		}
	}
}

func TestLoadConfigRefusesUnknownKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(p, []byte("version: 1\nparty: 1\nsurprise: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Fatalf("unknown key: %v", err)
	}
}

// FuzzDecodeBody feeds arbitrary bodies to the API's strict JSON decoder.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"digest":"00","parties":[1,2]}`))
	f.Add([]byte(`{"scheme":"ecdsa-secp256k1","label":"x"}`))
	f.Add([]byte(`{"digest":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		var s api.SignRequest
		if err := decodeBody(req, &s); err != nil && !errors.Is(err, ErrBadRequest) {
			t.Fatalf("decode error is not a bad request: %v", err)
		}
	})
}

func TestHealthcheckNamesItsChecks(t *testing.T) {
	th := startTestHost(t, false)
	resp, err := http.Get(th.apiURL + api.PathHealthcheck)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hc api.Healthcheck
	if err := json.NewDecoder(resp.Body).Decode(&hc); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || hc.Status != "degraded" || len(hc.Parties) != 3 {
		t.Fatalf("with nothing reachable: HTTP %d %+v", resp.StatusCode, hc)
	}
	names := map[string]string{}
	for _, c := range hc.Checks {
		names[c.Name] = c.Status
	}
	if names["quorum_reachable"] != "failed" || names["attestation_fresh"] != "failed" {
		t.Fatalf("checks %+v", hc.Checks)
	}
	for _, p := range hc.Parties {
		if p.Reachable || p.Verified || p.Accepted {
			t.Fatalf("party %d reported healthy with no enclave anywhere: %+v", p.Party, p)
		}
	}
}
