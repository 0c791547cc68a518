//go:build !linux

package seal

import (
	"fmt"
	"runtime"

	"github.com/google/go-sev-guest/client"
)

// openSNPGuest fails: SEV-SNP guests that this sealer supports run Linux.
func openSNPGuest(path string) (client.Device, error) {
	return nil, fmt.Errorf("%s: the sev-guest driver is Linux's, this is %s: %w", path, runtime.GOOS, ErrNoSNPDevice)
}
