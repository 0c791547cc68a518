package attestation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SEVSNPPolicy is what the sevsnp verifier requires of a report besides its launch measurement.
// Only that verifier reads it.
//
// Its zero value still refuses what no production guest should show: a report from a VMPL
// other than 0, a guest policy that allows debugging or a migration agent, and TCB values out of
// AMD's order (REPORTED_TCB ≤ COMMITTED_TCB ≤ CURRENT_TCB in every component). It sets no
// minimum TCB or ABI and pins no ID or author key.
type SEVSNPPolicy struct {
	// MinTCB is the lowest security patch level accepted, per firmware component, in the
	// report's REPORTED_TCB and LAUNCH_TCB. A zero component accepts any level.
	MinTCB SEVSNPTCB
	// IDKeyDigests, when not empty, are the SHA-384 digests (48 bytes each) of the ID keys that
	// may have signed the guest's ID block: the report's ID_KEY_DIGEST must be one of them.
	IDKeyDigests [][]byte
	// AuthorKeyDigests, when not empty, are the SHA-384 digests of the author keys that may have
	// signed the ID key: the report must have AUTHOR_KEY_EN set and its AUTHOR_KEY_DIGEST must
	// be one of them.
	AuthorKeyDigests [][]byte
	// VMPL is the virtual machine privilege level the report must come from: 0 (the default,
	// the guest's most privileged level) to 3.
	VMPL int
	// ForbidSMT refuses a guest whose policy allows simultaneous multithreading.
	ForbidSMT bool
	// MinABI is the lowest firmware ABI version the guest policy may demand (its ABI_MAJOR and
	// ABI_MINOR): a guest that would also launch on older firmware is refused.
	MinABI SEVSNPABI
}

// SEVSNPTCB is a TCB version by component, as AMD's tools and its Key Distribution Service name
// them.
type SEVSNPTCB struct {
	Bootloader uint8
	TEE        uint8
	SNP        uint8
	Microcode  uint8
	// FMC is the firmware microcontroller's level, which only Turin (Zen 5) and later parts
	// have; it is compared only on reports from such parts.
	FMC uint8
}

// SEVSNPABI is an SEV-SNP firmware ABI version.
type SEVSNPABI struct {
	Major, Minor uint8
}

// Less reports whether a is an older ABI than b.
func (a SEVSNPABI) Less(b SEVSNPABI) bool {
	return a.Major < b.Major || (a.Major == b.Major && a.Minor < b.Minor)
}

// String formats a as major.minor.
func (a SEVSNPABI) String() string { return fmt.Sprintf("%d.%d", a.Major, a.Minor) }

// SEVSNPDigestSize is the size of an ID or author key digest (SHA-384).
const SEVSNPDigestSize = 48

// maxSEVSNPDigests bounds each allow-list: a deployment signs its images with a handful of keys.
const maxSEVSNPDigests = 64

// SEVSNPPolicyConfig is attestation.policy.sevsnp as configuration writes it:
//
//	sevsnp:
//	  min_tcb: {bootloader: 10, tee: 0, snp: 23, microcode: 213}   # fmc too, on Turin
//	  id_key_digests: ["<96 hex digits>"]
//	  author_key_digests: ["<96 hex digits>"]
//	  vmpl: 0
//	  smt: allowed        # or forbidden
//	  min_abi: "1.55"
type SEVSNPPolicyConfig struct {
	MinTCB           *SEVSNPTCBConfig `yaml:"min_tcb"`
	IDKeyDigests     []string         `yaml:"id_key_digests"`
	AuthorKeyDigests []string         `yaml:"author_key_digests"`
	VMPL             *int             `yaml:"vmpl"`
	// SMT is "allowed" (the default: the host may run with SMT on) or "forbidden".
	SMT    string `yaml:"smt"`
	MinABI string `yaml:"min_abi"`
}

// SEVSNPTCBConfig is min_tcb. The four components every part has are required once min_tcb is
// written, so that a forgotten one is an error rather than a silent zero.
type SEVSNPTCBConfig struct {
	Bootloader *uint8 `yaml:"bootloader"`
	TEE        *uint8 `yaml:"tee"`
	SNP        *uint8 `yaml:"snp"`
	Microcode  *uint8 `yaml:"microcode"`
	FMC        *uint8 `yaml:"fmc"`
}

// pinsKeys reports whether c pins an ID or author key, which stands in for the measurement.
func (c *SEVSNPPolicyConfig) pinsKeys() bool {
	return c != nil && len(c.IDKeyDigests)+len(c.AuthorKeyDigests) > 0
}

// SMT settings of SEVSNPPolicyConfig.
const (
	SMTAllowed   = "allowed"
	SMTForbidden = "forbidden"
)

