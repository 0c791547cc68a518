package eth2

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/attestantio/go-eth2-client/spec/phase0"
	"gopkg.in/yaml.v3"
)

// maxConfigBytes bounds a network configuration file; the real ones are about 6 KiB.
const maxConfigBytes = 1 << 20

// Network is what signing needs to know about a chain beyond what each request carries.
type Network struct {
	Name string
	// GenesisForkVersion is the network's GENESIS_FORK_VERSION, which VALIDATOR_REGISTRATION
	// domains use.
	GenesisForkVersion phase0.Version
	// VoluntaryExitFork, when set, pins the fork version of voluntary exits from Deneb on
	// (EIP-7044). Nil means the network has no Deneb epoch known to this signer, and exits are
	// signed with the fork in the request's fork_info.
	VoluntaryExitFork *VoluntaryExitFork
}

// VoluntaryExitFork is the EIP-7044 rule of a network: requests whose fork_info.fork.epoch is
// at or after DenebForkEpoch sign exits with CapellaForkVersion.
type VoluntaryExitFork struct {
	DenebForkEpoch     phase0.Epoch
	CapellaForkVersion phase0.Version
}

// builtinNetworks are the public networks. Their values are GENESIS_FORK_VERSION,
// DENEB_FORK_EPOCH and CAPELLA_FORK_VERSION from each network's configuration:
//   - mainnet: ethereum/consensus-specs configs/mainnet.yaml
//   - sepolia: eth-clients/sepolia metadata/config.yaml
//   - holesky: eth-clients/holesky metadata/config.yaml
//   - hoodi:   eth-clients/hoodi metadata/config.yaml
//
// (Teku carries the same four files, which Web3Signer loads with --network.)
var builtinNetworks = map[string]Network{
	"mainnet": {
		Name:               "mainnet",
		GenesisForkVersion: phase0.Version{0x00, 0x00, 0x00, 0x00},
		VoluntaryExitFork:  &VoluntaryExitFork{DenebForkEpoch: 269568, CapellaForkVersion: phase0.Version{0x03, 0x00, 0x00, 0x00}},
	},
	"sepolia": {
		Name:               "sepolia",
		GenesisForkVersion: phase0.Version{0x90, 0x00, 0x00, 0x69},
		VoluntaryExitFork:  &VoluntaryExitFork{DenebForkEpoch: 132608, CapellaForkVersion: phase0.Version{0x90, 0x00, 0x00, 0x72}},
	},
	"holesky": {
		Name:               "holesky",
		GenesisForkVersion: phase0.Version{0x01, 0x01, 0x70, 0x00},
		VoluntaryExitFork:  &VoluntaryExitFork{DenebForkEpoch: 29696, CapellaForkVersion: phase0.Version{0x04, 0x01, 0x70, 0x00}},
	},
	"hoodi": {
		Name:               "hoodi",
		GenesisForkVersion: phase0.Version{0x10, 0x00, 0x09, 0x10},
		VoluntaryExitFork:  &VoluntaryExitFork{DenebForkEpoch: 0, CapellaForkVersion: phase0.Version{0x40, 0x00, 0x09, 0x10}},
	},
}

// NetworkNames returns the names of the built-in networks.
func NetworkNames() []string {
	return []string{"mainnet", "sepolia", "holesky", "hoodi"}
}

// NetworkByGenesisForkVersion returns the built-in network whose GENESIS_FORK_VERSION is v, or,
// for any other v, a network that knows only v (no EIP-7044 exit rule: exits are then signed
// with the request's fork_info). It serves a party that is told only the genesis fork version.
func NetworkByGenesisForkVersion(v phase0.Version) *Network {
	for _, name := range NetworkNames() {
		if n := builtinNetworks[name]; n.GenesisForkVersion == v {
			return cloneNetwork(&n)
		}
	}
	return &Network{Name: fmt.Sprintf("genesis-%x", v[:]), GenesisForkVersion: v}
}

// LookupNetwork returns the built-in network of that name (mainnet, sepolia, holesky, hoodi) or,
// for anything else, reads the consensus-layer configuration YAML file at that path (the
// config.yaml every client takes for a custom network) with ParseNetworkConfig.
func LookupNetwork(nameOrPath string) (*Network, error) {
	if n, ok := builtinNetworks[nameOrPath]; ok {
		return cloneNetwork(&n), nil
	}
	if !looksLikePath(nameOrPath) {
		return nil, fmt.Errorf("eth2: unknown network %q: use %s, or the path of a consensus config YAML file",
			nameOrPath, strings.Join(NetworkNames(), ", "))
	}
	data, err := readConfigFile(nameOrPath)
	if err != nil {
		return nil, err
	}
	n, err := ParseNetworkConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	if n.Name == "" {
		n.Name = strings.TrimSuffix(filepath.Base(nameOrPath), filepath.Ext(nameOrPath))
	}
	return n, nil
}

