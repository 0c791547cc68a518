package host

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// Config is a host's YAML configuration file. Secrets (tokens, TLS keys) are named by file,
// never written inline.
type Config struct {
	Version   int              `yaml:"version"`
	Party     protocol.PartyID `yaml:"party"`
	Threshold int              `yaml:"threshold"`
	// Enclave is this host's enclave: loopback://127.0.0.1:PORT in development, vsock://CID:PORT
	// in production.
	Enclave  string      `yaml:"enclave"`
	API      APIConfig   `yaml:"api"`
	Peer     PeerConfig  `yaml:"peer"`
	Metrics  Listen      `yaml:"metrics"`
	Parties  []PartyAddr `yaml:"parties"`
	Timeouts Timeouts    `yaml:"timeouts"`
	// Attestation is how this host checks the parties' attestations for /healthcheck.
	Attestation attestation.Config `yaml:"attestation"`
	// Web3Signer is the Ethereum validators' remote-signer API; off unless listen is set.
	Web3Signer Web3SignerConfig `yaml:"web3signer"`
	// Eth1 is the execution-layer front door (Web3Signer eth1, JSON-RPC, go-ethereum's
	// external-signer API); off unless listen is set.
	Eth1 Eth1Config `yaml:"eth1"`
	// EnclaveServices is what this host offers its enclave on a stream the enclave dials; off
	// unless listen is set.
	EnclaveServices EnclaveServicesConfig `yaml:"enclave_services,omitempty"`
	// Refresh schedules share refreshes from this host; off unless every is set. Set it on one
	// host of a cluster: each host with it refreshes on its own schedule.
	Refresh RefreshConfig `yaml:"refresh,omitempty"`
	// Presign configures the presignature pools (on by default, for ECDSA keys).
	Presign PresignConfig `yaml:"presign,omitempty"`
	// Batch configures the batching of concurrent FROST signings into shared sessions (on by
	// default).
	Batch BatchConfig `yaml:"batch,omitempty"`
}

// RefreshConfig schedules share refreshes: every Every, each key named in Keys (all keys when
// empty) gets fresh shares with the same public key. Under an operator approval policy the
// enclaves refuse a refresh no operator approved, and the host logs the refusal: run those by
// hand with key refresh --statement --approvals.
type RefreshConfig struct {
	Every time.Duration `yaml:"every,omitempty"`
	Keys  []string      `yaml:"keys,omitempty"` // ids or labels
}

// EnclaveServicesConfig configures what the host keeps and fetches for its enclave
// (protocol/hostsvc): its sealed store and KMS blob, and the instance's AWS credentials. The
// store is sealed by the enclave and the credentials only authorize calls the KMS key policy
// still checks, so the host can withhold these but not abuse them.
type EnclaveServicesConfig struct {
	// Listen is where the enclave dials: vsock://ANY:PORT on Nitro (the CID is ignored when
	// listening; the enclave dials CID 3, the parent), loopback://127.0.0.1:PORT in development.
	Listen string `yaml:"listen"`
	// StoreDir keeps the enclave's sealed log and KMS blob (for store.kind host); empty: none.
	StoreDir string `yaml:"store_dir,omitempty"`
	// Credentials is where the AWS credentials handed to the enclave come from: "imds" (the
	// instance role, through IMDSv2) or empty (none).
	Credentials string `yaml:"credentials,omitempty"`
	// IMDSEndpoint overrides http://169.254.169.254, the instance metadata service.
	IMDSEndpoint string `yaml:"imds_endpoint,omitempty"`
}

// Eth1Config configures the execution-layer front door.
type Eth1Config struct {
	Listen string `yaml:"listen"`
	// ChainID is the chain every transaction is signed for; requests naming another are refused.
	ChainID uint64 `yaml:"chain_id"`
	// Downstream is the Ethereum node's JSON-RPC URL: eth_sendTransaction fills nonces from it
	// and sends through it, and every method the signer does not serve is passed to it.
	Downstream string    `yaml:"downstream"`
	TLS        TLSConfig `yaml:"tls"`
}

// Web3SignerConfig configures the Web3Signer-compatible API.
type Web3SignerConfig struct {
	Listen string `yaml:"listen"`
	// Network is mainnet, sepolia, holesky, hoodi or the path of a consensus config file; it
	// supplies the genesis fork version (default mainnet).
	Network string `yaml:"network"`
	// KeymanagerTokenFile holds the Keymanager API's bearer token; without it that API is off.
	// The Keymanager API receives keystores with their passwords, so the host sees them: leave
	// it off where that is not acceptable and import with `mpcsigner key import`.
	KeymanagerTokenFile string    `yaml:"keymanager_token_file"`
	TLS                 TLSConfig `yaml:"tls"`
}

// APIConfig is the native API listener.
type APIConfig struct {
	Listen    string    `yaml:"listen"`
	TokenFile string    `yaml:"token_file"`
	TLS       TLSConfig `yaml:"tls"`
}

