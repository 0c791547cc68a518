package transport

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// These tests never open a vsock socket: the real calls are replaced by stand-ins that
// record what they were asked, or fail the test if reaching them would be a bug.

// stubVsock replaces the vsock calls for the length of a test.
func stubVsock(t *testing.T, listen func(port uint32) (net.Listener, error), dial func(cid, port uint32) (net.Conn, error)) {
	oldListen, oldDial := vsockListen, vsockDial
	t.Cleanup(func() { vsockListen, vsockDial = oldListen, oldDial })
	vsockListen, vsockDial = listen, dial
}

// forbidVsock makes any vsock syscall fail the test.
func forbidVsock(t *testing.T) {
	stubVsock(t,
		func(port uint32) (net.Listener, error) {
			t.Errorf("vsock Listen(%d) reached", port)
			return nil, errors.New("forbidden")
		},
		func(cid, port uint32) (net.Conn, error) {
			t.Errorf("vsock Dial(%d, %d) reached", cid, port)
			return nil, errors.New("forbidden")
		})
}

func TestVsockDialRefusesReservedCIDs(t *testing.T) {
	forbidVsock(t)
	for _, s := range []string{"vsock://0:5000", "vsock://1:5000", "vsock://2:5000", "vsock://4294967295:5000"} {
		a, err := ParseAddr(s)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", s, err)
		}
		c, err := VSock{}.Dial(context.Background(), a)
		if !errors.Is(err, ErrReservedCID) || !errors.Is(err, ErrInvalidAddr) || c != nil {
			t.Errorf("Dial(%s) = %v, %v; want ErrReservedCID", s, c, err)
		}
		t.Log(err)
	}
}

func TestVsockRefusesOtherSchemes(t *testing.T) {
	forbidVsock(t)
	a := Addr{Scheme: SchemeLoopback, Host: "127.0.0.1", Port: 1}
	if _, err := (VSock{}).Dial(context.Background(), a); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("Dial(%s): got %v, want ErrInvalidAddr", a, err)
	}
	if _, err := (VSock{}).Listen(a); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("Listen(%s): got %v, want ErrInvalidAddr", a, err)
	}
}

func TestVsockDialPassesAddress(t *testing.T) {
	var gotCID, gotPort uint32
	stubVsock(t, nil, func(cid, port uint32) (net.Conn, error) {
		gotCID, gotPort = cid, port
		c, peer := net.Pipe()
		peer.Close()
		return c, nil
	})
	c, err := VSock{}.Dial(context.Background(), Addr{Scheme: SchemeVsock, CID: 16, Port: 5000})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if gotCID != 16 || gotPort != 5000 {
		t.Errorf("dialed %d:%d, want 16:5000", gotCID, gotPort)
	}
}

func TestVsockListenPassesPort(t *testing.T) {
	var gotPort uint32
	stubVsock(t, func(port uint32) (net.Listener, error) {
		gotPort = port
		return nil, errors.New("no vsock here")
	}, nil)
	if _, err := (VSock{}).Listen(Addr{Scheme: SchemeVsock, CID: 16, Port: 5000}); err == nil {
		t.Fatal("the stub's error was lost")
	}
	if gotPort != 5000 {
		t.Errorf("listened on port %d, want 5000", gotPort)
	}
}

// TestVsockDialHonoursContext checks that a connect stuck in the kernel does not hold up a
// caller whose context ends, and that the connection, if it comes later, is closed.
func TestVsockDialHonoursContext(t *testing.T) {
	release := make(chan struct{})
	closed := make(chan struct{})
	stubVsock(t, nil, func(cid, port uint32) (net.Conn, error) {
		<-release
		return closeNotifier{Conn: nil, closed: closed}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := await(t, "Dial with a stuck connect", async(func() error {
		_, err := VSock{}.Dial(ctx, Addr{Scheme: SchemeVsock, CID: 16, Port: 5000})
		return err
	}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(promptly):
		t.Fatal("the late connection was not closed")
	}
}

// closeNotifier is a net.Conn that reports its Close.
type closeNotifier struct {
	net.Conn
	closed chan struct{}
}

func (c closeNotifier) Close() error {
	close(c.closed)
	return nil
}
