package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Behaviour of the mem double beyond the conformance suite.

func memAddr(name string) Addr { return Addr{Scheme: SchemeMem, Host: name} }

func TestMemListenNameInUse(t *testing.T) {
	m := NewMem()
	l, err := m.Listen(memAddr("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Listen(memAddr("a")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second Listen: got %v, want EADDRINUSE", err)
	}
	// Another registry is another namespace.
	other, err := NewMem().Listen(memAddr("a"))
	if err != nil {
		t.Errorf("Listen in another Mem: %v", err)
	} else {
		other.Close()
	}
	l.Close()
	again, err := m.Listen(memAddr("a"))
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close of the old listener: got %v, want net.ErrClosed", err)
	}
	if _, err := m.Dial(context.Background(), memAddr("a")); err != nil {
		t.Errorf("the old listener's second Close unregistered the new one: %v", err)
	}
	again.Close()
}

func TestMemDialUnknownRefused(t *testing.T) {
	var m Mem // the zero value works too
	_, err := m.Dial(context.Background(), memAddr("nobody"))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("got %v, want ECONNREFUSED", err)
	}
	if _, err := m.Dial(context.Background(), Addr{Scheme: SchemeLoopback, Host: "127.0.0.1", Port: 1}); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("Dial of a loopback address: got %v, want ErrInvalidAddr", err)
	}
}

func TestMemUnacceptedConnClosedWithListener(t *testing.T) {
	m := NewMem()
	l, err := m.Listen(memAddr("a"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Dial(context.Background(), memAddr("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l.Close()
	if err := await(t, "Read", async(func() error { _, err := c.Read(make([]byte, 1)); return err })); err != io.EOF {
		t.Errorf("Read on a connection never accepted: got %v, want io.EOF", err)
	}
}

func TestMemPeerCloseFailsWrite(t *testing.T) {
	client, server := pair(t, func(t *testing.T) (Transport, Addr) { return NewMem(), memAddr("a") })
	server.Close()
	if _, err := client.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write to a closed peer: got %v, want EPIPE", err)
	}
	if err := client.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := client.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: got %v, want net.ErrClosed", err)
	}
}

func TestMemDeadlines(t *testing.T) {
	client, server := pair(t, func(t *testing.T) (Transport, Addr) { return NewMem(), memAddr("a") })
	client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	err := await(t, "Read with a deadline", async(func() error { _, err := client.Read(make([]byte, 1)); return err }))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("got %v, want a timeout wrapping os.ErrDeadlineExceeded", err)
	}
	// Clearing the deadline makes the connection usable again.
	client.SetReadDeadline(time.Time{})
	if _, err := server.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Read(make([]byte, 1)); err != nil {
		t.Errorf("Read after clearing the deadline: %v", err)
	}
	// A deadline moved earlier while a Read waits takes effect.
	blocked := async(func() error { _, err := client.Read(make([]byte, 1)); return err })
	client.SetDeadline(time.Now().Add(10 * time.Millisecond))
	if err := await(t, "Read across SetDeadline", blocked); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("got %v, want os.ErrDeadlineExceeded", err)
	}
	// A deadline in the past fails a Write at once.
	client.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := client.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write past its deadline: got %v, want os.ErrDeadlineExceeded", err)
	}
}

func TestMemAddrs(t *testing.T) {
	client, server := pair(t, func(t *testing.T) (Transport, Addr) { return NewMem(), memAddr("svc") })
	if got := client.RemoteAddr().String(); got != "mem://svc" {
		t.Errorf("client RemoteAddr = %s", got)
	}
	if client.LocalAddr().String() != server.RemoteAddr().String() || server.LocalAddr().String() != "mem://svc" {
		t.Errorf("addresses disagree: client %s→%s, server %s→%s",
			client.LocalAddr(), client.RemoteAddr(), server.LocalAddr(), server.RemoteAddr())
	}
	if fc := NewFrameConn(server); fc.RemoteAddr() != client.LocalAddr().String() {
		t.Errorf("FrameConn.RemoteAddr = %s", fc.RemoteAddr())
	}
}

func TestFrameConnWithoutConn(t *testing.T) {
	var fc *FrameConn
	if _, err := fc.Read(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read: %v", err)
	}
	fc = NewFrameConn(nil)
	if err := fc.Write(wire.Frame{Type: wire.FrameRequest}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write: %v", err)
	}
	if err := fc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if fc.RemoteAddr() != "<none>" {
		t.Errorf("RemoteAddr: %s", fc.RemoteAddr())
	}
}
