//go:build linux

package seal

import (
	"fmt"

	"github.com/google/go-sev-guest/client"
)

// openSNPGuest opens the sev-guest device at path.
func openSNPGuest(path string) (client.Device, error) {
	d := &client.LinuxDevice{}
	if err := d.Open(path); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrNoSNPDevice)
	}
	return d, nil
}
