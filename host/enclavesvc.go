package host

// The services this host offers its own enclave on a stream the enclave dials
// (protocol/hostsvc): keeping its sealed store and KMS blob on disk, and handing over the
// instance role's AWS credentials. Everything kept is sealed by the enclave, and the
// credentials only authorize KMS calls whose result the key policy releases to the attested
// enclave alone; so this host can withhold the services (deny service) but not abuse them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/hostsvc"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// Credential sources (enclave_services.credentials).
const credentialsIMDS = "imds"

// defaultIMDSEndpoint is the instance metadata service's address on every EC2 instance.
const defaultIMDSEndpoint = "http://169.254.169.254"

// validate checks enclave_services.
func (c EnclaveServicesConfig) validate() []error {
	if c.Listen == "" {
		if c != (EnclaveServicesConfig{}) {
			return []error{errors.New("enclave_services: set listen, or leave the section out")}
		}
		return nil
	}
	var errs []error
	if _, err := transport.ParseAddr(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("enclave_services.listen: %v", err))
	}
	switch c.Credentials {
	case "", credentialsIMDS:
	default:
		errs = append(errs, fmt.Errorf("enclave_services.credentials: %q is not %q or empty", c.Credentials, credentialsIMDS))
	}
	if c.IMDSEndpoint != "" {
		if c.Credentials != credentialsIMDS {
			errs = append(errs, errors.New("enclave_services.imds_endpoint: set only with credentials: imds"))
		}
		if u, err := url.Parse(c.IMDSEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("enclave_services.imds_endpoint: %q is not an http(s) URL without a path", c.IMDSEndpoint))
		}
	}
	if c.StoreDir == "" && c.Credentials == "" {
		errs = append(errs, errors.New("enclave_services: offers nothing; set store_dir, credentials, or both"))
	}
	return errs
}

// listenEnclaveServices opens the enclave services listener, if configured.
func (h *Host) listenEnclaveServices() (net.Listener, error) {
	c := h.cfg.EnclaveServices
	if c.Listen == "" {
		return nil, nil
	}
	addr, err := transport.ParseAddr(c.Listen)
	if err != nil {
		return nil, err
	}
	tr, err := transport.For(addr, h.opts.Mem)
	if err != nil {
		return nil, err
	}
	l, err := tr.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("enclave services listener %s: %w", c.Listen, err)
	}
	return l, nil
}

// serveEnclaveServices serves the enclave services on l until ctx ends.
func (h *Host) serveEnclaveServices(ctx context.Context, l net.Listener) error {
	c := h.cfg.EnclaveServices
	srv := &hostsvc.Server{Logger: h.log.With("component", "enclave_services")}
	if c.StoreDir != "" {
		fl, err := hostsvc.OpenFileLog(c.StoreDir, srv.Logger)
		if err != nil {
			_ = l.Close()
			return fmt.Errorf("enclave_services.store_dir: %w", err)
		}
		defer fl.Close()
		srv.Log = fl
	}
	if c.Credentials == credentialsIMDS {
		srv.Credentials = newIMDSCredentials(c.IMDSEndpoint)
	}
	h.log.Info("enclave services serving", "addr", l.Addr().String(), "store_dir", c.StoreDir, "credentials", c.Credentials)
	return srv.Serve(ctx, l)
}

// imdsCredentials fetches the instance role's temporary credentials from the instance
// metadata service, IMDSv2 only (a session token first, so a request forwarded from elsewhere
// cannot fetch them), and keeps them until five minutes before they expire.
type imdsCredentials struct {
	endpoint string
	client   *http.Client
	now      func() time.Time

	mu     sync.Mutex
	cached hostsvc.Credentials
}

func newIMDSCredentials(endpoint string) *imdsCredentials {
	if endpoint == "" {
		endpoint = defaultIMDSEndpoint
	}
	return &imdsCredentials{
		endpoint: strings.TrimSuffix(endpoint, "/"),
		// No proxy from the environment: the metadata service is link-local.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second},
		now:    time.Now,
	}
}

// Limits on what the metadata service sends.
const (
	maxIMDSToken    = 1024
	maxIMDSRoleList = 1024
	maxIMDSDocument = 16 << 10
	imdsTokenTTL    = "21600"
	imdsRefresh     = 5 * time.Minute
)

