package transport

import (
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAddrValid(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Addr
		str  string // String(), when it differs from in
	}{
		{in: "loopback://127.0.0.1:7101", want: Addr{Scheme: "loopback", Host: "127.0.0.1", Port: 7101}},
		{in: "loopback://127.1.2.3:1", want: Addr{Scheme: "loopback", Host: "127.1.2.3", Port: 1}},
		{in: "loopback://127.0.0.1:0", want: Addr{Scheme: "loopback", Host: "127.0.0.1"}},
		{in: "loopback://[::1]:7101", want: Addr{Scheme: "loopback", Host: "::1", Port: 7101}},
		{in: "loopback://[0:0:0:0:0:0:0:1]:65535", want: Addr{Scheme: "loopback", Host: "::1", Port: 65535}, str: "loopback://[::1]:65535"},
		{in: "vsock://16:5000", want: Addr{Scheme: "vsock", CID: 16, Port: 5000}},
		{in: "vsock://2:5000", want: Addr{Scheme: "vsock", CID: 2, Port: 5000}}, // parses; Dial refuses it
		{in: "vsock://4294967295:4294967295", want: Addr{Scheme: "vsock", CID: 1<<32 - 1, Port: 1<<32 - 1}},
		{in: "mem://enclave-1", want: Addr{Scheme: "mem", Host: "enclave-1"}},
		{in: "mem://A.b_c-9", want: Addr{Scheme: "mem", Host: "A.b_c-9"}},
	} {
		got, err := ParseAddr(c.in)
		if err != nil {
			t.Errorf("ParseAddr(%q): %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseAddr(%q) (-want +got):\n%s", c.in, diff)
		}
		wantStr := c.in
		if c.str != "" {
			wantStr = c.str
		}
		if s := got.String(); s != wantStr {
			t.Errorf("ParseAddr(%q).String() = %q, want %q", c.in, s, wantStr)
		}
		if back, err := ParseAddr(got.String()); err != nil || back != got {
			t.Errorf("ParseAddr(%q) = %+v, %v; want %+v", got.String(), back, err, got)
		}
	}
}

func TestParseAddrInvalid(t *testing.T) {
	for _, c := range []struct {
		in   string
		want error
	}{
		{"", ErrInvalidAddr},
		{"127.0.0.1:7101", ErrInvalidAddr},
		{"tcp://127.0.0.1:7101", ErrInvalidAddr},
		{"LOOPBACK://127.0.0.1:7101", ErrInvalidAddr},
		{"loopback://127.0.0.1", ErrInvalidAddr},
		{"loopback://127.0.0.1:", ErrInvalidAddr},
		{"loopback://127.0.0.1:65536", ErrInvalidAddr},
		{"loopback://127.0.0.1:-1", ErrInvalidAddr},
		{"loopback://127.0.0.1:http", ErrInvalidAddr},
		{"loopback://127.0.0.1:7101/path", ErrInvalidAddr},
		{"loopback://10.0.0.1:7101", ErrNotLoopback},
		{"loopback://192.168.1.1:7101", ErrNotLoopback},
		{"loopback://0.0.0.0:7101", ErrNotLoopback},
		{"loopback://[::]:7101", ErrNotLoopback},
		{"loopback://[2001:db8::1]:7101", ErrNotLoopback},
		{"loopback://localhost:7101", ErrNotLoopback},
		{"loopback://example.com:7101", ErrNotLoopback},
		{"loopback://:7101", ErrNotLoopback},
		{"loopback://10.0.0.1:7101", ErrInvalidAddr}, // the specific refusal is also the general one
		{"loopback://[::ffff:127.0.0.1]:7101", ErrInvalidAddr},
		{"loopback://[::1%lo]:7101", ErrInvalidAddr},
		{"vsock://16", ErrInvalidAddr},
		{"vsock://16:", ErrInvalidAddr},
		{"vsock://:5000", ErrInvalidAddr},
		{"vsock://-1:5000", ErrInvalidAddr},
		{"vsock://+16:5000", ErrInvalidAddr},
		{"vsock://4294967296:5000", ErrInvalidAddr},
		{"vsock://16:4294967296", ErrInvalidAddr},
		{"vsock://16:5000:1", ErrInvalidAddr},
		{"vsock://host:5000", ErrInvalidAddr},
		{"mem://", ErrInvalidAddr},
		{"mem://a/b", ErrInvalidAddr},
		{"mem://a b", ErrInvalidAddr},
		{"mem://name:1", ErrInvalidAddr},
		{"mem://" + string(make([]byte, 65)), ErrInvalidAddr},
	} {
		got, err := ParseAddr(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("ParseAddr(%q) = %+v, %v; want an error wrapping %v", c.in, got, err, c.want)
		}
	}
}

