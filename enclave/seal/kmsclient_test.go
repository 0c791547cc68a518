package seal

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

const testKMSHost = "kms.eu-west-1.amazonaws.com"

var testCredentials = aws.Credentials{
	AccessKeyID: "ASIATESTTESTTEST0001", SecretAccessKey: "not-a-real-secret", SessionToken: "session-token-1",
}

// httpKMSFixture is the fake KMS served over TLS, and a real kms.Client that reaches it over a
// dialer, trusting only the fake's CA.
type httpKMSFixture struct {
	*kmsFixture
	srv  *FakeKMSServer
	pool *x509.CertPool
}

func newHTTPKMSFixture(t *testing.T) *httpKMSFixture {
	t.Helper()
	f := newKMSFixture(t)
	srv, err := StartFakeKMSServer(f.kms, testKMSHost)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CAPEM) {
		t.Fatal("the fake's CA does not parse")
	}
	return &httpKMSFixture{kmsFixture: f, srv: srv, pool: pool}
}

// dialTo dials addr whatever the HTTP client asks for, as a vsock connection to the proxy does.
func dialTo(addr string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

func (f *httpKMSFixture) client(t *testing.T, pool *x509.CertPool, dial func(context.Context) (net.Conn, error)) KMSClient {
	t.Helper()
	c, err := NewKMSClient(KMSClientConfig{
		Region: "eu-west-1", Dial: dial, RootCAs: pool,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return testCredentials, nil }),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKMSClientThroughTLS(t *testing.T) {
	f := newHTTPKMSFixture(t)
	s := f.sealer(f.attester)
	s.Client = f.client(t, f.pool, dialTo(f.srv.Addr))
	first, err := s.DataKey(t.Context())
	if err != nil {
		t.Fatalf("first start over HTTPS: %v", err)
	}
	again, err := s.DataKey(t.Context())
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("later start over HTTPS: %v, same key %v", err, bytes.Equal(first, again))
	}
	if g, d := f.kms.Calls(); g != 1 || d != 1 {
		t.Fatalf("KMS saw %d GenerateDataKey and %d Decrypt, want 1 and 1", g, d)
	}
	reqs := f.kms.Requests()
	if len(reqs) != 2 || reqs[0].Target != "TrentService.GenerateDataKey" || reqs[1].Target != "TrentService.Decrypt" {
		t.Fatalf("requests: %+v", reqs)
	}
	for _, r := range reqs {
		if r.AccessKeyID != testCredentials.AccessKeyID || r.SessionToken != testCredentials.SessionToken {
			t.Fatalf("a request was signed with %q / %q, not the credentials handed over", r.AccessKeyID, r.SessionToken)
		}
	}

	// An attestation the key policy refuses is refused over HTTP too, by KMS's error code.
	other := f.sealer(f.attester)
	other.Client = s.Client
	other.Attester = &sim.Attester{CA: f.ca, PCRs: sim.MeasurementOf([]byte("another image"))}
	if _, err := other.DataKey(t.Context()); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("another measurement over HTTPS: %v, want AccessDeniedException", err)
	}
}

// TestKMSClientRefusesAnImpostor: whoever carries the connection answers with its own TLS
// server (a certificate from a CA the enclave does not trust, or for another name): the client
// refuses it before sending anything, so no attestation and no key pass.
func TestKMSClientRefusesAnImpostor(t *testing.T) {
	f := newHTTPKMSFixture(t)
	impostor := NewFakeKMS(testKeyID, nil)
	impostor.ReturnPlaintext = true
	cases := map[string]string{"untrusted CA": testKMSHost, "trusted CA, other name": "kms.evil.example"}
	for name, host := range cases {
		t.Run(name, func(t *testing.T) {
			srv, err := StartFakeKMSServer(impostor, host)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			pool := f.pool
			if name == "trusted CA, other name" {
				pool = x509.NewCertPool()
				pool.AppendCertsFromPEM(srv.CAPEM)
			}
			s := f.sealer(f.attester)
			s.Client = f.client(t, pool, dialTo(srv.Addr))
			key, err := s.DataKey(t.Context())
			var certErr x509.UnknownAuthorityError
			var nameErr x509.HostnameError
			if key != nil || (!errors.As(err, &certErr) && !errors.As(err, &nameErr)) {
				t.Fatalf("DataKey through an impostor = %d bytes, %v; want a certificate error", len(key), err)
			}
			if len(impostor.Requests()) != 0 {
				t.Fatal("the impostor received a request")
			}
		})
	}
}

func TestNewKMSClientRefuses(t *testing.T) {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return testCredentials, nil })
	dial := dialTo("127.0.0.1:1")
	cases := map[string]KMSClientConfig{
		"no region":      {Dial: dial, Credentials: creds},
		"no dialer":      {Region: "eu-west-1", Credentials: creds},
		"no credentials": {Region: "eu-west-1", Dial: dial},
		"http endpoint":  {Region: "eu-west-1", Dial: dial, Credentials: creds, Endpoint: "http://kms.eu-west-1.amazonaws.com"},
		"endpoint path":  {Region: "eu-west-1", Dial: dial, Credentials: creds, Endpoint: "https://kms.example/x"},
		"userinfo":       {Region: "eu-west-1", Dial: dial, Credentials: creds, Endpoint: "https://u:p@kms.example"},
	}
	for name, c := range cases {
		if _, err := NewKMSClient(c); err == nil {
			t.Errorf("%s: NewKMSClient succeeded", name)
		}
	}
}

// memBlobs is a BlobStore in memory, as a host keeps the blob.
type memBlobs struct{ blob []byte }

func (m *memBlobs) Blob(context.Context) ([]byte, error) {
	if m.blob == nil {
		return nil, fmt.Errorf("no blob kept: %w", fs.ErrNotExist)
	}
	return bytes.Clone(m.blob), nil
}

func (m *memBlobs) PublishBlob(_ context.Context, blob []byte) (bool, error) {
	if m.blob != nil {
		return false, nil
	}
	m.blob = bytes.Clone(blob)
	return true, nil
}

func TestKMSBlobsKeptElsewhere(t *testing.T) {
	f := newKMSFixture(t)
	blobs := &memBlobs{}
	s := KMS{Client: f.kms, KeyID: testKeyID, Blobs: blobs, Attester: f.attester}
	first, err := s.DataKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if blobs.blob == nil {
		t.Fatal("the blob was not handed to its keeper")
	}
	if _, err := os.Stat(f.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the sealer wrote to local disk although its blob has a keeper (stat: %v)", err)
	}
	again, err := s.DataKey(t.Context())
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("later start: %v, same key %v", err, bytes.Equal(first, again))
	}
	blobs.blob = make([]byte, maxBlobSize+1)
	if _, err := s.DataKey(t.Context()); !errors.Is(err, ErrBlob) {
		t.Fatalf("an oversized blob from its keeper: %v, want ErrBlob", err)
	}
}