// cloneNetwork copies n deeply, so no caller can change a built-in network.
func cloneNetwork(n *Network) *Network {
	c := *n
	if n.VoluntaryExitFork != nil {
		ef := *n.VoluntaryExitFork
		c.VoluntaryExitFork = &ef
	}
	return &c
}

// looksLikePath tells a file name from a mistyped network name, so that "mainet" is reported
// as an unknown network rather than as a missing file.
func looksLikePath(s string) bool {
	if strings.ContainsRune(s, filepath.Separator) || strings.ContainsRune(s, '/') {
		return true
	}
	ext := strings.ToLower(filepath.Ext(s))
	if ext == ".yaml" || ext == ".yml" {
		return true
	}
	_, err := os.Stat(s)
	return err == nil
}

// readConfigFile reads at most maxConfigBytes of path.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eth2: network config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("eth2: network config %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("eth2: network config %s is larger than %d bytes; is it a consensus config.yaml?", path, maxConfigBytes)
	}
	return data, nil
}

// ParseNetworkConfig reads a consensus-layer configuration (the YAML of consensus-specs
// configs/*.yaml). GENESIS_FORK_VERSION is required. CONFIG_NAME, if present, names the
// network. PRESET_BASE, if present, must be mainnet, the preset this package's SSZ types are
// built for. DENEB_FORK_EPOCH with CAPELLA_FORK_VERSION set the EIP-7044 exit rule; without
// DENEB_FORK_EPOCH (or with the far-future epoch 2^64-1) the network has none. Other keys are
// ignored; duplicate keys are errors.
func ParseNetworkConfig(data []byte) (*Network, error) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("eth2: network config is not a YAML mapping: %v", err)
	}
	n := &Network{}
	name, err := configScalar(doc, "CONFIG_NAME", false)
	if err != nil {
		return nil, err
	}
	n.Name = name
	if err := checkPreset(doc); err != nil {
		return nil, err
	}
	if n.GenesisForkVersion, err = configVersion(doc, "GENESIS_FORK_VERSION", true); err != nil {
		return nil, err
	}
	if n.VoluntaryExitFork, err = configExitFork(doc); err != nil {
		return nil, err
	}
	return n, nil
}

// checkPreset refuses a network on another preset than mainnet: its SSZ sizes and slots per
// epoch differ, so every root computed here would be wrong.
func checkPreset(doc map[string]yaml.Node) error {
	preset, err := configScalar(doc, "PRESET_BASE", false)
	if err != nil {
		return err
	}
	if preset != "" && preset != "mainnet" {
		return fmt.Errorf("eth2: network config: PRESET_BASE is %q; only networks on the mainnet preset are supported", preset)
	}
	return nil
}

// configExitFork reads the EIP-7044 rule, if the network schedules Deneb.
func configExitFork(doc map[string]yaml.Node) (*VoluntaryExitFork, error) {
	epochText, err := configScalar(doc, "DENEB_FORK_EPOCH", false)
	if err != nil || epochText == "" {
		return nil, err
	}
	epoch, err := parseUint64(epochText)
	if err != nil {
		return nil, fmt.Errorf("eth2: network config: DENEB_FORK_EPOCH %v", err)
	}
	if epoch == math.MaxUint64 {
		return nil, nil // FAR_FUTURE_EPOCH: Deneb is not scheduled.
	}
	capella, err := configVersion(doc, "CAPELLA_FORK_VERSION", true)
	if err != nil {
		return nil, fmt.Errorf("%w (a network with DENEB_FORK_EPOCH needs it for voluntary exits)", err)
	}
	return &VoluntaryExitFork{DenebForkEpoch: phase0.Epoch(epoch), CapellaForkVersion: capella}, nil
}

// configVersion reads a 4-byte fork version such as 0x90000069.
func configVersion(doc map[string]yaml.Node, key string, required bool) (phase0.Version, error) {
	var v phase0.Version
	text, err := configScalar(doc, key, required)
	if err != nil || text == "" {
		return v, err
	}
	b, err := parseHex(text, len(v))
	if err != nil {
		return v, fmt.Errorf("eth2: network config: %s %q %v", key, text, err)
	}
	copy(v[:], b)
	return v, nil
}

// configScalar returns the text of a scalar value ("" when absent and not required). It reads
// the node's source text so that 0x-prefixed versions are not taken for integers.
func configScalar(doc map[string]yaml.Node, key string, required bool) (string, error) {
	node, ok := doc[key]
	if !ok {
		if required {
			return "", fmt.Errorf("eth2: network config has no %s", key)
		}
		return "", nil
	}
	if node.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("eth2: network config: %s must be a single value", key)
	}
	if node.Value == "" {
		return "", errors.New("eth2: network config: " + key + " is empty")
	}
	return node.Value, nil
}
