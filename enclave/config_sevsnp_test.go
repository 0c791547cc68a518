package enclave

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/enclave/seal"
)

// snpConfig is a valid configuration of an enclave in an SEV-SNP guest with the SEV-SNP sealer.
func snpConfig() FileConfig {
	return FileConfig{
		Version: 1, Party: 1, Listen: "vsock://0:5000", DataDir: "/var/lib/mpcsigner/store", Roster: "/etc/mpcsigner/roster.json",
		Sealer: SealerConfig{Kind: SealerSEVSNP, SEVSNP: &SEVSNPSealerConfig{BlobFile: "/var/lib/mpcsigner/sealer/sevsnp.blob"}},
		Attestation: attestation.Config{Kind: attestation.KindSEVSNP,
			Policy: attestation.PolicyConfig{Measurements: map[int]string{0: strings.Repeat("11", 48)}}},
	}
}

func TestConfigSEVSNPSealer(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *FileConfig)
		errs   []string // empty: valid
	}{
		{"blob file only", func(*FileConfig) {}, nil},
		{"vmrk and a device path", func(c *FileConfig) { c.Sealer.SEVSNP.RootKey, c.Sealer.SEVSNP.Device = "vmrk", "/dev/sev-guest" }, nil},
		{"vcek named", func(c *FileConfig) { c.Sealer.SEVSNP.RootKey = "vcek" }, nil},

		{"no section", func(c *FileConfig) { c.Sealer.SEVSNP = nil }, []string{"sealer.sevsnp: required"}},
		{"no blob file", func(c *FileConfig) { c.Sealer.SEVSNP.BlobFile = "" }, []string{"sealer.sevsnp.blob_file: required"}},
		{"unknown root key", func(c *FileConfig) { c.Sealer.SEVSNP.RootKey = "vlek" }, []string{`sealer.sevsnp.root_key: "vlek"`}},
		{"with a key file", func(c *FileConfig) { c.Sealer.KeyFile = "/k" }, []string{"sealer.key_file: not used with sealer.kind sevsnp"}},
		{"with a kms section", func(c *FileConfig) { c.Sealer.KMS = &KMSSealerConfig{} }, []string{"sealer.kms: not used with sealer.kind sevsnp"}},
		{"outside an SEV-SNP guest", func(c *FileConfig) {
			c.Attestation = attestation.Config{Kind: attestation.KindSim, Sim: attestation.SimConfig{CADir: "/ca"},
				Policy: c.Attestation.Policy}
		}, []string{`attestation.kind is "sim"`}},
		{"sevsnp section with the key file sealer", func(c *FileConfig) { c.Sealer.Kind = ""; c.Sealer.KeyFile = "/k" },
			[]string{"sealer.sevsnp: set sealer.kind: sevsnp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := snpConfig()
			tc.change(&c)
			err := c.Validate()
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted it; want %q", tc.errs)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %v; want it to mention %q", err, want)
				}
			}
		})
	}
}

func TestConfigSEVSNPSealerFromYAML(t *testing.T) {
	raw := `version: 1
party: 2
listen: vsock://0:5000
data_dir: /var/lib/mpcsigner/store
roster: /etc/mpcsigner/roster.json
sealer:
  kind: sevsnp
  sevsnp:
    blob_file: /var/lib/mpcsigner/sealer/sevsnp.blob
    root_key: vcek
attestation:
  kind: sevsnp
  policy:
    measurements:
      0: "` + strings.Repeat("11", 48) + `"
    sevsnp:
      min_tcb: {bootloader: 10, tee: 0, snp: 23, microcode: 213}
`
	path := filepath.Join(t.TempDir(), "enclave.yaml")
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFileConfig(path)
	if err != nil {
		t.Fatalf("LoadFileConfig = %v", err)
	}
	s, err := c.sealer(nil, StoreDeps{})
	if err != nil {
		t.Fatalf("sealer = %v", err)
	}
	snp, ok := s.(seal.SEVSNP)
	if !ok {
		t.Fatalf("sealer is %T, want seal.SEVSNP", s)
	}
	if snp.BlobPath != "/var/lib/mpcsigner/sealer/sevsnp.blob" || snp.RootKey != seal.SNPRootVCEK {
		t.Errorf("sealer = blob %q, root key %q", snp.BlobPath, snp.RootKey)
	}
	if _, ok := snp.Device.(*seal.SNPGuestDevice); !ok {
		t.Errorf("sealer device is %T, want the guest's own", snp.Device)
	}
	if _, err := LoadFileConfig(writeConfig(t, strings.Replace(raw, "root_key: vcek", "root_key: vcek\n    key_size: 32", 1))); err == nil {
		t.Error("an unknown key in sealer.sevsnp was accepted")
	}
}

// TestOpenStoreSEVSNPWithoutDevice opens the store of an SEV-SNP configuration on a machine
// without the device: a clear error, and nothing written.
func TestOpenStoreSEVSNPWithoutDevice(t *testing.T) {
	dir := t.TempDir()
	c := snpConfig()
	c.DataDir = filepath.Join(dir, "store")
	c.Sealer.SEVSNP.BlobFile = filepath.Join(dir, "sealer", "sevsnp.blob")
	c.Sealer.SEVSNP.Device = filepath.Join(dir, "sev-guest")
	st, err := c.OpenStore(t.Context(), StoreDeps{})
	if !errors.Is(err, seal.ErrNoSNPDevice) || !strings.Contains(err.Error(), c.Sealer.SEVSNP.Device) {
		if st != nil {
			st.Close()
		}
		t.Fatalf("OpenStore = %v, want ErrNoSNPDevice naming %s", err, c.Sealer.SEVSNP.Device)
	}
	for _, p := range []string{c.Sealer.SEVSNP.BlobFile, c.DataDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created without a device", p)
		}
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "enclave.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