func TestNotLoopbackMessage(t *testing.T) {
	_, err := ParseAddr("loopback://10.0.0.1:7101")
	const want = `address "loopback://10.0.0.1:7101": host "10.0.0.1" is not a loopback IP: the loopback stand-in only binds and dials loopback addresses (127.0.0.0/8 or ::1): transport: not a loopback address (transport: invalid address)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestHandBuiltAddrChecked checks that Listen and Dial do not trust an Addr that skipped
// ParseAddr: a non-loopback host is refused before anything is bound or dialed.
func TestHandBuiltAddrChecked(t *testing.T) {
	for _, a := range []Addr{
		{Scheme: SchemeLoopback, Host: "0.0.0.0", Port: 7101},
		{Scheme: SchemeLoopback, Host: "10.0.0.1", Port: 7101},
		{Scheme: SchemeLoopback, Host: "localhost", Port: 7101},
		{Scheme: SchemeLoopback, Host: "", Port: 7101},
	} {
		if l, err := (Loopback{}).Listen(a); !errors.Is(err, ErrNotLoopback) {
			if l != nil {
				l.Close()
			}
			t.Errorf("Listen(%+v): got %v, want ErrNotLoopback", a, err)
		}
		if c, err := (Loopback{}).Dial(t.Context(), a); !errors.Is(err, ErrNotLoopback) {
			if c != nil {
				c.Close()
			}
			t.Errorf("Dial(%+v): got %v, want ErrNotLoopback", a, err)
		}
	}
	for _, a := range []Addr{
		{Scheme: SchemeLoopback, Host: "127.0.0.1", Port: 70000},
		{Scheme: SchemeLoopback, Host: "127.000.0.1", Port: 7101},
		{Scheme: SchemeMem, Host: "x"},
		{Scheme: SchemeVsock, CID: 16, Port: 1},
	} {
		if c, err := (Loopback{}).Dial(t.Context(), a); !errors.Is(err, ErrInvalidAddr) {
			if c != nil {
				c.Close()
			}
			t.Errorf("Loopback.Dial(%+v): got %v, want ErrInvalidAddr", a, err)
		}
	}
	if _, err := (Loopback{}).Dial(t.Context(), Addr{Scheme: SchemeLoopback, Host: "127.0.0.1"}); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("Dial to port 0: got %v, want ErrInvalidAddr", err)
	}
}

func TestFor(t *testing.T) {
	mem := NewMem()
	for _, c := range []struct {
		a    string
		mem  *Mem
		want Transport
		err  error
	}{
		{a: "loopback://127.0.0.1:1", want: Loopback{}},
		{a: "vsock://16:1", want: VSock{}},
		{a: "mem://x", mem: mem, want: mem},
		{a: "mem://x", err: ErrNoMem},
	} {
		a, err := ParseAddr(c.a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := For(a, c.mem)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("For(%s) = %v, %v; want %v, %v", c.a, got, err, c.want, c.err)
		}
	}
	if _, err := For(Addr{Scheme: "tcp"}, mem); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("For(tcp): got %v, want ErrInvalidAddr", err)
	}
}

func TestListenerAddr(t *testing.T) {
	l, err := Loopback{}.Listen(Addr{Scheme: SchemeLoopback, Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a := ListenerAddr(l)
	if a.Scheme != SchemeLoopback || a.Host != "127.0.0.1" || a.Port == 0 {
		t.Errorf("ListenerAddr = %+v, want loopback://127.0.0.1 with the port bound", a)
	}
	if back, err := ParseAddr(a.String()); err != nil || back != a {
		t.Errorf("ParseAddr(%q) = %+v, %v", a, back, err)
	}
	if got := ListenerAddr(nil); got != (Addr{}) {
		t.Errorf("ListenerAddr(nil) = %+v", got)
	}
	var foreign net.Listener = foreignListener{}
	if got := ListenerAddr(foreign); got != (Addr{}) {
		t.Errorf("ListenerAddr(foreign) = %+v", got)
	}
}

// foreignListener is a net.Listener this package did not open.
type foreignListener struct{ net.Listener }

func (foreignListener) Addr() net.Addr { return &net.UnixAddr{Name: "/x", Net: "unix"} }
