package transport

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// DefaultWriteTimeout is FrameConn.WriteTimeout unless changed.
const DefaultWriteTimeout = 10 * time.Second

// readBufferSize is the read buffer of a FrameConn: it saves a syscall per frame header;
// large bodies bypass it.
const readBufferSize = 32 << 10

// FrameConn carries wire frames over a stream.
//
// Read may be called by one goroutine at a time; Write by any number at once.
//
// io.EOF from Read means the peer closed cleanly between frames. Any other Read error, and
// any Write error other than a frame refused before sending, leaves the stream out of step (a
// frame may be half read or half written): the connection is unusable and the caller must
// Close it. Until then every later Read, or Write, returns the same error again rather than
// misread or miswrite the stream.
type FrameConn struct {
	// WriteTimeout bounds each Write, so a peer that stops reading cannot block a writer
	// forever. Zero means no limit. Set it before the FrameConn is shared.
	WriteTimeout time.Duration

	conn net.Conn
	r    *bufio.Reader

	readMu  sync.Mutex
	readErr error // sticky: the stream can no longer be read in step

	writeMu  sync.Mutex
	writeErr error // sticky: the stream can no longer be written in step

	closeOnce sync.Once
	closeErr  error
}

// NewFrameConn wraps c, which the FrameConn then owns.
func NewFrameConn(c net.Conn) *FrameConn {
	return &FrameConn{
		WriteTimeout: DefaultWriteTimeout,
		conn:         c,
		r:            bufio.NewReaderSize(c, readBufferSize),
	}
}

// errNoConn is what a FrameConn made without a connection reports, rather than panicking.
var errNoConn = fmt.Errorf("transport: FrameConn has no connection: %w", net.ErrClosed)

// Read returns the next frame. Bodies over wire.MaxFrameBody are refused with
// wire.ErrFrameTooLarge before anything is allocated for them.
func (c *FrameConn) Read() (wire.Frame, error) {
	if c == nil || c.conn == nil {
		return wire.Frame{}, errNoConn
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.readErr != nil {
		return wire.Frame{}, c.readErr
	}
	f, err := wire.ReadFrame(c.r, wire.MaxFrameBody)
	if err != nil {
		c.readErr = err
		return wire.Frame{}, err
	}
	return f, nil
}

// Write sends f in one write, waiting at most WriteTimeout. A frame that wire.WriteFrame
// refuses (unknown type, body too large) is reported without touching the stream.
func (c *FrameConn) Write(f wire.Frame) error {
	if c == nil || c.conn == nil {
		return errNoConn
	}
	if err := f.Validate(); err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	if err := c.writeLocked(f); err != nil {
		c.writeErr = fmt.Errorf("frame connection to %s: %w", c.RemoteAddr(), err)
		return c.writeErr
	}
	return nil
}

// writeLocked sets the deadline and writes f; c.writeMu must be held.
func (c *FrameConn) writeLocked(f wire.Frame) error {
	var dl time.Time // zero: no deadline
	if c.WriteTimeout > 0 {
		dl = time.Now().Add(c.WriteTimeout)
	}
	if err := c.conn.SetWriteDeadline(dl); err != nil {
		return err
	}
	return wire.WriteFrame(c.conn, f)
}

// Close closes the connection, unblocking any Read or Write in progress. It may be called
// more than once; later calls return what the first returned.
func (c *FrameConn) Close() error {
	if c == nil || c.conn == nil {
		return nil
	}
	c.closeOnce.Do(func() { c.closeErr = c.conn.Close() })
	return c.closeErr
}

// RemoteAddr names the peer, for logs.
func (c *FrameConn) RemoteAddr() string {
	if c == nil || c.conn == nil || c.conn.RemoteAddr() == nil {
		return "<none>"
	}
	return c.conn.RemoteAddr().String()
}
