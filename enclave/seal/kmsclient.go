package seal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMSClientConfig says how an enclave reaches AWS KMS through a host it does not trust.
type KMSClientConfig struct {
	// Region is the KMS key's region, e.g. eu-west-1.
	Region string
	// Endpoint is the https URL of KMS; empty means https://kms.<Region>.amazonaws.com.
	Endpoint string
	// Dial opens a byte stream that reaches the endpoint's port: on Nitro, a vsock connection
	// to the parent's vsock-proxy, which forwards it to the endpoint. It is used for every
	// connection, whatever address the HTTP client would have dialed: the enclave has no other
	// way out.
	Dial func(ctx context.Context) (net.Conn, error)
	// RootCAs are the authorities the endpoint's certificate must chain to; nil means the
	// system's (the image's CA bundle, which is measured with it).
	RootCAs *x509.CertPool
	// Credentials sign the requests. The host hands them over; they authorize calls, while the
	// key policy's attestation conditions are what keep the data key from anyone but this
	// enclave.
	Credentials aws.CredentialsProvider
	// Timeout bounds one KMS call (default 30 s).
	Timeout time.Duration
}

// NewKMSClient returns a KMS client whose TLS ends inside the enclave: the stream from Dial is
// only a carrier, and the client checks the endpoint's certificate against RootCAs and its
// name against the endpoint's host. Whoever forwards the stream can cut it (deny service) but
// can neither read the requests nor answer in KMS's place. It never uses an HTTP proxy from the
// environment.
func NewKMSClient(c KMSClientConfig) (*kms.Client, error) {
	if c.Region == "" {
		return nil, errors.New("seal: KMS client: the region is required (sealer.kms.region)")
	}
	if c.Dial == nil {
		return nil, errors.New("seal: KMS client: no way to reach KMS (sealer.kms.proxy)")
	}
	if c.Credentials == nil {
		return nil, errors.New("seal: KMS client: no credentials provider")
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "https://kms." + c.Region + ".amazonaws.com"
	}
	host, err := kmsEndpointHost(endpoint)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.Dial(ctx)
		},
		TLSClientConfig:       &tls.Config{RootCAs: c.RootCAs, ServerName: host, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          2,
		IdleConnTimeout:       30 * time.Second,
	}
	return kms.New(kms.Options{
		Region:       c.Region,
		BaseEndpoint: &endpoint,
		Credentials:  c.Credentials,
		HTTPClient:   &http.Client{Transport: transport, Timeout: timeout},
	}), nil
}

// kmsEndpointHost checks a KMS endpoint URL and returns its host name, which the certificate
// must name.
func kmsEndpointHost(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("seal: KMS endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("seal: KMS endpoint %q: want https://HOST[:PORT] and nothing else (TLS must end inside the enclave)", endpoint)
	}
	return u.Hostname(), nil
}
