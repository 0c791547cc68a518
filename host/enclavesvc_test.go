package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/protocol/hostsvc"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// fakeIMDS plays the instance metadata service, IMDSv2 only: no session token, no answer.
type fakeIMDS struct {
	srv      *httptest.Server
	role     string
	doc      atomic.Value // string: the credentials document
	fetches  atomic.Int32
	tokenTTL atomic.Value // string: the TTL header of the last token request
}

const imdsToken = "AQAEAFakeSessionToken=="

func newFakeIMDS(t *testing.T, expires time.Time) *fakeIMDS {
	t.Helper()
	f := &fakeIMDS{role: "mpcsigner-party-1-parent"}
	f.setDoc("ASIAFAKEFAKEFAKE0001", expires)
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenTTL.Store(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing TTL", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, imdsToken)
	})
	authorized := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-aws-ec2-metadata-token") != imdsToken {
				http.Error(w, "", http.StatusUnauthorized)
				return
			}
			next(w, r)
		}
	}
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/", authorized(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, f.role)
	}))
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/{role}", authorized(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("role") != f.role {
			http.NotFound(w, r)
			return
		}
		f.fetches.Add(1)
		fmt.Fprint(w, f.doc.Load().(string))
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// setDoc sets the credentials document, in the layout AWS documents.
func (f *fakeIMDS) setDoc(akid string, expires time.Time) {
	doc, _ := json.MarshalIndent(map[string]string{
		"Code": "Success", "LastUpdated": time.Now().UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
		"AccessKeyId": akid, "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"Token": "IQoJb3JpZ2luX2VjEFakeToken", "Expiration": expires.UTC().Format(time.RFC3339),
	}, "", "  ")
	f.doc.Store(string(doc))
}

