package enclave

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/enclave/seal"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// FileConfig is an enclave's YAML configuration file.
type FileConfig struct {
	Version int              `yaml:"version"`
	Party   protocol.PartyID `yaml:"party"`
	// Listen is the host channel: loopback://127.0.0.1:PORT in development, vsock://ANY:PORT
	// (the CID is ignored when listening) in production.
	Listen  string       `yaml:"listen"`
	DataDir string       `yaml:"data_dir"`
	Roster  string       `yaml:"roster"`
	Sealer  SealerConfig `yaml:"sealer"`
	// Attestation is how this enclave proves itself and checks its peers. In a real enclave this
	// file is part of the measured image, so the policy in it can be trusted.
	Attestation attestation.Config `yaml:"attestation"`
	PreParams   PreParamsConfig    `yaml:"preparams"`
	Timeouts    struct {
		Prepare time.Duration `yaml:"prepare"`
		Run     time.Duration `yaml:"run"`
	} `yaml:"timeouts"`
}

// SealerConfig picks the sealer. Only the development key file exists so far.
type SealerConfig struct {
	KeyFile string `yaml:"key_file"`
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
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: required"))
	}
	if c.Roster == "" {
		errs = append(errs, errors.New("roster: required"))
	}
	if c.Sealer.KeyFile == "" {
		errs = append(errs, errors.New("sealer.key_file: required"))
	}
	if err := c.Attestation.Validate(); err != nil {
		errs = append(errs, err)
	}
	if w := c.PreParams.WantOrDefault(); w < 0 || w > 16 {
		errs = append(errs, fmt.Errorf("preparams.want: %d is not between 0 and 16", w))
	}
	return errors.Join(errs...)
}

// OpenStore unseals and opens the store the configuration names.
func (c *FileConfig) OpenStore(ctx context.Context) (store.Store, error) {
	key, err := (&seal.KeyFile{Path: c.Sealer.KeyFile}).DataKey(ctx)
	if err != nil {
		return nil, err
	}
	return store.OpenPebble(c.DataDir, key)
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
