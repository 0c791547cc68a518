package enclave

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// baseConfig is a valid development configuration: key file sealer, pebble store.
func baseConfig() FileConfig {
	return FileConfig{
		Version: 1, Party: 1, Listen: "loopback://127.0.0.1:7201", DataDir: "/data", Roster: "/roster.json",
		Sealer: SealerConfig{KeyFile: "/sealer/seal.key"},
		Attestation: attestation.Config{Kind: attestation.KindSim, Sim: attestation.SimConfig{CADir: "/ca"},
			Policy: attestation.PolicyConfig{Measurements: map[int]string{0: strings.Repeat("11", 48)}}},
	}
}

func kmsSection() *KMSSealerConfig {
	return &KMSSealerConfig{KeyID: "alias/party-1", Region: "eu-west-1", Proxy: "vsock://3:8000"}
}

func TestConfigSealerAndStore(t *testing.T) {
	nitro := func(c *FileConfig) {
		c.DataDir = ""
		c.Sealer = SealerConfig{Kind: SealerKMS, KMS: kmsSection()}
		c.Store = StoreConfig{Kind: StoreHost}
		c.HostServices = "vsock://3:5001"
	}
	cases := []struct {
		name   string
		change func(c *FileConfig)
		errs   []string // empty: valid
	}{
		{"key file, pebble (the default)", func(*FileConfig) {}, nil},
		{"key file named explicitly", func(c *FileConfig) { c.Sealer.Kind = SealerKeyFile; c.Store.Kind = StorePebble }, nil},
		{"kms and host store (Nitro)", nitro, nil},
		{"kms with a blob file and pebble (a disk)", func(c *FileConfig) {
			c.Sealer = SealerConfig{Kind: SealerKMS, KMS: kmsSection()}
			c.Sealer.KMS.BlobPath = "/data/blob"
			c.HostServices = "vsock://3:5001"
		}, nil},
		{"key file and host store", func(c *FileConfig) {
			c.Store.Kind = StoreHost
			c.HostServices = "loopback://127.0.0.1:7300"
			c.DataDir = ""
		}, nil},
		{"tuned host store", func(c *FileConfig) {
			nitro(c)
			c.Store.CommitTimeout, c.Store.CompactAfter = time.Minute, 1<<20
		}, nil},

		{"no key file", func(c *FileConfig) { c.Sealer.KeyFile = "" }, []string{"sealer.key_file: required"}},
		{"unknown sealer", func(c *FileConfig) { c.Sealer.Kind = "hsm" }, []string{`sealer.kind: "hsm"`}},
		{"kms section without kind", func(c *FileConfig) { c.Sealer.KMS = kmsSection() }, []string{"sealer.kms: set sealer.kind: kms"}},
		{"kms without a section", func(c *FileConfig) { nitro(c); c.Sealer.KMS = nil }, []string{"sealer.kms: required"}},
		{"kms with a key file", func(c *FileConfig) { nitro(c); c.Sealer.KeyFile = "/k" }, []string{"sealer.key_file: not used"}},
		{"kms without key, region, proxy", func(c *FileConfig) { nitro(c); c.Sealer.KMS = &KMSSealerConfig{} },
			[]string{"sealer.kms.key_id: required", "sealer.kms.region: required", "sealer.kms.proxy"}},
		{"kms proxy over TCP", func(c *FileConfig) { nitro(c); c.Sealer.KMS.Proxy = "10.0.0.1:8000" }, []string{"sealer.kms.proxy"}},
		{"kms proxy off loopback", func(c *FileConfig) { nitro(c); c.Sealer.KMS.Proxy = "loopback://10.0.0.1:8000" }, []string{"sealer.kms.proxy"}},
		{"kms plain http endpoint", func(c *FileConfig) { nitro(c); c.Sealer.KMS.Endpoint = "http://kms.local" }, []string{"sealer.kms.endpoint"}},
		{"kms without host services", func(c *FileConfig) { nitro(c); c.HostServices = "" },
			[]string{"host_services: required for sealer.kind kms", "host_services: required for store.kind host"}},
		{"kms, pebble, no blob path", func(c *FileConfig) {
			c.Sealer = SealerConfig{Kind: SealerKMS, KMS: kmsSection()}
			c.HostServices = "vsock://3:5001"
		}, []string{"sealer.kms.blob_path: required unless"}},
		{"kms, host store, blob path", func(c *FileConfig) { nitro(c); c.Sealer.KMS.BlobPath = "/tmp/blob" }, []string{"sealer.kms.blob_path: leave it empty"}},
		{"pebble without data_dir", func(c *FileConfig) { c.DataDir = "" }, []string{"data_dir: required"}},
		{"unknown store", func(c *FileConfig) { c.Store.Kind = "s3" }, []string{`store.kind: "s3"`}},
		{"host store tuning on pebble", func(c *FileConfig) { c.Store.CompactAfter = 1 }, []string{"apply to store.kind host only"}},
		{"negative tuning", func(c *FileConfig) { nitro(c); c.Store.CommitTimeout = -1 }, []string{"must not be negative"}},
		{"bad host services address", func(c *FileConfig) { c.HostServices = "tcp://x" }, []string{"host_services:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig()
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

// TestConfigDevnetShapeUnchanged: a configuration written as the devnet writes it (yaml.Marshal
// of a FileConfig with a key file) names none of the new sections, and loads back.
func TestConfigDevnetShapeUnchanged(t *testing.T) {
	c := baseConfig()
	raw, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"store:", "host_services", "kms:", "kind: key_file"} {
		if strings.Contains(string(raw), absent) {
			t.Errorf("the marshalled development config mentions %q:\n%s", absent, raw)
		}
	}
	back, err := LoadFileConfig(writeFile(t, t.TempDir(), "enclave.yaml", raw))
	if err != nil {
		t.Fatalf("the marshalled development config does not load: %v", err)
	}
	if back.Sealer.KeyFile != c.Sealer.KeyFile || back.Store.Kind != "" {
		t.Fatalf("loaded back as %+v", back)
	}
	old := "version: 1\nparty: 1\nlisten: loopback://127.0.0.1:7201\ndata_dir: /d\nroster: /r\nsealer:\n  key_file: /k\n" +
		"attestation:\n  kind: sim\n  sim:\n    ca_dir: /ca\n  policy:\n    measurements:\n      0: \"" + strings.Repeat("11", 48) + "\"\n"
	if _, err := LoadFileConfig(filepath.Join(writeDir(t, "enclave.yaml", old), "enclave.yaml")); err != nil {
		t.Fatalf("a configuration from before sealer.kind does not load: %v", err)
	}
	if _, err := LoadFileConfig(filepath.Join(writeDir(t, "enclave.yaml", old+"sealer_kind: kms\n"), "enclave.yaml")); err == nil {
		t.Fatal("an unknown key was accepted")
	}
}

func writeDir(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, name, []byte(content))
	return dir
}
