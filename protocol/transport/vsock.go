package transport

import (
	"context"
	"fmt"
	"net"

	"github.com/mdlayher/vsock"
)

// VSock is the production transport: AF_VSOCK streams between an enclave and its host.
type VSock struct{}

// vsock context IDs that never name an enclave.
const (
	cidHypervisor = 0 // reserved
	cidLocal      = 1 // loopback within this VM
	cidHost       = 2 // the hypervisor's host; an enclave is never there
	cidAny        = 1<<32 - 1
)

// The real vsock calls, behind variables so tests can prove that refused addresses never
// reach a syscall, and exercise Dial without a vsock device.
var (
	vsockListen = func(port uint32) (net.Listener, error) {
		l, err := vsock.Listen(port, nil)
		if err != nil {
			return nil, err // not l: a nil *vsock.Listener is a non-nil net.Listener
		}
		return l, nil
	}
	vsockDial = func(cid, port uint32) (net.Conn, error) {
		c, err := vsock.Dial(cid, port, nil)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
)

// Listen listens on a.Port of this machine's own context ID; a.CID is not used, since a
// socket can only listen on the CID the hypervisor gave it.
func (VSock) Listen(a Addr) (net.Listener, error) {
	if err := checkScheme(a, SchemeVsock); err != nil {
		return nil, err
	}
	return vsockListen(a.Port)
}

// Dial connects to a.CID:a.Port. It refuses context IDs 0, 1, 2 and -1 before any syscall.
//
// The vsock package cannot abandon a connect in progress, so when ctx ends first Dial
// returns at once and a background goroutine closes the connection if it completes later.
func (VSock) Dial(ctx context.Context, a Addr) (net.Conn, error) {
	if err := checkScheme(a, SchemeVsock); err != nil {
		return nil, err
	}
	if err := checkDialCID(a.CID); err != nil {
		return nil, fmt.Errorf("%s: %w", a, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, dialError(a, err)
	}
	done := make(chan dialResult, 1) // buffered: the dialer never waits for a reader
	go func() {
		c, err := vsockDial(a.CID, a.Port)
		done <- dialResult{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		go closeLate(done)
		return nil, dialError(a, ctx.Err())
	}
}

// dialResult is the outcome of a dial running in its own goroutine.
type dialResult struct {
	c   net.Conn
	err error
}

// closeLate closes a connection whose dial finished after its caller gave up.
func closeLate(done <-chan dialResult) {
	if r := <-done; r.c != nil {
		_ = r.c.Close()
	}
}

// checkDialCID refuses context IDs where no enclave can be.
func checkDialCID(cid uint32) error {
	var why string
	switch cid {
	case cidHypervisor:
		why = "it is reserved"
	case cidLocal:
		why = "it is this machine's own local context"
	case cidHost:
		why = "it is the host (the hypervisor side), where an enclave never is"
	case cidAny:
		why = "it means any context and names no peer"
	default:
		return nil
	}
	return fmt.Errorf("cannot dial vsock context ID %d: %s: %w (%w)", cid, why, ErrReservedCID, ErrInvalidAddr)
}

// dialError reports a dial that did not happen, in the form net reports one.
func dialError(a Addr, err error) error {
	return &net.OpError{Op: "dial", Net: a.Scheme, Addr: a, Err: err}
}
