package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// promptly bounds anything that must not hang. Tests wait on channels with it instead of
// sleeping, so they finish as soon as the event happens.
const promptly = 10 * time.Second

// newTransport returns a transport and a fresh address to listen on with it.
type newTransport func(t *testing.T) (Transport, Addr)

func TestLoopbackConformance(t *testing.T) {
	testConformance(t, func(t *testing.T) (Transport, Addr) {
		return Loopback{}, Addr{Scheme: SchemeLoopback, Host: "127.0.0.1", Port: 0}
	})
}

var memNames atomic.Int64

func TestMemConformance(t *testing.T) {
	testConformance(t, func(t *testing.T) (Transport, Addr) {
		return NewMem(), Addr{Scheme: SchemeMem, Host: fmt.Sprintf("conformance-%d", memNames.Add(1))}
	})
}

// testConformance is what every transport must do, checked through FrameConn where frames
// are concerned and on the raw net.Conn where a misbehaving peer is needed.
func testConformance(t *testing.T, newT newTransport) {
	t.Run("FramesRoundTripBothWays", func(t *testing.T) { testRoundTrip(t, newT) })
	t.Run("ConcurrentWritersDoNotInterleave", func(t *testing.T) { testConcurrentWriters(t, newT) })
	t.Run("CloseEndsPeerRead", func(t *testing.T) { testCloseEndsPeerRead(t, newT) })
	t.Run("ReadAfterOwnCloseFails", func(t *testing.T) { testReadAfterOwnClose(t, newT) })
	t.Run("AcceptAfterCloseFails", func(t *testing.T) { testAcceptAfterClose(t, newT) })
	t.Run("DialWithoutListenerFails", func(t *testing.T) { testDialWithoutListener(t, newT) })
	t.Run("DialHonoursContext", func(t *testing.T) { testDialHonoursContext(t, newT) })
	t.Run("OversizedFrameRefused", func(t *testing.T) { testOversizedFrame(t, newT) })
	t.Run("TruncatedFrame", func(t *testing.T) { testTruncatedFrame(t, newT) })
	t.Run("WriteTimeout", func(t *testing.T) { testWriteTimeout(t, newT) })
	t.Run("InvalidFrameLeavesStreamUsable", func(t *testing.T) { testInvalidFrame(t, newT) })
}

