package token

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultConfigPath is used when MPCSIGNER_PKCS11_CONF is not set.
const DefaultConfigPath = "/etc/mpcsigner/pkcs11.yaml"

// ConfigEnv names the environment variable holding the configuration file's path.
const ConfigEnv = "MPCSIGNER_PKCS11_CONF"

// maxConfigSize bounds the configuration file.
const maxConfigSize = 64 << 10

// Config is the module's configuration file (YAML, or JSON, which YAML accepts; unknown keys
// are an error):
//
//	api: http://127.0.0.1:7001        # the host's native API (required)
//	token_file: /etc/mpcsigner/token  # bearer token for the API (required)
//	ca_file: /etc/mpcsigner/ca.pem    # optional, for https with a private CA
//	timeout: 30s                      # deadline of each API call (default 30s)
//	keygen_timeout: 5m                # deadline of C_GenerateKeyPair (a DKG; default 5m)
//	pin_file: /etc/mpcsigner/pin      # optional; see below
//	allow_key_deletion: false         # C_DestroyObject deletes keys only when true
//
// The user PIN: C_Login(CKU_USER) compares the PIN, in constant time, with the content of
// pin_file when it is set, otherwise with the API token itself (both trimmed of surrounding
// white space). The files are read at each login, so a rotated token needs no restart.
//
// allow_key_deletion is the confirmation key deletion needs. A PKCS#11 client deletes with one
// C_DestroyObject call and no prompt, and a threshold key deleted across the cluster is gone for
// good (no party keeps a share to restore it from), so a module that can sign cannot also delete
// unless its operator said so here. Without it C_DestroyObject answers CKR_ACTION_PROHIBITED
// and sends nothing to the host.
type Config struct {
	API              string   `yaml:"api"`
	TokenFile        string   `yaml:"token_file"`
	CAFile           string   `yaml:"ca_file"`
	Timeout          Duration `yaml:"timeout"`
	KeygenTimeout    Duration `yaml:"keygen_timeout"`
	PINFile          string   `yaml:"pin_file"`
	AllowKeyDeletion bool     `yaml:"allow_key_deletion"`
}

// Duration is a time.Duration written as "30s" in the configuration.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration %q must be positive", s)
	}
	*d = Duration(v)
	return nil
}

// Defaults of Config.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultKeygenTimeout = 5 * time.Minute
)

// ConfigPath returns the configuration file's path from the environment or the default.
func ConfigPath(getenv func(string) string) string {
	if p := getenv(ConfigEnv); p != "" {
		return p
	}
	return DefaultConfigPath
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the PKCS#11 configuration: %w", err)
	}
	return ParseConfig(raw)
}

// ParseConfig decodes a configuration strictly and fills in defaults.
func ParseConfig(raw []byte) (*Config, error) {
	if len(raw) > maxConfigSize {
		return nil, errors.New("configuration larger than 64 KiB")
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parsing the PKCS#11 configuration: %w", err)
	}
	if c.API == "" {
		return nil, errors.New("configuration: api is required")
	}
	if c.TokenFile == "" {
		return nil, errors.New("configuration: token_file is required")
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.KeygenTimeout == 0 {
		c.KeygenTimeout = Duration(DefaultKeygenTimeout)
	}
	return &c, nil
}
