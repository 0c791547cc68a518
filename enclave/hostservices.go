package enclave

// What the enclave gets from its host before it can serve (see protocol/hostsvc): its sealed
// store and KMS blob (store.kind host), and AWS credentials (sealer.kind kms). The host can
// withhold all of it, which stops the enclave; it cannot read or forge any of it.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mpcsigner/mpcsigner/enclave/seal"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol/hostsvc"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// maxCAFile bounds the KMS CA file: a bundle of a few hundred certificates.
const maxCAFile = 1 << 20

// validateStore checks the store section and what it needs elsewhere.
func (c *FileConfig) validateStore() []error {
	var errs []error
	switch c.Store.Kind {
	case "", StorePebble:
		if c.DataDir == "" {
			errs = append(errs, errors.New("data_dir: required for store.kind pebble"))
		}
	case StoreHost:
		if c.HostServices == "" {
			errs = append(errs, errors.New("host_services: required for store.kind host (the host keeps the store)"))
		}
	default:
		errs = append(errs, fmt.Errorf("store.kind: %q is not %s or %s", c.Store.Kind, StorePebble, StoreHost))
	}
	if c.Store.Kind != StoreHost && (c.Store.CommitTimeout != 0 || c.Store.CompactAfter != 0) {
		errs = append(errs, errors.New("store.commit_timeout and store.compact_after apply to store.kind host only"))
	}
	if c.Store.CommitTimeout < 0 || c.Store.CompactAfter < 0 {
		errs = append(errs, errors.New("store.commit_timeout and store.compact_after must not be negative"))
	}
	if c.HostServices != "" {
		if _, err := transport.ParseAddr(c.HostServices); err != nil {
			errs = append(errs, fmt.Errorf("host_services: %v", err))
		}
	}
	return errs
}

// validateSealer checks the sealer section for kinds key_file and kms (validateSealerKind
// dispatches kind sevsnp elsewhere).
func (c *FileConfig) validateSealer() []error {
	switch c.Sealer.Kind {
	case "", SealerKeyFile:
		var errs []error
		if c.Sealer.KeyFile == "" {
			errs = append(errs, errors.New("sealer.key_file: required"))
		}
		if c.Sealer.KMS != nil {
			errs = append(errs, errors.New("sealer.kms: set sealer.kind: kms to use it"))
		}
		return errs
	case SealerKMS:
		return c.validateKMS()
	}
	return []error{fmt.Errorf("sealer.kind: %q is not %s, %s or %s", c.Sealer.Kind, SealerKeyFile, SealerKMS, SealerSEVSNP)}
}

// validateKMS checks sealer.kms.
func (c *FileConfig) validateKMS() []error {
	k := c.Sealer.KMS
	if k == nil {
		return []error{errors.New("sealer.kms: required for sealer.kind kms (key_id, region, proxy)")}
	}
	var errs []error
	if c.Sealer.KeyFile != "" {
		errs = append(errs, errors.New("sealer.key_file: not used with sealer.kind kms; remove it"))
	}
	if k.KeyID == "" {
		errs = append(errs, errors.New("sealer.kms.key_id: required"))
	}
	if k.Region == "" {
		errs = append(errs, errors.New("sealer.kms.region: required"))
	}
	if _, err := transport.ParseAddr(k.Proxy); err != nil {
		errs = append(errs, fmt.Errorf("sealer.kms.proxy: %v", err))
	}
	if k.Endpoint != "" {
		if u, err := url.Parse(k.Endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("sealer.kms.endpoint: %q is not an https URL", k.Endpoint))
		}
	}
	if c.HostServices == "" {
		errs = append(errs, errors.New("host_services: required for sealer.kind kms (the host hands over AWS credentials)"))
	}
	switch {
	case k.BlobPath == "" && c.Store.Kind != StoreHost:
		errs = append(errs, errors.New("sealer.kms.blob_path: required unless store.kind is host (which keeps the blob with the store)"))
	case k.BlobPath != "" && c.Store.Kind == StoreHost:
		errs = append(errs, errors.New("sealer.kms.blob_path: leave it empty with store.kind host: the host keeps the blob (a file here may not survive a restart)"))
	}
	return errs
}

