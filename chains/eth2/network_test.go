package eth2

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestantio/go-eth2-client/spec/phase0"
	"github.com/google/go-cmp/cmp"
)

func TestLookupNetworkBuiltin(t *testing.T) {
	tests := []struct {
		name string
		want Network
	}{
		{"mainnet", Network{Name: "mainnet", GenesisForkVersion: phase0.Version{0x00, 0x00, 0x00, 0x00},
			VoluntaryExitFork: &VoluntaryExitFork{DenebForkEpoch: 269568, CapellaForkVersion: phase0.Version{0x03, 0x00, 0x00, 0x00}}}},
		{"sepolia", Network{Name: "sepolia", GenesisForkVersion: phase0.Version{0x90, 0x00, 0x00, 0x69},
			VoluntaryExitFork: &VoluntaryExitFork{DenebForkEpoch: 132608, CapellaForkVersion: phase0.Version{0x90, 0x00, 0x00, 0x72}}}},
		{"holesky", Network{Name: "holesky", GenesisForkVersion: phase0.Version{0x01, 0x01, 0x70, 0x00},
			VoluntaryExitFork: &VoluntaryExitFork{DenebForkEpoch: 29696, CapellaForkVersion: phase0.Version{0x04, 0x01, 0x70, 0x00}}}},
		{"hoodi", Network{Name: "hoodi", GenesisForkVersion: phase0.Version{0x10, 0x00, 0x09, 0x10},
			VoluntaryExitFork: &VoluntaryExitFork{DenebForkEpoch: 0, CapellaForkVersion: phase0.Version{0x40, 0x00, 0x09, 0x10}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookupNetwork(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("network (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{"mainnet", "sepolia", "holesky", "hoodi"}, NetworkNames()); diff != "" {
		t.Errorf("NetworkNames (-want +got):\n%s", diff)
	}
}

// TestLookupNetworkReturnsCopies: a caller changing its Network cannot change the built-in one.
func TestLookupNetworkReturnsCopies(t *testing.T) {
	a, err := LookupNetwork("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	a.GenesisForkVersion[0] = 0xff
	a.VoluntaryExitFork.CapellaForkVersion[0] = 0xff
	b, err := LookupNetwork("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	if b.GenesisForkVersion[0] != 0 || b.VoluntaryExitFork.CapellaForkVersion[0] != 0x03 {
		t.Errorf("the built-in mainnet changed: %+v %+v", b, b.VoluntaryExitFork)
	}
}

// hoodiConfig is an excerpt of eth-clients/hoodi metadata/config.yaml, with the kinds of values
// a real file has (sequences, comments, far-future epochs, 0x addresses).
const hoodiConfig = `# Extends the mainnet preset
PRESET_BASE: mainnet
CONFIG_NAME: hoodi
MIN_GENESIS_TIME: 1741971600
GENESIS_FORK_VERSION: 0x10000910
GENESIS_DELAY: 600
ALTAIR_FORK_VERSION: 0x20000910
ALTAIR_FORK_EPOCH: 0
CAPELLA_FORK_VERSION: 0x40000910
CAPELLA_FORK_EPOCH: 0
DENEB_FORK_VERSION: 0x50000910
DENEB_FORK_EPOCH: 0
FULU_FORK_EPOCH: 18446744073709551615
TERMINAL_BLOCK_HASH: 0x0000000000000000000000000000000000000000000000000000000000000000
DEPOSIT_CONTRACT_ADDRESS: 0x00000000219ab540356cBB839Cbe05303d7705Fa
BLOB_SCHEDULE:
  - EPOCH: 50688
    MAX_BLOBS_PER_BLOCK: 15
`

func TestLookupNetworkConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		file    string
		content string
		want    *Network
	}{
		{"real config", "hoodi.yaml", hoodiConfig, &Network{Name: "hoodi", GenesisForkVersion: phase0.Version{0x10, 0x00, 0x09, 0x10},
			VoluntaryExitFork: &VoluntaryExitFork{DenebForkEpoch: 0, CapellaForkVersion: phase0.Version{0x40, 0x00, 0x09, 0x10}}}},
		{"genesis fork version only, named after the file", "devnet-7.yaml", "GENESIS_FORK_VERSION: 0x10000038\n",
			&Network{Name: "devnet-7", GenesisForkVersion: phase0.Version{0x10, 0x00, 0x00, 0x38}}},
		{"quoted values", "quoted.yml", "CONFIG_NAME: 'q'\nPRESET_BASE: 'mainnet'\nGENESIS_FORK_VERSION: '0x00000064'\n",
			&Network{Name: "q", GenesisForkVersion: phase0.Version{0x00, 0x00, 0x00, 0x64}}},
		{"deneb not scheduled", "nodeneb.yaml", "GENESIS_FORK_VERSION: 0x00000064\nDENEB_FORK_EPOCH: 18446744073709551615\n",
			&Network{Name: "nodeneb", GenesisForkVersion: phase0.Version{0x00, 0x00, 0x00, 0x64}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookupNetwork(write(tt.file, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("network (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupNetworkErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		arg  string
		want string
	}{
		{"unknown name", "mainet", `unknown network "mainet": use mainnet, sepolia, holesky, hoodi, or the path of a consensus config YAML file`},
		{"wrongly cased name", "Mainnet", `unknown network "Mainnet"`},
		{"empty name", "", `unknown network ""`},
		{"missing file", filepath.Join(dir, "nope.yaml"), "no such file"},
		{"no genesis fork version", write("a.yaml", "CONFIG_NAME: a\n"), "has no GENESIS_FORK_VERSION"},
		{"short genesis fork version", write("b.yaml", "GENESIS_FORK_VERSION: 0x000001\n"), "GENESIS_FORK_VERSION \"0x000001\" has 3 bytes, want 4"},
		{"genesis fork version without 0x", write("c.yaml", "GENESIS_FORK_VERSION: 10000910\n"), "must be hex starting with 0x"},
		{"genesis fork version a list", write("d.yaml", "GENESIS_FORK_VERSION: [1]\n"), "GENESIS_FORK_VERSION must be a single value"},
		{"minimal preset", write("e.yaml", "PRESET_BASE: minimal\nGENESIS_FORK_VERSION: 0x00000001\n"), `PRESET_BASE is "minimal"; only networks on the mainnet preset are supported`},
		{"duplicate key", write("f.yaml", "GENESIS_FORK_VERSION: 0x00000001\nGENESIS_FORK_VERSION: 0x00000002\n"), "already defined"},
		{"not a mapping", write("g.yaml", "- 1\n- 2\n"), "not a YAML mapping"},
		{"deneb without capella version", write("h.yaml", "GENESIS_FORK_VERSION: 0x00000001\nDENEB_FORK_EPOCH: 10\n"), "has no CAPELLA_FORK_VERSION"},
		{"bad deneb epoch", write("i.yaml", "GENESIS_FORK_VERSION: 0x00000001\nDENEB_FORK_EPOCH: -1\n"), "DENEB_FORK_EPOCH"},
		{"empty file", write("j.yaml", ""), "has no GENESIS_FORK_VERSION"},
		{"oversize file", write("k.yaml", "GENESIS_FORK_VERSION: 0x00000001\n"+strings.Repeat("#\n", maxConfigBytes)), "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := LookupNetwork(tt.arg)
			if err == nil {
				t.Fatalf("LookupNetwork(%q) = %+v, want an error", tt.arg, n)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNetworkByGenesisForkVersion(t *testing.T) {
	for _, name := range NetworkNames() {
		want, err := LookupNetwork(name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, NetworkByGenesisForkVersion(want.GenesisForkVersion)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	want := &Network{Name: "genesis-00000001", GenesisForkVersion: phase0.Version{0, 0, 0, 1}}
	if diff := cmp.Diff(want, NetworkByGenesisForkVersion(phase0.Version{0, 0, 0, 1})); diff != "" {
		t.Errorf("unknown version (-want +got):\n%s", diff)
	}
}
