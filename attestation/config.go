package attestation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the `attestation:` section shared by enclave and host configuration files. It only
// names things; cmd/mpcsigner turns it into an Attester and a Verifier.
type Config struct {
	// Kind is nitro, sevsnp or sim.
	Kind   string       `yaml:"kind"`
	Policy PolicyConfig `yaml:"policy"`
	Sim    SimConfig    `yaml:"sim"`
	Nitro  NitroConfig  `yaml:"nitro"`
}

// PolicyConfig is a Policy as configuration writes it.
type PolicyConfig struct {
	// Measurements maps register index (PCR number for nitro and sim; 0 for the SEV-SNP launch
	// measurement) to its expected value in hex.
	Measurements map[int]string `yaml:"measurements"`
	MaxAge       time.Duration  `yaml:"max_age"`
	// SEVSNP is what an SEV-SNP report must show besides its measurement; only with kind sevsnp.
	SEVSNP *SEVSNPPolicyConfig `yaml:"sevsnp"`
}

// SimConfig configures the simulated attester (development and tests only).
type SimConfig struct {
	// CADir holds the simulated CA: root.pem for verifiers, and intermediate.pem and
	// intermediate.key for attesters.
	CADir string `yaml:"ca_dir"`
	// MeasureFile, when set, is measured instead of the running executable (tests use it to
	// make an enclave whose measurement is not in the policy).
	MeasureFile string `yaml:"measure_file"`
}

// NitroConfig configures Nitro verification.
type NitroConfig struct {
	// RootFile is the AWS Nitro Enclaves root certificate (PEM), as downloaded from AWS; its
	// fingerprint is checked against the one AWS publishes. Default DefaultNitroRootFile.
	RootFile string `yaml:"root_file"`
}

// DefaultNitroRootFile is where the AWS Nitro root is looked for when root_file is not set.
const DefaultNitroRootFile = "/etc/mpcsigner/aws-nitro-root-g1.pem"

// maxConfigSize bounds an attestation configuration file; real ones are well under 4 KiB.
const maxConfigSize = 1 << 20

// LoadConfig reads an attestation configuration from its own YAML file (clients use one to
// check an enclave before trusting it with a key); unknown keys are errors.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("attestation config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and validates an attestation configuration strictly: at most 1 MiB,
// unknown keys and trailing documents are errors.
func ParseConfig(raw []byte) (*Config, error) {
	if len(raw) > maxConfigSize {
		return nil, fmt.Errorf("%d bytes, more than the %d an attestation configuration may have", len(raw), maxConfigSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: an attestation configuration is one")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// RootFileOrDefault returns RootFile, or DefaultNitroRootFile.
func (n NitroConfig) RootFileOrDefault() string {
	if n.RootFile == "" {
		return DefaultNitroRootFile
	}
	return n.RootFile
}

// Validate checks the section.
func (c *Config) Validate() error {
	var errs []error
	switch c.Kind {
	case KindNitro, KindSEVSNP:
	case KindSim:
		if c.Sim.CADir == "" {
			errs = append(errs, errors.New("attestation.sim.ca_dir: required with kind sim"))
		}
	case "":
		errs = append(errs, errors.New("attestation.kind: required (nitro, sevsnp or sim)"))
	default:
		errs = append(errs, fmt.Errorf("attestation.kind: %q is not nitro, sevsnp or sim", c.Kind))
	}
	if _, err := c.Policy.Policy(); err != nil {
		errs = append(errs, err)
	}
	if c.Policy.SEVSNP != nil && c.Kind != KindSEVSNP {
		errs = append(errs, fmt.Errorf("attestation.policy.sevsnp: set, but attestation.kind is %q: it applies only to kind %s", c.Kind, KindSEVSNP))
	}
	return errors.Join(errs...)
}

// Policy decodes the configured policy.
func (p PolicyConfig) Policy() (Policy, error) {
	if len(p.Measurements) == 0 && !p.SEVSNP.pinsKeys() {
		return Policy{}, errors.New("attestation.policy.measurements: at least one expected measurement is required " +
			"(or, for kind sevsnp, an ID or author key digest in attestation.policy.sevsnp)")
	}
	out := Policy{Measurements: map[int][]byte{}, MaxAge: p.MaxAge}
	for i, h := range p.Measurements {
		b, err := hex.DecodeString(h)
		if err != nil || (len(b) != 32 && len(b) != 48 && len(b) != 64) {
			return Policy{}, fmt.Errorf("attestation.policy.measurements[%d]: want 32, 48 or 64 bytes of hex", i)
		}
		if i < 0 || i > 31 {
			return Policy{}, fmt.Errorf("attestation.policy.measurements: register %d is not 0..31", i)
		}
		out.Measurements[i] = b
	}
	if out.MaxAge == 0 {
		out.MaxAge = 10 * time.Minute
	}
	if p.SEVSNP != nil {
		snp, err := p.SEVSNP.Policy()
		if err != nil {
			return Policy{}, err
		}
		out.SEVSNP = snp
	}
	return out, nil
}
