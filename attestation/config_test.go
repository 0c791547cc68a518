package attestation

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// measurementHex is a 48-byte launch measurement in hex.
var measurementHex = strings.Repeat("5a", 48)

func TestParseConfigExistingFields(t *testing.T) {
	raw := "kind: sevsnp\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n  max_age: 5m\n"
	c, err := ParseConfig([]byte(raw))
	if err != nil {
		t.Fatalf("ParseConfig = %v", err)
	}
	p, err := c.Policy.Policy()
	if err != nil {
		t.Fatalf("Policy = %v", err)
	}
	want := Policy{Measurements: map[int][]byte{0: bytes.Repeat([]byte{0x5a}, 48)}, MaxAge: 5 * time.Minute}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Policy (-want +got):\n%s", diff)
	}
}

func TestParseConfigSEVSNPPolicy(t *testing.T) {
	id, author := strings.Repeat("1d", 48), strings.Repeat("a7", 48)
	raw := `kind: sevsnp
policy:
  measurements:
    0: "` + measurementHex + `"
  sevsnp:
    min_tcb: {bootloader: 10, tee: 0, snp: 23, microcode: 213, fmc: 2}
    id_key_digests: ["` + id + `"]
    author_key_digests: ["` + author + `"]
    vmpl: 1
    smt: forbidden
    min_abi: "1.55"
`
	c, err := ParseConfig([]byte(raw))
	if err != nil {
		t.Fatalf("ParseConfig = %v", err)
	}
	p, err := c.Policy.Policy()
	if err != nil {
		t.Fatalf("Policy = %v", err)
	}
	want := SEVSNPPolicy{
		MinTCB:           SEVSNPTCB{Bootloader: 10, TEE: 0, SNP: 23, Microcode: 213, FMC: 2},
		IDKeyDigests:     [][]byte{bytes.Repeat([]byte{0x1d}, 48)},
		AuthorKeyDigests: [][]byte{bytes.Repeat([]byte{0xa7}, 48)},
		VMPL:             1,
		ForbidSMT:        true,
		MinABI:           SEVSNPABI{Major: 1, Minor: 55},
	}
	if diff := cmp.Diff(want, p.SEVSNP); diff != "" {
		t.Errorf("SEVSNP policy (-want +got):\n%s", diff)
	}
}