// Credentials implements hostsvc.CredentialSource.
func (c *imdsCredentials) Credentials(ctx context.Context) (hostsvc.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached.AccessKeyID != "" && c.now().Add(imdsRefresh).Before(c.cached.Expiration) {
		return c.cached, nil
	}
	creds, err := c.fetch(ctx)
	if err != nil {
		return hostsvc.Credentials{}, err
	}
	c.cached = creds
	return creds, nil
}

// fetch runs the IMDSv2 exchange: token, role name, the role's credentials.
func (c *imdsCredentials) fetch(ctx context.Context) (hostsvc.Credentials, error) {
	token, err := c.get(ctx, http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": imdsTokenTTL}, maxIMDSToken)
	if err != nil {
		return hostsvc.Credentials{}, err
	}
	auth := map[string]string{"X-aws-ec2-metadata-token": string(token)}
	roles, err := c.get(ctx, http.MethodGet, "/latest/meta-data/iam/security-credentials/", auth, maxIMDSRoleList)
	if err != nil {
		return hostsvc.Credentials{}, err
	}
	role, err := parseIMDSRole(roles)
	if err != nil {
		return hostsvc.Credentials{}, err
	}
	doc, err := c.get(ctx, http.MethodGet, "/latest/meta-data/iam/security-credentials/"+role, auth, maxIMDSDocument)
	if err != nil {
		return hostsvc.Credentials{}, err
	}
	return parseIMDSCredentials(doc)
}

// get makes one metadata request and returns its body, refusing anything but 200 and bodies
// over limit.
func (c *imdsCredentials) get(ctx context.Context, method, path string, headers map[string]string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("instance metadata %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("instance metadata %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("instance metadata %s: HTTP %d (IMDSv2 off, or no instance role?)", path, resp.StatusCode)
	}
	if int64(len(body)) > limit || len(body) == 0 {
		return nil, fmt.Errorf("instance metadata %s: a %d-byte answer, want 1 to %d", path, len(body), limit)
	}
	return body, nil
}

// errIMDS marks an answer from the metadata service that is not what it documents.
var errIMDS = errors.New("unexpected instance metadata")

// parseIMDSRole takes the instance profile's one role name from the security-credentials
// listing.
func parseIMDSRole(b []byte) (string, error) {
	role := strings.TrimSuffix(string(b), "\n")
	if role == "" || len(role) > 64 {
		return "", fmt.Errorf("instance role name of %d characters, want 1 to 64: %w", len(role), errIMDS)
	}
	for i := 0; i < len(role); i++ {
		// IAM role names: letters, digits and +=,.@_-; nothing that could change the path.
		if c := role[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+=,.@_-", c) >= 0) {
			return "", fmt.Errorf("instance role listing has byte %#02x at offset %d (one role name expected): %w", c, i, errIMDS)
		}
	}
	return role, nil
}

// imdsDocument is the metadata service's credentials document. Members it does not list are
// ignored: AWS documents the document as one that may gain members, and none of them could
// change what the enclave is given.
type imdsDocument struct {
	Code            string
	Type            string
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      time.Time
}

// parseIMDSCredentials decodes a credentials document: exactly one JSON object, Code Success,
// Type AWS-HMAC, and credentials that hostsvc accepts.
func parseIMDSCredentials(b []byte) (hostsvc.Credentials, error) {
	if len(b) > maxIMDSDocument {
		return hostsvc.Credentials{}, fmt.Errorf("credentials document of %d bytes, over %d: %w", len(b), maxIMDSDocument, errIMDS)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var d imdsDocument
	if err := dec.Decode(&d); err != nil {
		return hostsvc.Credentials{}, fmt.Errorf("credentials document: %v: %w", err, errIMDS)
	}
	if _, err := dec.Token(); err != io.EOF {
		return hostsvc.Credentials{}, fmt.Errorf("credentials document: data after the object: %w", errIMDS)
	}
	if d.Code != "Success" || d.Type != "AWS-HMAC" {
		return hostsvc.Credentials{}, fmt.Errorf("credentials document: Code %q, Type %q; want Success and AWS-HMAC: %w", d.Code, d.Type, errIMDS)
	}
	if d.Expiration.IsZero() {
		return hostsvc.Credentials{}, fmt.Errorf("credentials document without an Expiration: %w", errIMDS)
	}
	creds := hostsvc.Credentials{AccessKeyID: d.AccessKeyID, SecretAccessKey: d.SecretAccessKey, SessionToken: d.Token, Expiration: d.Expiration}
	if err := creds.Validate(); err != nil {
		return hostsvc.Credentials{}, fmt.Errorf("credentials document: %w (%w)", err, errIMDS)
	}
	return creds, nil
}
