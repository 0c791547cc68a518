package transport

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// pipeCapacity is how many bytes one direction of a mem connection holds before its writer
// blocks, as a socket buffer would: enough for a frame or two, few enough that a peer that
// stops reading makes writes block, and so time out, as it would over TCP.
const pipeCapacity = 256 << 10

// halfPipe is one direction of a mem connection.
type halfPipe struct {
	mu           sync.Mutex
	buf          bytes.Buffer
	writerClosed bool          // the writing end closed: the reader drains buf, then reads io.EOF
	readerClosed bool          // the reading end closed: writes fail
	wake         chan struct{} // closed and replaced whenever anything above changes
}

func newHalfPipe() *halfPipe { return &halfPipe{wake: make(chan struct{})} }

// signal wakes everyone waiting on h; h.mu must be held.
func (h *halfPipe) signal() {
	close(h.wake)
	h.wake = make(chan struct{})
}

func (h *halfPipe) closeWriter() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writerClosed = true
	h.signal()
}

// closeReader also drops what was never read, so it can be collected.
func (h *halfPipe) closeReader() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readerClosed = true
	h.buf = bytes.Buffer{}
	h.signal()
}

// memConn is one end of a mem connection.
type memConn struct {
	rx, tx        *halfPipe
	local, remote Addr

	readDeadline, writeDeadline *deadline

	// Reads and Writes are each serialized, as on a socket: one Write's bytes are never
	// interleaved with another's.
	readMu, writeMu sync.Mutex
	closeOnce       sync.Once
}

// newMemPair returns the two ends of a new connection from dialer to listener.
func newMemPair(dialer, listener Addr) (client, server *memConn) {
	up, down := newHalfPipe(), newHalfPipe()
	client = &memConn{rx: down, tx: up, local: dialer, remote: listener,
		readDeadline: newDeadline(), writeDeadline: newDeadline()}
	server = &memConn{rx: up, tx: down, local: listener, remote: dialer,
		readDeadline: newDeadline(), writeDeadline: newDeadline()}
	return client, server
}

// Read reads what the peer wrote, waiting for at least one byte. It returns io.EOF once the
// peer has closed and everything it wrote has been read.
func (c *memConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	h := c.rx
	for {
		h.mu.Lock()
		switch {
		case h.readerClosed:
			h.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		case c.readDeadline.passed():
			h.mu.Unlock()
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		case h.buf.Len() > 0:
			n, _ := h.buf.Read(p)
			h.signal() // room for a blocked writer
			h.mu.Unlock()
			return n, nil
		case h.writerClosed:
			h.mu.Unlock()
			return 0, io.EOF
		case len(p) == 0:
			h.mu.Unlock()
			return 0, nil
		}
		wake := h.wake
		h.mu.Unlock()
		select {
		case <-wake:
		case <-c.readDeadline.wait():
		}
	}
}

// Write writes all of p, waiting while the peer's buffer is full. It fails once either end
// has closed, or when the write deadline passes (having written part of p, perhaps).
func (c *memConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	h := c.tx
	written := 0
	for {
		h.mu.Lock()
		switch {
		case h.writerClosed:
			h.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		case c.writeDeadline.passed():
			h.mu.Unlock()
			return written, c.opError("write", os.ErrDeadlineExceeded)
		case h.readerClosed:
			h.mu.Unlock()
			return written, c.opError("write", syscall.EPIPE)
		}
		if room := pipeCapacity - h.buf.Len(); room > 0 {
			n := min(room, len(p)-written)
			h.buf.Write(p[written : written+n])
			written += n
			h.signal()
		}
		if written == len(p) {
			h.mu.Unlock()
			return written, nil
		}
		wake := h.wake
		h.mu.Unlock()
		select {
		case <-wake:
		case <-c.writeDeadline.wait():
		}
	}
}

// Close closes both directions. A second Close fails with net.ErrClosed, as on a socket.
func (c *memConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.rx.closeReader()
		c.tx.closeWriter()
	})
	if !first {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

func (c *memConn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	return nil
}

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	return nil
}

func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	return nil
}

// opError reports a failed operation the way net reports it for a socket.
func (c *memConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: SchemeMem, Source: c.local, Addr: c.remote, Err: err}
}

// deadline is a settable point in time with a channel that is closed when it passes.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	expired chan struct{}
}

func newDeadline() *deadline { return &deadline{expired: make(chan struct{})} }

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.expired // the timer fired: wait until it has closed the channel
	}
	d.timer = nil
	if isClosed(d.expired) {
		d.expired = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.expired)
		return
	}
	ch := d.expired
	d.timer = time.AfterFunc(dur, func() { close(ch) })
}

// wait returns a channel closed when the current deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expired
}

func (d *deadline) passed() bool { return isClosed(d.wait()) }

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
