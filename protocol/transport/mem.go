package transport

import (
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// Mem is an in-process transport for tests: a registry of named listeners, and connections
// that behave like TCP over loopback (buffered in each direction, with deadlines; after Close
// a Read fails and the peer reads io.EOF; Accept on a closed listener fails with
// net.ErrClosed; a dial to a name nobody listens on is refused at once). Create one with
// NewMem; the zero value also works.
type Mem struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	dials     uint64 // numbers dialers, to tell their addresses apart
}

// memBacklog is how many dialed connections wait for Accept before further dials are
// refused, as a full TCP backlog would turn them away.
const memBacklog = 128

// NewMem returns an empty registry.
func NewMem() *Mem { return &Mem{} }

// Listen registers a listener under a's name; the name must not be in use.
func (m *Mem) Listen(a Addr) (net.Listener, error) {
	if err := checkScheme(a, SchemeMem); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.listeners[a.Host]; taken {
		return nil, &net.OpError{Op: "listen", Net: SchemeMem, Addr: a, Err: syscall.EADDRINUSE}
	}
	if m.listeners == nil {
		m.listeners = make(map[string]*memListener)
	}
	l := &memListener{mem: m, addr: a, wake: make(chan struct{})}
	m.listeners[a.Host] = l
	return l, nil
}

// Dial connects to the listener registered under a's name, or fails at once with
// ECONNREFUSED if there is none.
func (m *Mem) Dial(ctx context.Context, a Addr) (net.Conn, error) {
	if err := checkScheme(a, SchemeMem); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, dialError(a, err)
	}
	m.mu.Lock()
	l := m.listeners[a.Host]
	m.dials++
	local := Addr{Scheme: SchemeMem, Host: fmt.Sprintf("%s.dialer-%d", a.Host, m.dials)}
	m.mu.Unlock()
	if l == nil {
		return nil, dialError(a, syscall.ECONNREFUSED)
	}
	client, server := newMemPair(local, a)
	if !l.enqueue(server) {
		return nil, dialError(a, syscall.ECONNREFUSED)
	}
	return client, nil
}

// unregister frees l's name, if l still holds it.
func (m *Mem) unregister(l *memListener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listeners[l.addr.Host] == l {
		delete(m.listeners, l.addr.Host)
	}
}

// memListener is a mem:// listener: a queue of dialed connections waiting for Accept.
type memListener struct {
	mem  *Mem
	addr Addr

	mu     sync.Mutex
	queue  []*memConn
	closed bool
	wake   chan struct{} // closed and replaced whenever queue or closed changes
}

// enqueue hands a dialed connection to Accept; false if the listener is closed or full.
func (l *memListener) enqueue(c *memConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.queue) >= memBacklog {
		return false
	}
	l.queue = append(l.queue, c)
	l.signal()
	return true
}

// signal wakes everyone waiting on l; l.mu must be held.
func (l *memListener) signal() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// Accept waits for a dialed connection, or fails with net.ErrClosed once l is closed.
func (l *memListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: SchemeMem, Addr: l.addr, Err: net.ErrClosed}
		}
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return c, nil
		}
		wake := l.wake
		l.mu.Unlock()
		<-wake
	}
}

// Close stops l, frees its name, and closes connections not yet accepted (their dialers read
// io.EOF, as TCP peers of an unaccepted connection see it reset).
func (l *memListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: SchemeMem, Addr: l.addr, Err: net.ErrClosed}
	}
	l.closed = true
	pending := l.queue
	l.queue = nil
	l.signal()
	l.mu.Unlock()

	l.mem.unregister(l)
	for _, c := range pending {
		_ = c.Close()
	}
	return nil
}

// Addr returns the listener's Addr.
func (l *memListener) Addr() net.Addr { return l.addr }
