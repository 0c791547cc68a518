package enclave

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/enclave/seal"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/hostsvc"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// FileConfig is an enclave's YAML configuration file.
type FileConfig struct {
	Version int              `yaml:"version"`
	Party   protocol.PartyID `yaml:"party"`
	// Listen is the host channel: loopback://127.0.0.1:PORT in development, vsock://ANY:PORT
	// (the CID is ignored when listening) in production.
	Listen string `yaml:"listen"`
	// DataDir holds the sealed store (store.kind pebble).
	DataDir string       `yaml:"data_dir"`
	Roster  string       `yaml:"roster"`
	Sealer  SealerConfig `yaml:"sealer"`
	// Store says where the sealed store lives (default: pebble in data_dir).
	Store StoreConfig `yaml:"store,omitempty"`
	// HostServices is where the enclave reaches its host for what it cannot do alone: keep its
	// sealed store and KMS blob (store.kind host) and get AWS credentials (sealer.kind kms).
	// vsock://3:PORT on Nitro (CID 3 is the parent instance), loopback://127.0.0.1:PORT in
	// development. The host can deny these services, not abuse them (see protocol/hostsvc).
	HostServices string `yaml:"host_services,omitempty"`
	// Attestation is how this enclave proves itself and checks its peers. In a real enclave this
	// file is part of the measured image, so the policy in it can be trusted.
	Attestation attestation.Config `yaml:"attestation"`
	PreParams   PreParamsConfig    `yaml:"preparams"`
	// Approvals names the operators (their certificates, inline: this file is measured) and
	// how many of them must approve a refresh, committee change, backup export or restore.
	Approvals approval.Config `yaml:"approvals,omitempty"`
	// Presignatures bounds the presignatures this enclave keeps parked in memory.
	Presignatures PresignConfig `yaml:"presignatures,omitempty"`
	Timeouts      struct {
		Prepare time.Duration `yaml:"prepare"`
		Run     time.Duration `yaml:"run"`
	} `yaml:"timeouts"`
}

// PresignConfig bounds the parked presignatures (see Config.PresignMaxParked and
// PresignMaxAge); zero values take the defaults.
type PresignConfig struct {
	MaxParked int           `yaml:"max_parked,omitempty"`
	MaxAge    time.Duration `yaml:"max_age,omitempty"`
}

// Sealer kinds (sealer.kind).
const (
	SealerKeyFile = "key_file" // the default: a data key in a local file (development)
	SealerKMS     = "kms"      // an AWS KMS data key released only to this attested enclave
	SealerSEVSNP  = "sevsnp"   // a data key wrapped under a key the SEV-SNP secure processor derives
)

// SealerConfig picks the sealer that provides the store's data key.
type SealerConfig struct {
	// Kind is key_file (the default when empty), kms or sevsnp.
	Kind string `yaml:"kind,omitempty"`
	// KeyFile is the key file (kind key_file).
	KeyFile string `yaml:"key_file"`
	// KMS configures kind kms.
	KMS *KMSSealerConfig `yaml:"kms,omitempty"`
	// SEVSNP configures kind sevsnp (sealsevsnp.go).
	SEVSNP *SEVSNPSealerConfig `yaml:"sevsnp,omitempty"`
}

// KMSSealerConfig configures the KMS sealer: which key, and how the enclave reaches KMS
// through its host without trusting it (TLS ends inside the enclave; the host only carries
// bytes, and hands over the instance role's credentials through host_services).
type KMSSealerConfig struct {
	// KeyID is the KMS key (id, ARN or alias) that makes and opens the data key.
	KeyID string `yaml:"key_id"`
	// Region is the key's region.
	Region string `yaml:"region"`
	// Endpoint overrides https://kms.<region>.amazonaws.com; it must be https.
	Endpoint string `yaml:"endpoint,omitempty"`
	// Proxy is where every connection to KMS goes: vsock://3:8000 (the parent's vsock-proxy,
	// which forwards to the endpoint), or a loopback stand-in in tests.
	Proxy string `yaml:"proxy"`
	// CAFile holds the PEM certificates the endpoint's must chain to; empty means the system's
	// (the CA bundle in the measured image).
	CAFile string `yaml:"ca_file,omitempty"`
	// BlobPath is where the encrypted data key is kept. Leave it empty with store.kind host:
	// the host keeps the blob with the store (a Nitro enclave has no disk).
	BlobPath string `yaml:"blob_path,omitempty"`
}

// Store kinds (store.kind).
const (
	StorePebble = "pebble" // the default: sealed pebble in data_dir
	StoreHost   = "host"   // sealed records kept by the host (for enclaves without a disk)
)

