package seal

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/google/go-sev-guest/client"
)

// DefaultSNPGuestDevice is where the Linux sev-guest driver puts the guest's device.
const DefaultSNPGuestDevice = "/dev/sev-guest"

// SNPGuestDevice is this guest's AMD secure processor, reached through the Linux sev-guest
// driver with go-sev-guest. Derived keys need the driver's ioctl interface: the configfs-tsm
// report interface that newer kernels add has no MSG_KEY_REQ.
type SNPGuestDevice struct {
	path string
}

var _ SNPDevice = (*SNPGuestDevice)(nil)

// NewSNPGuestDevice returns the device at path, or at DefaultSNPGuestDevice if path is empty.
// It is opened for each request, so that a device that appears later (a driver loaded after
// start) is found, and no descriptor is held between the two requests of a start.
func NewSNPGuestDevice(path string) *SNPGuestDevice {
	if path == "" {
		path = DefaultSNPGuestDevice
	}
	return &SNPGuestDevice{path: path}
}

// CommittedTCB asks for an attestation report at VMPL 0 and returns its COMMITTED_TCB. The
// report stays in the enclave; its REPORT_DATA is zero.
func (d *SNPGuestDevice) CommittedTCB(ctx context.Context) (uint64, error) {
	dev, err := d.open(ctx)
	if err != nil {
		return 0, err
	}
	defer dev.Close()
	report, err := client.GetReportAtVmpl(dev, [64]byte{}, snpVMPL)
	if err != nil {
		return 0, fmt.Errorf("SNP report from %s: %w", d.path, err)
	}
	return report.GetCommittedTcb(), nil
}

// DeriveKey sends MSG_KEY_REQ for req.
func (d *SNPGuestDevice) DeriveKey(ctx context.Context, req SNPKeyRequest) ([]byte, error) {
	sel, err := guestFieldSelect(req.FieldSelect)
	if err != nil {
		return nil, err
	}
	if _, err := rootKeySelect(req.RootKey); err != nil {
		return nil, err
	}
	dev, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	resp, err := client.GetDerivedKeyAcknowledgingItsLimitations(dev, &client.SnpDerivedKeyReq{
		UseVCEK:          req.RootKey == SNPRootVCEK,
		GuestFieldSelect: sel,
		Vmpl:             req.VMPL,
		TCBVersion:       req.TCBVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("MSG_KEY_REQ through %s: %w", d.path, err)
	}
	key := bytes.Clone(resp.Data[:])
	clear(resp.Data[:])
	return key, nil
}

// open checks ctx and that path is a character device before opening it, so that a missing
// device is a clear error rather than an ioctl failure on whatever file is there.
func (d *SNPGuestDevice) open(ctx context.Context) (client.Device, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(d.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: run the enclave in an SEV-SNP guest whose kernel has the sev-guest driver, "+
			"or use sealer kind key_file for development: %w", d.path, err, ErrNoSNPDevice)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		return nil, fmt.Errorf("%s is not a character device (mode %s): point sealer.sevsnp.device at the sev-guest device: %w",
			d.path, fi.Mode(), ErrNoSNPDevice)
	}
	return openSNPGuest(d.path)
}

// guestFieldSelect converts the ABI bitmask into go-sev-guest's form, refusing bits it cannot
// express.
func guestFieldSelect(bits uint64) (client.GuestFieldSelect, error) {
	const known = SNPFieldGuestPolicy | SNPFieldImageID | SNPFieldFamilyID | SNPFieldMeasurement | SNPFieldGuestSVN | SNPFieldTCBVersion
	if bits&^known != 0 {
		return client.GuestFieldSelect{}, fmt.Errorf("seal: guest field select %#x has bits the SEV-SNP sealer does not know", bits)
	}
	return client.GuestFieldSelect{
		GuestPolicy: bits&SNPFieldGuestPolicy != 0,
		ImageID:     bits&SNPFieldImageID != 0,
		FamilyID:    bits&SNPFieldFamilyID != 0,
		Measurement: bits&SNPFieldMeasurement != 0,
		GuestSVN:    bits&SNPFieldGuestSVN != 0,
		TCBVersion:  bits&SNPFieldTCBVersion != 0,
	}, nil
}
