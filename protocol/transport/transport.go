// Package transport provides the byte streams between a host and its enclave, and between
// hosts, behind one interface with three implementations: vsock (production), a loopback TCP
// stand-in (development on one machine), and an in-process double (tests). FrameConn carries
// wire frames over any of them.
//
// It moves bytes and nothing else: it must never interpret a frame's body, never hold a
// secret, and never reach beyond loopback when asked for the stand-in. Its vsock dialer must
// never dial the reserved, local or hypervisor context IDs, where an enclave cannot be.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrInvalidAddr means an address does not parse, or cannot be used as asked. Every
	// address refusal wraps it, including the two more specific ones below.
	ErrInvalidAddr = errors.New("transport: invalid address")
	// ErrNotLoopback means a loopback:// address names a host that is not a loopback IP.
	ErrNotLoopback = errors.New("transport: not a loopback address")
	// ErrReservedCID means a vsock dial named a context ID where no enclave can be.
	ErrReservedCID = errors.New("transport: reserved vsock context ID")
	// ErrNoMem means a mem:// address was used without the *Mem registry it lives in.
	ErrNoMem = errors.New("transport: mem:// address without a *Mem")
)

// Transport opens byte streams of one kind.
type Transport interface {
	// Listen accepts streams at a. The listener's Addr reports the full address, with the
	// real port when a asked for port 0 (see ListenerAddr).
	Listen(a Addr) (net.Listener, error)
	// Dial opens a stream to a, giving up when ctx is done.
	Dial(ctx context.Context, a Addr) (net.Conn, error)
}

// For returns the Transport that serves a's scheme. mem:// addresses live in mem, which
// must then be non-nil.
func For(a Addr, mem *Mem) (Transport, error) {
	switch a.Scheme {
	case SchemeLoopback:
		return Loopback{}, nil
	case SchemeVsock:
		return VSock{}, nil
	case SchemeMem:
		if mem == nil {
			return nil, fmt.Errorf("%s: %w", a, ErrNoMem)
		}
		return mem, nil
	}
	return nil, invalidAddr("scheme %q is none of %s, %s, %s", a.Scheme, SchemeLoopback, SchemeVsock, SchemeMem)
}

// ListenerAddr returns the address l listens on, in the form ParseAddr reads, so it can be
// handed to a dialer; for a listener opened on port 0 it has the port actually bound. It
// returns the zero Addr for a listener this package did not open.
func ListenerAddr(l net.Listener) Addr {
	if l == nil {
		return Addr{}
	}
	return addrOf(l.Addr())
}

// invalidAddr reports an unusable address, saying why.
func invalidAddr(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrInvalidAddr)...)
}
