package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// maxFakeKMSRequest bounds a request body the fake reads: an attestation document (at most
// 32 KiB) in base64, a blob and a few names.
const maxFakeKMSRequest = 64 << 10

// FakeKMSRequest is what the fake saw of one HTTP request.
type FakeKMSRequest struct {
	// Target is the X-Amz-Target header, e.g. TrentService.Decrypt.
	Target string
	// AccessKeyID is the access key id in the SigV4 Authorization header.
	AccessKeyID string
	// SessionToken is the X-Amz-Security-Token header.
	SessionToken string
}

// ServeHTTP answers AWS KMS's JSON 1.1 protocol for GenerateDataKey and Decrypt, so that a real
// kms.Client can be tested against the fake (tests serve it behind a TLS listener). Like KMS it
// refuses a request without SigV4 credentials; it records each request's access key id and
// session token (Requests), but does not check the signature, since it knows no secret.
//
// Errors travel as KMS sends them: status 400 and {"__type": code, "message": ...}. The code is
// the error's own (ErrorCode) when it has one, else the "XxxException" its message names.
func (f *FakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seen, err := f.checkHTTP(r)
	if err != nil {
		writeFakeKMSError(w, err)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, seen)
	f.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFakeKMSRequest+1))
	if err == nil && len(body) > maxFakeKMSRequest {
		err = fmt.Errorf("fake KMS: ValidationException: request body over %d bytes", maxFakeKMSRequest)
	}
	var out any
	if err == nil {
		out, err = f.dispatchHTTP(r, seen.Target, body)
	}
	if err != nil {
		writeFakeKMSError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// Requests returns what the fake saw of each HTTP request it accepted.
func (f *FakeKMS) Requests() []FakeKMSRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeKMSRequest(nil), f.requests...)
}

// sigV4Credential finds the access key id in a SigV4 Authorization header.
var sigV4Credential = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})/`)

// checkHTTP checks the request's form and signature header.
func (f *FakeKMS) checkHTTP(r *http.Request) (FakeKMSRequest, error) {
	seen := FakeKMSRequest{Target: r.Header.Get("X-Amz-Target"), SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		return seen, fmt.Errorf("fake KMS: UnknownOperationException: %s %s with content type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	m := sigV4Credential.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return seen, errors.New("fake KMS: MissingAuthenticationTokenException: the request is not signed with SigV4")
	}
	seen.AccessKeyID = m[1]
	return seen, nil
}

// fakeKMSOutput is the JSON of a GenerateDataKey or Decrypt response.
type fakeKMSOutput struct {
	KeyId                  string `json:",omitempty"`
	CiphertextBlob         []byte `json:",omitempty"`
	Plaintext              []byte `json:",omitempty"`
	CiphertextForRecipient []byte `json:",omitempty"`
}

// dispatchHTTP runs the operation target names on the JSON body.
func (f *FakeKMS) dispatchHTTP(r *http.Request, target string, body []byte) (any, error) {
	switch target {
	case "TrentService.GenerateDataKey":
		var in kms.GenerateDataKeyInput
		if err := decodeFakeKMSInput(body, &in); err != nil {
			return nil, err
		}
		out, err := f.GenerateDataKey(r.Context(), &in)
		if err != nil {
			return nil, err
		}
		return fakeKMSOutput{KeyId: f.KeyID, CiphertextBlob: out.CiphertextBlob, Plaintext: out.Plaintext, CiphertextForRecipient: out.CiphertextForRecipient}, nil
	case "TrentService.Decrypt":
		var in kms.DecryptInput
		if err := decodeFakeKMSInput(body, &in); err != nil {
			return nil, err
		}
		out, err := f.Decrypt(r.Context(), &in)
		if err != nil {
			return nil, err
		}
		return fakeKMSOutput{KeyId: f.KeyID, Plaintext: out.Plaintext, CiphertextForRecipient: out.CiphertextForRecipient}, nil
	}
	return nil, fmt.Errorf("fake KMS: UnknownOperationException: X-Amz-Target %q is not GenerateDataKey or Decrypt", target)
}

// decodeFakeKMSInput decodes a request body strictly: unknown members and trailing data are
// refused.
func decodeFakeKMSInput(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("fake KMS: SerializationException: %v", err)
	}
	if dec.More() {
		return errors.New("fake KMS: SerializationException: data after the request object")
	}
	return nil
}

// fakeKMSErrorCode names err as KMS would.
var fakeKMSErrorCode = regexp.MustCompile(`fake KMS: ([A-Za-z]+Exception):`)

// writeFakeKMSError writes err as a KMS error response.
func writeFakeKMSError(w http.ResponseWriter, err error) {
	code := "KMSInternalException"
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		code = coded.ErrorCode()
	} else if m := fakeKMSErrorCode.FindStringSubmatch(err.Error()); m != nil {
		code = m[1]
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": strings.ToValidUTF8(err.Error(), "")})
}

// FakeKMSServer serves a FakeKMS over TLS on a loopback port, with a certificate for a KMS
// host name issued by a CA made for it: tests configure the enclave to trust that CA, and
// reach the server through whatever carries their connections. It must never serve a real
// deployment.
type FakeKMSServer struct {
	// Addr is the loopback address (127.0.0.1:PORT) it listens on.
	Addr string
	// CAPEM is the certificate of the CA that issued its certificate.
	CAPEM []byte
	srv   *http.Server
	ln    net.Listener
}

// StartFakeKMSServer serves f on 127.0.0.1 with a certificate for host.
func StartFakeKMSServer(f *FakeKMS, host string) (*FakeKMSServer, error) {
	caPEM, cert, err := fakeKMSCertificate(host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &FakeKMSServer{Addr: ln.Addr().String(), CAPEM: caPEM, ln: ln,
		srv: &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}}
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// Close stops the server.
func (s *FakeKMSServer) Close() error { return s.srv.Close() }

// fakeKMSCertificate makes a CA and a certificate for host signed by it.
func fakeKMSCertificate(host string) (caPEM []byte, cert tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mpcsigner fake KMS test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caTmpl, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, nil
}
