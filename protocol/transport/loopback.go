package transport

import (
	"context"
	"fmt"
	"net"
)

// Loopback is the TCP stand-in for vsock, for running host and enclave on one machine. It
// binds and dials loopback IPs only, so nothing it opens is reachable from elsewhere.
type Loopback struct{}

// Listen listens on a loopback address; port 0 picks a free port (see ListenerAddr).
func (Loopback) Listen(a Addr) (net.Listener, error) {
	if err := checkScheme(a, SchemeLoopback); err != nil {
		return nil, err
	}
	return net.Listen("tcp", hostPort(a))
}

// Dial connects to a loopback address.
func (Loopback) Dial(ctx context.Context, a Addr) (net.Conn, error) {
	if err := checkScheme(a, SchemeLoopback); err != nil {
		return nil, err
	}
	if a.Port == 0 {
		return nil, invalidAddr("%s: cannot dial port 0", a)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", hostPort(a))
}

// hostPort is the host:port form net wants for a loopback Addr.
func hostPort(a Addr) string {
	return net.JoinHostPort(a.Host, fmt.Sprint(a.Port))
}

// checkScheme checks that a is a valid address of the given scheme, before any syscall.
func checkScheme(a Addr, scheme string) error {
	if a.Scheme != scheme {
		return invalidAddr("%s: a %s transport cannot use a %q address", a, scheme, a.Scheme)
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("%s: %w", a, err)
	}
	return nil
}
