package enclave

import (
	"errors"
	"fmt"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/enclave/seal"
)

// SEVSNPSealerConfig configures sealer kind sevsnp: the data key is wrapped under a key the
// CVM's secure processor derives from the chip and this image's measurement and guest policy
// (seal.SEVSNP), and kept in a blob file next to the store.
//
//	sealer:
//	  kind: sevsnp
//	  sevsnp:
//	    blob_file: /var/lib/mpcsigner/sealer/sevsnp.blob
//	    root_key: vcek        # the default; vmrk needs a migration agent
type SEVSNPSealerConfig struct {
	// BlobFile is where the wrapped data key is kept, in a directory private to the enclave.
	BlobFile string `yaml:"blob_file"`
	// RootKey is vcek (the default: bound to this chip) or vmrk (the VM root key a migration
	// agent installs; the attestation policy refuses guests that allow one).
	RootKey string `yaml:"root_key,omitempty"`
	// Device is the sev-guest device (default /dev/sev-guest).
	Device string `yaml:"device,omitempty"`
}

// validateSealerKind checks the sealer section: kind sevsnp here, the other kinds in
// validateSealer.
func (c *FileConfig) validateSealerKind() []error {
	if c.Sealer.Kind == SealerSEVSNP {
		return c.validateSEVSNPSealer()
	}
	errs := c.validateSealer()
	if c.Sealer.SEVSNP != nil {
		errs = append(errs, errors.New("sealer.sevsnp: set sealer.kind: sevsnp to use it"))
	}
	return errs
}

// validateSEVSNPSealer checks kind sevsnp.
func (c *FileConfig) validateSEVSNPSealer() []error {
	var errs []error
	if c.Sealer.KeyFile != "" {
		errs = append(errs, errors.New("sealer.key_file: not used with sealer.kind sevsnp: remove it"))
	}
	if c.Sealer.KMS != nil {
		errs = append(errs, errors.New("sealer.kms: not used with sealer.kind sevsnp: remove it"))
	}
	if c.Attestation.Kind != attestation.KindSEVSNP {
		errs = append(errs, fmt.Errorf("sealer.kind sevsnp runs only in an SEV-SNP guest, but attestation.kind is %q: set it to %s",
			c.Attestation.Kind, attestation.KindSEVSNP))
	}
	s := c.Sealer.SEVSNP
	if s == nil {
		return append(errs, errors.New("sealer.sevsnp: required with sealer.kind sevsnp (at least blob_file)"))
	}
	if s.BlobFile == "" {
		errs = append(errs, errors.New("sealer.sevsnp.blob_file: required: where the wrapped data key is kept, next to the store"))
	}
	switch seal.SNPRootKey(s.RootKey) {
	case "", seal.SNPRootVCEK, seal.SNPRootVMRK:
	default:
		errs = append(errs, fmt.Errorf("sealer.sevsnp.root_key: %q is not %s or %s", s.RootKey, seal.SNPRootVCEK, seal.SNPRootVMRK))
	}
	return errs
}

// sevsnpSealer builds the SEV-SNP sealer the configuration names.
func (c *FileConfig) sevsnpSealer() (seal.Sealer, error) {
	if errs := c.validateSEVSNPSealer(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := c.Sealer.SEVSNP
	return seal.SEVSNP{
		Device:   seal.NewSNPGuestDevice(s.Device),
		BlobPath: s.BlobFile,
		RootKey:  seal.SNPRootKey(s.RootKey),
	}, nil
}
