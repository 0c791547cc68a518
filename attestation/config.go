package attestation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
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

// RootFileOrDefault returns RootFile, or DefaultNitroRootFile.
// LoadConfig reads an attestation configuration from its own YAML file (clients use one to
// check an enclave before trusting it with a key); unknown keys are errors.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("attestation config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("attestation config %s: %w", path, err)
	}
	return &c, nil
}

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
	return errors.Join(errs...)
}

// Policy decodes the configured policy.
func (p PolicyConfig) Policy() (Policy, error) {
	if len(p.Measurements) == 0 {
		return Policy{}, errors.New("attestation.policy.measurements: at least one expected measurement is required")
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
	return out, nil
}