// Policy decodes the section. Errors name the offending key.
func (c *SEVSNPPolicyConfig) Policy() (SEVSNPPolicy, error) {
	var out SEVSNPPolicy
	var errs []error
	if c.MinTCB != nil {
		tcb, err := c.MinTCB.tcb()
		errs = append(errs, err)
		out.MinTCB = tcb
	}
	var err error
	out.IDKeyDigests, err = decodeDigests("id_key_digests", c.IDKeyDigests)
	errs = append(errs, err)
	out.AuthorKeyDigests, err = decodeDigests("author_key_digests", c.AuthorKeyDigests)
	errs = append(errs, err)
	if c.VMPL != nil {
		out.VMPL = *c.VMPL
		errs = append(errs, CheckVMPL(out.VMPL))
	}
	switch c.SMT {
	case "", SMTAllowed:
	case SMTForbidden:
		out.ForbidSMT = true
	default:
		errs = append(errs, fmt.Errorf("attestation.policy.sevsnp.smt: %q is not %q or %q", truncate(c.SMT, 32), SMTAllowed, SMTForbidden))
	}
	if c.MinABI != "" {
		out.MinABI, err = parseABI(c.MinABI)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return SEVSNPPolicy{}, err
	}
	return out, nil
}

// tcb checks that the required components are present.
func (c *SEVSNPTCBConfig) tcb() (SEVSNPTCB, error) {
	var out SEVSNPTCB
	var missing []string
	for _, f := range []struct {
		name string
		src  *uint8
		dst  *uint8
	}{
		{"bootloader", c.Bootloader, &out.Bootloader},
		{"tee", c.TEE, &out.TEE},
		{"snp", c.SNP, &out.SNP},
		{"microcode", c.Microcode, &out.Microcode},
	} {
		if f.src == nil {
			missing = append(missing, f.name)
			continue
		}
		*f.dst = *f.src
	}
	if c.FMC != nil {
		out.FMC = *c.FMC
	}
	if len(missing) > 0 {
		return SEVSNPTCB{}, fmt.Errorf("attestation.policy.sevsnp.min_tcb: %s missing: give all of bootloader, tee, snp and microcode "+
			"(0 accepts any level), as snphost or the KDS certificate of an up-to-date host shows them", strings.Join(missing, ", "))
	}
	return out, nil
}

// CheckVMPL refuses a VMPL outside 0..3.
func CheckVMPL(vmpl int) error {
	if vmpl < 0 || vmpl > 3 {
		return fmt.Errorf("attestation.policy.sevsnp.vmpl: %d is not a VM privilege level (0 to 3)", vmpl)
	}
	return nil
}

// CheckSEVSNPDigest refuses a digest that is not 48 bytes, or that is all zero: a report without
// an ID block carries zero digests, so allowing zero would allow every unsigned launch.
func CheckSEVSNPDigest(d []byte) error {
	if len(d) != SEVSNPDigestSize {
		return fmt.Errorf("is %d bytes, want %d (SHA-384, %d hex digits)", len(d), SEVSNPDigestSize, 2*SEVSNPDigestSize)
	}
	if bytes.Equal(d, make([]byte, SEVSNPDigestSize)) {
		return errors.New("is all zero, which is what a launch without an ID block reports: give the digest of a real key")
	}
	return nil
}

// decodeDigests decodes an allow-list of hex digests.
func decodeDigests(key string, in []string) ([][]byte, error) {
	if len(in) > maxSEVSNPDigests {
		return nil, fmt.Errorf("attestation.policy.sevsnp.%s: %d entries, more than %d", key, len(in), maxSEVSNPDigests)
	}
	var out [][]byte
	for i, h := range in {
		d, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("attestation.policy.sevsnp.%s[%d]: not hex: %v", key, i, err)
		}
		if err := CheckSEVSNPDigest(d); err != nil {
			return nil, fmt.Errorf("attestation.policy.sevsnp.%s[%d] %w", key, i, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseABI parses "major.minor", each a decimal number from 0 to 255.
func parseABI(s string) (SEVSNPABI, error) {
	bad := fmt.Errorf("attestation.policy.sevsnp.min_abi: %q is not an ABI version major.minor such as \"1.55\"", truncate(s, 32))
	major, minor, ok := strings.Cut(s, ".")
	if !ok {
		return SEVSNPABI{}, bad
	}
	ma, err1 := strconv.ParseUint(major, 10, 8)
	mi, err2 := strconv.ParseUint(minor, 10, 8)
	if err1 != nil || err2 != nil {
		return SEVSNPABI{}, bad
	}
	return SEVSNPABI{Major: uint8(ma), Minor: uint8(mi)}, nil
}

// truncate shortens configuration text before it goes into an error.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