// hostServices returns a client for host_services, or nil when none is configured.
func (c *FileConfig) hostServices(log *slog.Logger) (*hostsvc.Client, error) {
	if c.HostServices == "" {
		return nil, nil
	}
	addr, err := transport.ParseAddr(c.HostServices)
	if err != nil {
		return nil, fmt.Errorf("host_services: %w", err)
	}
	return hostsvc.NewClient(addr, nil, log)
}

// kmsSealer builds the KMS sealer: a KMS client that dials every connection through the
// proxy, does TLS itself and signs with credentials from the host.
func (c *FileConfig) kmsSealer(svc *hostsvc.Client, deps StoreDeps) (seal.Sealer, error) {
	k := c.Sealer.KMS
	if k == nil || svc == nil {
		return nil, errors.New("sealer.kind kms needs sealer.kms and host_services")
	}
	if deps.Attester == nil {
		return nil, errors.New("sealer.kind kms needs an attester for its KMS recipient")
	}
	proxy, err := transport.ParseAddr(k.Proxy)
	if err != nil {
		return nil, fmt.Errorf("sealer.kms.proxy: %w", err)
	}
	tr, err := transport.For(proxy, nil)
	if err != nil {
		return nil, fmt.Errorf("sealer.kms.proxy: %w", err)
	}
	roots, err := loadCAFile(k.CAFile)
	if err != nil {
		return nil, err
	}
	client, err := seal.NewKMSClient(seal.KMSClientConfig{
		Region: k.Region, Endpoint: k.Endpoint, RootCAs: roots,
		Dial:        func(ctx context.Context) (net.Conn, error) { return tr.Dial(ctx, proxy) },
		Credentials: aws.NewCredentialsCache(hostCredentials{svc}),
	})
	if err != nil {
		return nil, err
	}
	s := seal.KMS{Client: client, KeyID: k.KeyID, BlobPath: k.BlobPath, Attester: deps.Attester}
	if k.BlobPath == "" {
		s.Blobs = svc
	}
	return s, nil
}

// loadCAFile reads the PEM certificates in path; an empty path means the system's roots (nil).
func loadCAFile(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sealer.kms.ca_file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("sealer.kms.ca_file: %w", err)
	}
	if len(raw) > maxCAFile {
		return nil, fmt.Errorf("sealer.kms.ca_file: %s is over %d bytes: not a CA bundle", path, maxCAFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("sealer.kms.ca_file: %s holds no PEM certificate", path)
	}
	return pool, nil
}

// hostCredentials fetches AWS credentials from the host. They only authorize KMS calls: the
// key policy releases the data key only to this enclave's attested recipient key, so the host
// (which holds the same credentials) gains nothing by lying, beyond denying service.
type hostCredentials struct{ c *hostsvc.Client }

func (h hostCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cr, err := h.c.Credentials(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("AWS credentials from the host: %w", err)
	}
	return aws.Credentials{
		AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken,
		Source: "mpcsigner host", CanExpire: !cr.Expiration.IsZero(), Expires: cr.Expiration,
	}, nil
}

// hostLog is a Hosted store's sealed log kept by the host.
type hostLog struct{ c *hostsvc.Client }

var _ store.SealedLog = hostLog{}

// Load reads the host's whole log image and parses it strictly.
func (h hostLog) Load(ctx context.Context) ([]store.LogEntry, error) {
	image, err := h.c.ReadLog(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := hostsvc.ParseImage(image)
	if err != nil {
		return nil, fmt.Errorf("the host's log image: %w: %w", err, store.ErrLogRefused)
	}
	out := make([]store.LogEntry, len(entries))
	for i, e := range entries {
		out[i] = store.LogEntry{Snapshot: e.Kind == hostsvc.EntrySnapshot, Seq: e.Seq, Sealed: e.Body}
	}
	return out, nil
}

func (h hostLog) Append(ctx context.Context, seq uint64, sealed []byte) error {
	return h.c.Append(ctx, seq, sealed)
}

func (h hostLog) Compact(ctx context.Context, seq uint64, sealed []byte) error {
	return h.c.Compact(ctx, seq, sealed)
}

func (h hostLog) Close() error { return h.c.Close() }
