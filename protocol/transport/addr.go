package transport

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mdlayher/vsock"
)

// Address schemes.
const (
	SchemeLoopback = "loopback" // loopback://127.0.0.1:7101, loopback://[::1]:7101
	SchemeVsock    = "vsock"    // vsock://16:5000 (context ID : port)
	SchemeMem      = "mem"      // mem://name, in a *Mem
)

// maxMemName bounds mem:// names; they are labels in tests, not data.
const maxMemName = 64

// Addr is a transport address. Which fields mean something depends on Scheme: Host and Port
// for loopback, CID and Port for vsock, Host (the name) for mem. The rest are zero.
//
// Addr implements net.Addr, so mem:// listeners and connections report it directly.
type Addr struct {
	Scheme string
	Host   string
	Port   uint32
	CID    uint32
}

// Network returns the scheme.
func (a Addr) Network() string { return a.Scheme }

// String returns the form ParseAddr reads: ParseAddr(a.String()) == a for every valid a.
func (a Addr) String() string {
	switch a.Scheme {
	case SchemeLoopback:
		return a.Scheme + "://" + net.JoinHostPort(a.Host, strconv.FormatUint(uint64(a.Port), 10))
	case SchemeVsock:
		return fmt.Sprintf("%s://%d:%d", a.Scheme, a.CID, a.Port)
	}
	return a.Scheme + "://" + a.Host
}

// ParseAddr parses "loopback://IP:port", "vsock://CID:port" or "mem://name".
//
// A loopback host must be a loopback IP literal (127.0.0.0/8 or ::1): not a name, which
// could resolve elsewhere. Port 0 parses (for Listen: any free port) but cannot be dialed.
// A mem name is 1..64 characters from [A-Za-z0-9._-].
func ParseAddr(s string) (Addr, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Addr{}, invalidAddr("address %q has no scheme: want loopback://IP:port, vsock://CID:port or mem://name", s)
	}
	var a Addr
	var err error
	switch scheme {
	case SchemeLoopback:
		a, err = parseLoopback(rest)
	case SchemeVsock:
		a, err = parseVsock(rest)
	case SchemeMem:
		a = Addr{Scheme: SchemeMem, Host: rest}
	default:
		return Addr{}, invalidAddr("address %q: scheme %q is none of %s, %s, %s", s, scheme, SchemeLoopback, SchemeVsock, SchemeMem)
	}
	if err == nil {
		err = a.Validate()
	}
	if err != nil {
		return Addr{}, fmt.Errorf("address %q: %w", s, err)
	}
	return a, nil
}

// parseLoopback parses the IP:port of a loopback address.
func parseLoopback(hostport string) (Addr, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return Addr{}, invalidAddr("want IP:port or [IPv6]:port: %v", err)
	}
	p, err := parseUint32(port, 65535)
	if err != nil {
		return Addr{}, invalidAddr("port %q: %v", port, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Addr{}, notLoopback(host)
	}
	// Store the canonical spelling, so equal addresses compare equal.
	return Addr{Scheme: SchemeLoopback, Host: ip.String(), Port: p}, nil
}

// parseVsock parses the CID:port of a vsock address.
func parseVsock(cidport string) (Addr, error) {
	cid, port, ok := strings.Cut(cidport, ":")
	if !ok {
		return Addr{}, invalidAddr("want CID:port")
	}
	c, err := parseUint32(cid, 1<<32-1)
	if err != nil {
		return Addr{}, invalidAddr("context ID %q: %v", cid, err)
	}
	p, err := parseUint32(port, 1<<32-1)
	if err != nil {
		return Addr{}, invalidAddr("port %q: %v", port, err)
	}
	return Addr{Scheme: SchemeVsock, CID: c, Port: p}, nil
}

// parseUint32 parses a plain decimal number no greater than limit.
func parseUint32(s string, limit uint64) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("not a decimal number up to %d", limit)
	}
	if n > limit {
		return 0, fmt.Errorf("%d is more than %d", n, limit)
	}
	return uint32(n), nil
}

// Validate reports whether a is well formed for its scheme. Listen and Dial check it, since
// an Addr may be built by hand rather than parsed.
func (a Addr) Validate() error {
	switch a.Scheme {
	case SchemeLoopback:
		return a.validateLoopback()
	case SchemeVsock:
		if a.Host != "" {
			return invalidAddr("vsock address with a host %q: vsock addresses are CID:port", a.Host)
		}
		return nil
	case SchemeMem:
		return a.validateMem()
	}
	return invalidAddr("scheme %q is none of %s, %s, %s", a.Scheme, SchemeLoopback, SchemeVsock, SchemeMem)
}

// validateLoopback keeps the stand-in on this machine: a canonical loopback IP literal.
func (a Addr) validateLoopback() error {
	ip, err := netip.ParseAddr(a.Host)
	if err != nil || !ip.IsLoopback() {
		return notLoopback(a.Host)
	}
	if ip.Zone() != "" || ip.Is4In6() {
		return invalidAddr("loopback host %q: write it as 127.x.x.x or ::1", a.Host)
	}
	if ip.String() != a.Host {
		return invalidAddr("loopback host %q is not in canonical form %q", a.Host, ip.String())
	}
	if a.Port > 65535 {
		return invalidAddr("loopback port %d is more than 65535", a.Port)
	}
	if a.CID != 0 {
		return invalidAddr("loopback address with a context ID %d", a.CID)
	}
	return nil
}

// validateMem checks a mem:// name: a short label, so it can never be mistaken for a path
// or a network address.
func (a Addr) validateMem() error {
	if a.Host == "" || len(a.Host) > maxMemName {
		return invalidAddr("mem name %q must have 1..%d characters", a.Host, maxMemName)
	}
	for i := 0; i < len(a.Host); i++ {
		if !isMemNameByte(a.Host[i]) {
			return invalidAddr("mem name %q has a character other than [A-Za-z0-9._-] at offset %d", a.Host, i)
		}
	}
	if a.Port != 0 || a.CID != 0 {
		return invalidAddr("mem address with a port or context ID")
	}
	return nil
}

func isMemNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// notLoopback refuses a loopback:// host that is not a loopback IP.
func notLoopback(host string) error {
	return fmt.Errorf("host %q is not a loopback IP: the loopback stand-in only binds and dials loopback addresses (127.0.0.0/8 or ::1): %w (%w)",
		host, ErrNotLoopback, ErrInvalidAddr)
}

// addrOf converts the net.Addr of a listener or connection opened here into an Addr.
func addrOf(na net.Addr) Addr {
	switch a := na.(type) {
	case Addr:
		return a
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return Addr{}
		}
		return Addr{Scheme: SchemeLoopback, Host: ip.Unmap().String(), Port: uint32(a.Port)}
	case *vsock.Addr:
		return Addr{Scheme: SchemeVsock, CID: a.ContextID, Port: a.Port}
	}
	return Addr{}
}