// TLSConfig turns on TLS for a listener when both files are set.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// PeerConfig is the listener peer hosts relay through, and the shared token that admits them.
type PeerConfig struct {
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"token_file"`
}

// Listen is a plain listener address.
type Listen struct {
	Listen string `yaml:"listen"`
}

// PartyAddr is where a party's host takes peer connections.
type PartyAddr struct {
	ID   protocol.PartyID `yaml:"id"`
	Peer string           `yaml:"peer"`
}

// Timeouts bound what the host waits for. A request never waits longer than these.
type Timeouts struct {
	Sign   time.Duration `yaml:"sign"`   // one signing, all attempts (default 20s)
	Keygen time.Duration `yaml:"keygen"` // one key generation (default 3m)
	Call   time.Duration `yaml:"call"`   // one prepare/status call to a party (default 5s)
	// Reachable is how recent a party's last answer must be for it to count as reachable
	// (default 3s).
	Reachable time.Duration `yaml:"reachable"`
}

// LoadConfig reads a config file strictly: unknown keys are errors.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) defaults() {
	if c.Timeouts.Sign == 0 {
		c.Timeouts.Sign = 20 * time.Second
	}
	if c.Timeouts.Keygen == 0 {
		c.Timeouts.Keygen = 3 * time.Minute
	}
	if c.Timeouts.Call == 0 {
		c.Timeouts.Call = 5 * time.Second
	}
	if c.Web3Signer.Network == "" {
		c.Web3Signer.Network = "mainnet"
	}
	if c.Timeouts.Reachable == 0 {
		c.Timeouts.Reachable = 3 * time.Second
	}
}

// Validate checks that the configuration describes a usable host.
func (c *Config) Validate() error {
	var errs []error
	if e := c.Refresh.Every; e < 0 {
		errs = append(errs, fmt.Errorf("refresh.every: %s is negative", e))
	}
	if c.Version != 1 {
		errs = append(errs, fmt.Errorf("version: %d is not supported (want 1)", c.Version))
	}
	n := len(c.Parties)
	if n < 2 {
		errs = append(errs, fmt.Errorf("parties: %d listed, need at least 2", n))
	}
	if c.Threshold < 2 || c.Threshold > n {
		errs = append(errs, fmt.Errorf("threshold: %d is not between 2 and the %d parties", c.Threshold, n))
	}
	if !c.Party.Valid(n) {
		errs = append(errs, fmt.Errorf("party: %d is not one of the %d parties", c.Party, n))
	}
	for i, p := range c.Parties {
		if p.ID != protocol.PartyID(i+1) {
			errs = append(errs, fmt.Errorf("parties: must be listed as 1..%d in order; entry %d is %d", n, i+1, p.ID))
		}
		if _, _, err := net.SplitHostPort(p.Peer); err != nil {
			errs = append(errs, fmt.Errorf("parties[%d].peer: %v", i, err))
		}
	}
	if _, err := transport.ParseAddr(c.Enclave); err != nil {
		errs = append(errs, fmt.Errorf("enclave: %v", err))
	}
	for name, addr := range map[string]string{"api.listen": c.API.Listen, "peer.listen": c.Peer.Listen, "metrics.listen": c.Metrics.Listen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
		}
	}
	if c.API.TokenFile == "" {
		errs = append(errs, errors.New("api.token_file: required (the API always needs a credential)"))
	}
	if c.Peer.TokenFile == "" {
		errs = append(errs, errors.New("peer.token_file: required"))
	}
	if err := c.Attestation.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Web3Signer.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Web3Signer.Listen); err != nil {
			errs = append(errs, fmt.Errorf("web3signer.listen: %v", err))
		}
	}
	if c.Eth1.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Eth1.Listen); err != nil {
			errs = append(errs, fmt.Errorf("eth1.listen: %v", err))
		}
		if c.Eth1.ChainID == 0 {
			errs = append(errs, errors.New("eth1.chain_id: required when eth1.listen is set"))
		}
	}
	if c.Eth1.Downstream != "" {
		if u, err := url.Parse(c.Eth1.Downstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("eth1.downstream: %q is not an http(s) URL", c.Eth1.Downstream))
		}
	}
	if (c.Eth1.TLS.CertFile == "") != (c.Eth1.TLS.KeyFile == "") {
		errs = append(errs, errors.New("eth1.tls: set both cert_file and key_file, or neither"))
	}
	if (c.Web3Signer.TLS.CertFile == "") != (c.Web3Signer.TLS.KeyFile == "") {
		errs = append(errs, errors.New("web3signer.tls: set both cert_file and key_file, or neither"))
	}
	if (c.API.TLS.CertFile == "") != (c.API.TLS.KeyFile == "") {
		errs = append(errs, errors.New("api.tls: set both cert_file and key_file, or neither"))
	}
	errs = append(errs, c.EnclaveServices.validate()...)
	errs = append(errs, c.Presign.validate()...)
	return errors.Join(errs...)
}