// StoreConfig picks where the sealed store lives.
type StoreConfig struct {
	// Kind is pebble (the default when empty) or host.
	Kind string `yaml:"kind,omitempty"`
	// CommitTimeout bounds how long a write waits for the host (kind host; default 30s).
	CommitTimeout time.Duration `yaml:"commit_timeout,omitempty"`
	// CompactAfter is how many bytes of records may follow the last snapshot before the store
	// compacts the host's log (kind host; default 4 MiB).
	CompactAfter int64 `yaml:"compact_after,omitempty"`
}

// PreParamsConfig sizes the pre-parameter pool.
type PreParamsConfig struct {
	// Want is how many sets to keep ready (default 2; 0 generates none).
	Want *int `yaml:"want"`
	// FixturesDir seeds an empty pool from this party's files in it, party-<N>.json and
	// party-<N>-*.json (parties must not share pre-parameters). Tests only: fixtures are
	// public, and keys made with them are not secret.
	FixturesDir string `yaml:"fixtures_dir"`
}

// WantOrDefault is Want, or 2 when it is not set.
func (p PreParamsConfig) WantOrDefault() int {
	if p.Want == nil {
		return 2
	}
	return *p.Want
}

// LoadFileConfig reads a config file strictly: unknown keys are errors.
func LoadFileConfig(path string) (*FileConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c FileConfig
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// Validate checks the configuration.
func (c *FileConfig) Validate() error {
	var errs []error
	if c.Version != 1 {
		errs = append(errs, fmt.Errorf("version: %d is not supported (want 1)", c.Version))
	}
	if c.Party == 0 {
		errs = append(errs, errors.New("party: required, 1 or more"))
	}
	if _, err := transport.ParseAddr(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %v", err))
	}
	if c.Roster == "" {
		errs = append(errs, errors.New("roster: required"))
	}
	errs = append(errs, c.validateStore()...)
	errs = append(errs, c.validateSealerKind()...)
	if err := c.Attestation.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Approvals.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("approvals: %w", err))
	}
	if w := c.PreParams.WantOrDefault(); w < 0 || w > 16 {
		errs = append(errs, fmt.Errorf("preparams.want: %d is not between 0 and 16", w))
	}
	return errors.Join(errs...)
}

// StoreDeps is what opening the store needs besides the configuration.
type StoreDeps struct {
	// Attester attests the KMS sealer's recipient key (sealer.kind kms).
	Attester attestation.Attester
	// Logger receives the host services' and the host-backed store's warnings.
	Logger *slog.Logger
}

// OpenStore unseals and opens the store the configuration names.
func (c *FileConfig) OpenStore(ctx context.Context, deps StoreDeps) (store.Store, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := c.hostServices(deps.Logger)
	if err != nil {
		return nil, err
	}
	st, err := c.openStore(ctx, svc, deps)
	if err != nil && svc != nil {
		_ = svc.Close()
	}
	return st, err
}

// openStore gets the data key from the configured sealer and opens the store with it.
func (c *FileConfig) openStore(ctx context.Context, svc *hostsvc.Client, deps StoreDeps) (store.Store, error) {
	sealer, err := c.sealer(svc, deps)
	if err != nil {
		return nil, err
	}
	key, err := sealer.DataKey(ctx)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if c.Store.Kind == StoreHost {
		return store.OpenHosted(ctx, hostLog{svc}, key, store.HostedOptions{
			CommitTimeout: c.Store.CommitTimeout, CompactAfter: c.Store.CompactAfter, Logger: deps.Logger,
		})
	}
	if svc != nil {
		// Only the sealer needed the host (for credentials); the store is local.
		_ = svc.Close()
	}
	return store.OpenPebble(c.DataDir, key)
}

// sealer builds the sealer the configuration names.
func (c *FileConfig) sealer(svc *hostsvc.Client, deps StoreDeps) (seal.Sealer, error) {
	switch c.Sealer.Kind {
	case "", SealerKeyFile:
		return seal.KeyFile{Path: c.Sealer.KeyFile}, nil
	case SealerKMS:
		return c.kmsSealer(svc, deps)
	case SealerSEVSNP:
		return c.sevsnpSealer()
	}
	return nil, fmt.Errorf("sealer.kind %q is not supported", c.Sealer.Kind)
}

// LoadFixtures reads the pre-parameter fixtures named by the configuration, if any.
func (c *FileConfig) LoadFixtures() ([][]byte, error) {
	if c.PreParams.FixturesDir == "" {
		return nil, nil
	}
	names, err := filepath.Glob(filepath.Join(c.PreParams.FixturesDir, fmt.Sprintf("party-%d-*.json", c.Party)))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.PreParams.FixturesDir, fmt.Sprintf("party-%d.json", c.Party))); err == nil {
		names = append(names, filepath.Join(c.PreParams.FixturesDir, fmt.Sprintf("party-%d.json", c.Party)))
	}
	sort.Strings(names)
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("preparams.fixtures_dir %s holds no party-%d.json", c.PreParams.FixturesDir, c.Party)
	}
	return out, nil
}