func TestParseConfigSEVSNPPolicyErrors(t *testing.T) {
	head := "kind: sevsnp\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n  sevsnp:\n"
	cases := []struct {
		name, body, want string
	}{
		{"min_tcb component missing", "    min_tcb: {bootloader: 10, tee: 0, snp: 23}\n", "microcode missing"},
		{"min_tcb component too large", "    min_tcb: {bootloader: 256, tee: 0, snp: 23, microcode: 1}\n", "256"},
		{"min_tcb negative", "    min_tcb: {bootloader: -1, tee: 0, snp: 23, microcode: 1}\n", "-1"},
		{"min_tcb unknown component", "    min_tcb: {bootloader: 1, tee: 0, snp: 23, microcode: 1, ucode: 1}\n", "ucode"},
		{"short ID key digest", "    id_key_digests: [\"" + strings.Repeat("1d", 32) + "\"]\n", "id_key_digests[0] is 32 bytes, want 48"},
		{"zero author key digest", "    author_key_digests: [\"" + strings.Repeat("00", 48) + "\"]\n", "author_key_digests[0] is all zero"},
		{"digest not hex", "    id_key_digests: [\"zz\"]\n", "id_key_digests[0]: not hex"},
		{"VMPL 4", "    vmpl: 4\n", "vmpl: 4 is not"},
		{"SMT misspelt", "    smt: off\n", `smt: "off" is not`},
		{"ABI without minor", "    min_abi: \"1\"\n", "min_abi"},
		{"ABI minor too large", "    min_abi: \"1.256\"\n", "min_abi"},
		{"ABI signed", "    min_abi: \"+1.5\"\n", "min_abi"},
		{"unknown key", "    tcb: 1\n", "tcb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(head + tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseConfig = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseConfigKeysInsteadOfMeasurement(t *testing.T) {
	keys := "kind: sevsnp\npolicy:\n  sevsnp:\n    id_key_digests: [\"" + strings.Repeat("1d", 48) + "\"]\n"
	c, err := ParseConfig([]byte(keys))
	if err != nil {
		t.Fatalf("ParseConfig(ID key, no measurement) = %v", err)
	}
	if p, err := c.Policy.Policy(); err != nil || len(p.Measurements) != 0 || len(p.SEVSNP.IDKeyDigests) != 1 {
		t.Fatalf("Policy = %+v, %v; want no measurement and one ID key", p, err)
	}
	for name, raw := range map[string]string{
		"neither":                     "kind: sevsnp\npolicy:\n  sevsnp:\n    vmpl: 0\n",
		"sevsnp keys on another kind": "kind: nitro\npolicy:\n  sevsnp:\n    id_key_digests: [\"" + strings.Repeat("1d", 48) + "\"]\n",
	} {
		if _, err := ParseConfig([]byte(raw)); err == nil {
			t.Errorf("ParseConfig(%s) succeeded", name)
		}
	}
}

func TestParseConfigSEVSNPPolicyOnlyForSEVSNP(t *testing.T) {
	raw := "kind: nitro\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n  sevsnp:\n    vmpl: 0\n"
	if _, err := ParseConfig([]byte(raw)); err == nil || !strings.Contains(err.Error(), "applies only to kind sevsnp") {
		t.Fatalf("ParseConfig(nitro with a sevsnp policy) = %v, want a refusal", err)
	}
}

func TestParseConfigLimits(t *testing.T) {
	one := "kind: sevsnp\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n"
	if _, err := ParseConfig([]byte(one + "---\n" + one)); err == nil {
		t.Error("ParseConfig(two documents) succeeded")
	}
	big := append([]byte(one), bytes.Repeat([]byte("#"), maxConfigSize)...)
	if _, err := ParseConfig(big); err == nil {
		t.Error("ParseConfig(over the size cap) succeeded")
	}
	digests := "kind: sevsnp\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n  sevsnp:\n    id_key_digests:\n" +
		strings.Repeat("      - \""+strings.Repeat("1d", 48)+"\"\n", maxSEVSNPDigests+1)
	if _, err := ParseConfig([]byte(digests)); err == nil {
		t.Errorf("ParseConfig(%d ID key digests) succeeded", maxSEVSNPDigests+1)
	}
}

func TestLoadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attestation.yaml")
	raw := "kind: sevsnp\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n  sevsnp:\n    vmpl: 2\n"
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	if c.Policy.SEVSNP == nil || c.Policy.SEVSNP.VMPL == nil || *c.Policy.SEVSNP.VMPL != 2 {
		t.Errorf("LoadConfig lost the sevsnp policy: %+v", c.Policy.SEVSNP)
	}
}

// FuzzParseConfig feeds arbitrary YAML to the configuration decoder: it must not panic, and
// whatever it accepts must decode into a policy a verifier can enforce.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("kind: sevsnp\npolicy:\n  measurements:\n    0: \"" + measurementHex + "\"\n  sevsnp:\n" +
		"    min_tcb: {bootloader: 10, tee: 0, snp: 23, microcode: 213}\n    vmpl: 0\n    smt: allowed\n    min_abi: \"1.55\"\n" +
		"    id_key_digests: [\"" + strings.Repeat("1d", 48) + "\"]\n"))
	f.Add([]byte("kind: sim\nsim: {ca_dir: /tmp}\npolicy: {measurements: {0: \"" + measurementHex + "\"}}\n"))
	f.Add([]byte("kind: sevsnp\npolicy: {sevsnp: {vmpl: 9}}\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			return
		}
		p, err := c.Policy.Policy()
		if err != nil {
			t.Fatalf("ParseConfig accepted a configuration whose policy does not decode: %v", err)
		}
		if err := CheckVMPL(p.SEVSNP.VMPL); err != nil {
			t.Fatalf("accepted policy has %v", err)
		}
		for _, d := range append(p.SEVSNP.IDKeyDigests, p.SEVSNP.AuthorKeyDigests...) {
			if err := CheckSEVSNPDigest(d); err != nil {
				t.Fatalf("accepted policy has a digest that %v", err)
			}
		}
	})
}