func TestIMDSCredentials(t *testing.T) {
	now := time.Now()
	f := newFakeIMDS(t, now.Add(6*time.Hour))
	c := newIMDSCredentials(f.srv.URL)
	got, err := c.Credentials(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != "ASIAFAKEFAKEFAKE0001" || got.SessionToken != "IQoJb3JpZ2luX2VjEFakeToken" || got.Expiration.Unix() != now.Add(6*time.Hour).Unix() {
		t.Fatalf("credentials %v, expiring %s", got, got.Expiration)
	}
	if ttl := f.tokenTTL.Load(); ttl != imdsTokenTTL {
		t.Fatalf("token TTL header %v", ttl)
	}
	if _, err := c.Credentials(t.Context()); err != nil || f.fetches.Load() != 1 {
		t.Fatalf("a second call fetched again (%d fetches, %v): credentials far from expiry are kept", f.fetches.Load(), err)
	}
	// Close to expiry, the next call fetches the rotated credentials.
	f.setDoc("ASIAFAKEFAKEFAKE0002", now.Add(12*time.Hour))
	c.now = func() time.Time { return now.Add(6*time.Hour - time.Minute) }
	got, err = c.Credentials(t.Context())
	if err != nil || got.AccessKeyID != "ASIAFAKEFAKEFAKE0002" {
		t.Fatalf("after rotation: %v, %v", got, err)
	}
}

func TestIMDSCredentialsRefused(t *testing.T) {
	cases := map[string]string{
		"not success":     `{"Code":"AssumeRoleUnauthorizedAccess","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKEFAKEFAKE0001","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z"}`,
		"other type":      `{"Code":"Success","Type":"X","AccessKeyId":"ASIAFAKEFAKEFAKE0001","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z"}`,
		"no expiration":   `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKEFAKEFAKE0001","SecretAccessKey":"s","Token":"t"}`,
		"short key id":    `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIA","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z"}`,
		"no secret":       `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKEFAKEFAKE0001","Token":"t","Expiration":"2030-01-01T00:00:00Z"}`,
		"trailing object": `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKEFAKEFAKE0001","SecretAccessKey":"s","Expiration":"2030-01-01T00:00:00Z"} {}`,
		"not json":        `Success`,
	}
	for name, doc := range cases {
		if _, err := parseIMDSCredentials([]byte(doc)); !errors.Is(err, errIMDS) {
			t.Errorf("%s: %v, want errIMDS", name, err)
		}
	}
	for _, roles := range []string{"", "two\nroles\n", "../../meta-data", "role?x", strings.Repeat("r", 65)} {
		if _, err := parseIMDSRole([]byte(roles)); !errors.Is(err, errIMDS) {
			t.Errorf("role listing %q: %v, want errIMDS", roles, err)
		}
	}
	// A metadata service that does not answer the token request (IMDSv1 only, or not EC2).
	noToken := httptest.NewServer(http.NotFoundHandler())
	defer noToken.Close()
	if _, err := newIMDSCredentials(noToken.URL).Credentials(t.Context()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("without IMDSv2: %v", err)
	}
}

func FuzzParseIMDSCredentials(f *testing.F) {
	f.Add([]byte(`{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKEFAKEFAKE0001","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := parseIMDSCredentials(in)
		if err == nil && c.Validate() != nil {
			t.Fatal("accepted credentials that do not validate")
		}
	})
}

func FuzzParseIMDSRole(f *testing.F) {
	f.Add([]byte("mpcsigner-role\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		role, err := parseIMDSRole(in)
		if err == nil && (role == "" || strings.ContainsAny(role, "/?#%\n")) {
			t.Fatalf("accepted role %q", role)
		}
	})
}

func TestEnclaveServicesConfig(t *testing.T) {
	good := EnclaveServicesConfig{Listen: "loopback://127.0.0.1:7300", StoreDir: "/x", Credentials: "imds", IMDSEndpoint: "http://127.0.0.1:9"}
	if errs := good.validate(); len(errs) != 0 {
		t.Fatalf("a good section: %v", errs)
	}
	if errs := (EnclaveServicesConfig{}).validate(); len(errs) != 0 {
		t.Fatalf("no section: %v", errs)
	}
	bad := map[string]EnclaveServicesConfig{
		"no listen":                {StoreDir: "/x"},
		"listen on TCP":            {Listen: "127.0.0.1:7300", StoreDir: "/x"},
		"offers nothing":           {Listen: "loopback://127.0.0.1:7300"},
		"unknown credentials":      {Listen: "loopback://127.0.0.1:7300", Credentials: "env"},
		"endpoint without imds":    {Listen: "loopback://127.0.0.1:7300", StoreDir: "/x", IMDSEndpoint: "http://127.0.0.1:9"},
		"endpoint with a path":     {Listen: "loopback://127.0.0.1:7300", Credentials: "imds", IMDSEndpoint: "http://127.0.0.1:9/latest"},
		"endpoint of other scheme": {Listen: "loopback://127.0.0.1:7300", Credentials: "imds", IMDSEndpoint: "ftp://127.0.0.1"},
	}
	for name, c := range bad {
		if errs := c.validate(); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestHostServesEnclaveServices runs a whole host with enclave services and plays its enclave:
// credentials from the (fake) metadata service, and a sealed log kept on disk across a host
// restart.
func TestHostServesEnclaveServices(t *testing.T) {
	imds := newFakeIMDS(t, time.Now().Add(time.Hour))
	storeDir := filepath.Join(t.TempDir(), "enclave-store")
	cfg := enclaveServicesHostConfig(t, EnclaveServicesConfig{StoreDir: storeDir, Credentials: credentialsIMDS, IMDSEndpoint: imds.srv.URL})

	addr, stop := runHostWithServices(t, cfg, transport.Addr{Scheme: transport.SchemeLoopback, Host: "127.0.0.1"})
	c, err := hostsvc.NewClient(addr, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	creds, err := c.Credentials(ctx)
	if err != nil || creds.AccessKeyID != "ASIAFAKEFAKEFAKE0001" {
		t.Fatalf("Credentials = %v, %v", creds, err)
	}
	if err := c.Append(ctx, 1, []byte("sealed record 1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Blob(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Blob before one was kept: %v", err)
	}
	if saved, err := c.PublishBlob(ctx, []byte("kms blob")); err != nil || !saved {
		t.Fatalf("PublishBlob: %v, %v", saved, err)
	}
	stop()

	// A new host process on the same directory serves what the first one kept.
	addr, _ = runHostWithServices(t, cfg, addr)
	image, err := c.ReadLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := hostsvc.ParseImage(image)
	if err != nil || len(entries) != 1 || string(entries[0].Body) != "sealed record 1" {
		t.Fatalf("after the host restarted: %v, %d entries", err, len(entries))
	}
	if blob, err := c.Blob(ctx); err != nil || string(blob) != "kms blob" {
		t.Fatalf("Blob after the host restarted: %q, %v", blob, err)
	}
	fi, err := os.Stat(storeDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("store directory: %v, mode %v", err, fi.Mode())
	}
}

// enclaveServicesHostConfig is a minimal valid host configuration with services.
func enclaveServicesHostConfig(t *testing.T, svc EnclaveServicesConfig) *Config {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"api.token", "peer.token"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("token-for-tests"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	svc.Listen = "loopback://127.0.0.1:1" // validated here; the test passes its own listener
	cfg := &Config{
		Version: 1, Party: 1, Threshold: 2, Enclave: "mem://nobody-listens",
		API:             APIConfig{Listen: "127.0.0.1:0", TokenFile: filepath.Join(dir, "api.token")},
		Peer:            PeerConfig{Listen: "127.0.0.1:0", TokenFile: filepath.Join(dir, "peer.token")},
		Metrics:         Listen{Listen: "127.0.0.1:0"},
		Parties:         []PartyAddr{{ID: 1, Peer: "127.0.0.1:1"}, {ID: 2, Peer: "127.0.0.1:1"}},
		Attestation:     attestation.Config{Kind: attestation.KindNitro, Policy: attestation.PolicyConfig{Measurements: map[int]string{0: strings.Repeat("00", 48)}}},
		EnclaveServices: svc,
	}
	cfg.defaults()
	return cfg
}

// runHostWithServices runs a host serving enclave services at addr (port 0: any) and returns
// the address and a function that stops the host.
func runHostWithServices(t *testing.T, cfg *Config, addr transport.Addr) (transport.Addr, func()) {
	t.Helper()
	svcL, err := transport.Loopback{}.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	h, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), Mem: transport.NewMem(), EnclaveServicesListener: svcL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, listen(), listen(), listen()) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("host stopped with %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return transport.ListenerAddr(svcL), stop
}