// pair returns the two ends of a new connection: the dialer's and the listener's.
func pair(t *testing.T, newT newTransport) (client, server net.Conn) {
	t.Helper()
	tr, a := newT(t)
	l, err := tr.Listen(a)
	if err != nil {
		t.Fatalf("Listen(%s): %v", a, err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), promptly)
	defer cancel()
	client, err = tr.Dial(ctx, ListenerAddr(l))
	if err != nil {
		t.Fatalf("Dial(%s): %v", ListenerAddr(l), err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-time.After(promptly):
		t.Fatal("Accept did not return")
	}
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// framePair returns the two ends of a new connection as FrameConns.
func framePair(t *testing.T, newT newTransport) (client, server *FrameConn) {
	c, s := pair(t, newT)
	return NewFrameConn(c), NewFrameConn(s)
}

// async runs f in a goroutine and returns a channel that yields its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// await waits for an async result, failing the test if it does not come promptly.
func await(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(promptly):
		t.Fatalf("%s did not return within %v", what, promptly)
		return nil
	}
}

// readFrame reads one frame from c, failing the test if that does not end promptly.
func readFrame(t *testing.T, c *FrameConn) (wire.Frame, error) {
	t.Helper()
	var f wire.Frame
	err := await(t, "Read", async(func() error {
		var err error
		f, err = c.Read()
		return err
	}))
	return f, err
}

func testRoundTrip(t *testing.T, newT newTransport) {
	client, server := framePair(t, newT)
	frames := []wire.Frame{
		{Type: wire.FrameRequest, Body: []byte("ping")},
		{Type: wire.FrameResponse},
		{Type: wire.FrameRelay, Body: bytes.Repeat([]byte{0xa5}, 70000)},
		{Type: wire.FrameRelay, Body: bytes.Repeat([]byte{0x3c}, wire.MaxFrameBody)},
	}
	// The writes run alongside the reads: a frame may be larger than what the stream buffers.
	for dir, ends := range [][2]*FrameConn{{client, server}, {server, client}} {
		from, to := ends[0], ends[1]
		sent := async(func() error {
			for _, f := range frames {
				if err := from.Write(f); err != nil {
					return err
				}
			}
			return nil
		})
		for i, want := range frames {
			got, err := readFrame(t, to)
			if err != nil {
				t.Fatalf("direction %d, frame %d: %v", dir, i, err)
			}
			if got.Type != want.Type || !bytes.Equal(got.Body, want.Body) {
				t.Fatalf("direction %d, frame %d: got a %v frame of %d bytes, want a %v frame of %d bytes",
					dir, i, got.Type, len(got.Body), want.Type, len(want.Body))
			}
		}
		if err := await(t, "Write", sent); err != nil {
			t.Fatalf("direction %d: Write: %v", dir, err)
		}
	}
}

// Concurrent writer test sizes: 8 writers × 200 frames, with sizes from 3 bytes to 200 KiB
// so that some writes span many socket buffers.
const (
	writers         = 8
	framesPerWriter = 200
)

// concurrentBody is frame seq of writer w: its header says who and which, and the filler is
// derived from both, so a frame spliced from two writes cannot pass for either.
func concurrentBody(w, seq int) []byte {
	size := 3 + (seq*131+w*17)%9000
	if seq%50 == 7 {
		size = 200 << 10
	}
	b := make([]byte, size)
	b[0] = byte(w)
	binary.BigEndian.PutUint16(b[1:], uint16(seq))
	for i := 3; i < size; i++ {
		b[i] = byte(w*31 + seq + i)
	}
	return b
}

func testConcurrentWriters(t *testing.T, newT newTransport) {
	client, server := framePair(t, newT)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for seq := range framesPerWriter {
				if err := client.Write(wire.Frame{Type: wire.FrameRelay, Body: concurrentBody(w, seq)}); err != nil {
					errs <- fmt.Errorf("writer %d, frame %d: %w", w, seq, err)
					return
				}
			}
		})
	}
	next := make([]int, writers) // the sequence number expected next from each writer
	for range writers * framesPerWriter {
		f, err := readFrame(t, server)
		if err != nil {
			t.Fatalf("after %v frames: %v", next, err)
		}
		if len(f.Body) < 3 || int(f.Body[0]) >= writers {
			t.Fatalf("frame of %d bytes has no valid header", len(f.Body))
		}
		w, seq := int(f.Body[0]), int(binary.BigEndian.Uint16(f.Body[1:]))
		if seq != next[w] {
			t.Fatalf("writer %d: got frame %d, want %d", w, seq, next[w])
		}
		if !bytes.Equal(f.Body, concurrentBody(w, seq)) {
			t.Fatalf("writer %d, frame %d: body corrupted or interleaved", w, seq)
		}
		next[w]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testCloseEndsPeerRead(t *testing.T, newT newTransport) {
	for _, closer := range []string{"client", "server"} {
		t.Run("closed by "+closer, func(t *testing.T) {
			client, server := framePair(t, newT)
			closing, reading := client, server
			if closer == "server" {
				closing, reading = server, client
			}
			// A frame sent just before closing must still arrive, then the end of stream.
			if err := closing.Write(wire.Frame{Type: wire.FrameRequest, Body: []byte("last")}); err != nil {
				t.Fatal(err)
			}
			blocked := async(func() error { _, err := reading.Read(); return err })
			if err := await(t, "Read", blocked); err != nil {
				t.Fatalf("reading the last frame: %v", err)
			}
			// Now a Read is waiting when the peer closes.
			blocked = async(func() error { _, err := reading.Read(); return err })
			if err := closing.Close(); err != nil {
				t.Fatal(err)
			}
			if err := await(t, "Read after the peer closed", blocked); err == nil {
				t.Fatal("Read after the peer closed returned a frame")
			} else if err != io.EOF {
				t.Logf("Read after the peer closed: %v (an error, though not io.EOF)", err)
			}
			if err := closing.Close(); err != nil {
				t.Errorf("second Close: %v; want the first's result (nil)", err)
			}
		})
	}
}

func testReadAfterOwnClose(t *testing.T, newT newTransport) {
	client, _ := pair(t, newT)
	blocked := async(func() error { _, err := client.Read(make([]byte, 10)); return err })
	client.Close()
	if err := await(t, "Read blocked across Close", blocked); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read blocked across Close: got %v, want net.ErrClosed", err)
	}
	if _, err := client.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: got %v, want net.ErrClosed", err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: got %v, want net.ErrClosed", err)
	}
}

func testAcceptAfterClose(t *testing.T, newT newTransport) {
	tr, a := newT(t)
	l, err := tr.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	blocked := async(func() error { _, err := l.Accept(); return err })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := await(t, "Accept blocked across Close", blocked); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept blocked across Close: got %v, want net.ErrClosed", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: got %v, want net.ErrClosed", err)
	}
}

func testDialWithoutListener(t *testing.T, newT newTransport) {
	tr, a := newT(t)
	l, err := tr.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	gone := ListenerAddr(l)
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), promptly)
	defer cancel()
	err = await(t, "Dial to nobody", async(func() error {
		c, err := tr.Dial(ctx, gone)
		if err == nil {
			c.Close()
		}
		return err
	}))
	if err == nil {
		t.Fatalf("Dial(%s) with no listener succeeded", gone)
	}
	if ctx.Err() != nil {
		t.Fatalf("Dial(%s) failed only when its context expired: %v", gone, err)
	}
	t.Log(err)
}

func testDialHonoursContext(t *testing.T, newT newTransport) {
	tr, a := newT(t)
	l, err := tr.Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := tr.Dial(ctx, ListenerAddr(l))
	if err == nil {
		c.Close()
		t.Fatal("Dial with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func testOversizedFrame(t *testing.T, newT newTransport) {
	client, server := pair(t, newT)
	fs := NewFrameConn(server)
	// A header claiming a body one byte over the limit, and nothing more.
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:], wire.MaxFrameBody+2)
	hdr[4] = byte(wire.FrameRelay)
	if _, err := client.Write(hdr[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(t, fs); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("got %v, want wire.ErrFrameTooLarge", err)
	}
	// The stream is out of step now; Read must keep saying so rather than read on.
	if _, err := fs.Read(); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Errorf("second Read: got %v, want the same wire.ErrFrameTooLarge", err)
	}
}

func testTruncatedFrame(t *testing.T, newT newTransport) {
	client, server := pair(t, newT)
	fs := NewFrameConn(server)
	// A whole frame, then one promising 16 bytes of body with only 2 sent.
	raw := []byte{0, 0, 0, 3, byte(wire.FrameRequest), 'o', 'k', 0, 0, 0, 17, byte(wire.FrameRelay), 0xab, 0xcd}
	if _, err := client.Write(raw); err != nil {
		t.Fatal(err)
	}
	client.Close()
	f, err := readFrame(t, fs)
	if err != nil || string(f.Body) != "ok" {
		t.Fatalf("first frame: %v, %v", f, err)
	}
	if _, err := readFrame(t, fs); !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("got %v, want wire.ErrTruncated", err)
	}
}

func testWriteTimeout(t *testing.T, newT newTransport) {
	client, _ := framePair(t, newT) // the server never reads
	client.WriteTimeout = 200 * time.Millisecond
	big := wire.Frame{Type: wire.FrameRelay, Body: make([]byte, wire.MaxFrameBody)}
	err := await(t, "writing to a peer that does not read", async(func() error {
		for range 256 { // 256 MiB: far more than any socket buffers
			if err := client.Write(big); err != nil {
				return err
			}
		}
		return nil
	}))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want os.ErrDeadlineExceeded", err)
	}
	if err := client.Write(wire.Frame{Type: wire.FrameRequest}); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write after a timed-out Write: got %v, want the same error", err)
	}
}

func testInvalidFrame(t *testing.T, newT newTransport) {
	client, server := framePair(t, newT)
	if err := client.Write(wire.Frame{Type: 9}); !errors.Is(err, wire.ErrUnknownFrameType) {
		t.Fatalf("got %v, want wire.ErrUnknownFrameType", err)
	}
	if err := client.Write(wire.Frame{Type: wire.FrameRelay, Body: make([]byte, wire.MaxFrameBody+1)}); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("got %v, want wire.ErrFrameTooLarge", err)
	}
	if err := client.Write(wire.Frame{Type: wire.FrameRequest, Body: []byte("after")}); err != nil {
		t.Fatalf("a refused frame broke the connection: %v", err)
	}
	f, err := readFrame(t, server)
	if err != nil || string(f.Body) != "after" {
		t.Fatalf("got %v, %v; want the frame sent after the refused ones", f, err)
	}
}
