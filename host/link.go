package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// errLinkDown is returned at once by calls on a link that is not connected, so a lost party
// fails a request fast instead of making it wait.
var errLinkDown = errors.New("link down")

// link is a reconnecting framed connection that multiplexes requests (matched to responses by
// id) and carries relays both ways. The host has one to its own enclave and one to each peer
// host; through a peer link it calls that peer's enclave.
type link struct {
	name string
	log  *slog.Logger
	dial func(ctx context.Context) (net.Conn, error)
	// onConnect runs on every new connection before it is used (e.g. hello).
	onConnect func(ctx context.Context, l *link) error
	// onRelay receives relays arriving on the link.
	onRelay func(r *wire.Relay)
	// onNotice receives responses with id 0: inputs the far side refused.
	onNotice func(e *wire.RemoteError)

	mu      sync.Mutex
	conn    *transport.FrameConn
	pending map[uint64]chan *wire.Response
	nextID  atomic.Uint64
	lastErr error
	// waiting counts frames waiting in sendLater for the link to come back.
	waiting atomic.Int32
}

func newLink(name string, log *slog.Logger, dial func(context.Context) (net.Conn, error)) *link {
	return &link{name: name, log: log.With("link", name), dial: dial, pending: map[uint64]chan *wire.Response{}, lastErr: errLinkDown}
}

// run keeps the link connected until ctx ends.
func (l *link) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := l.dial(dctx)
		cancel()
		if err != nil {
			l.setErr(err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		fc := transport.NewFrameConn(c)
		done := make(chan struct{})
		go func() {
			l.readLoop(fc)
			close(done)
		}()
		l.mu.Lock()
		l.conn, l.lastErr = fc, nil
		l.mu.Unlock()
		if l.onConnect != nil {
			if err := l.onConnect(ctx, l); err != nil {
				l.log.Warn("link set-up failed", "err", err)
				fc.Close()
			}
		}
		select {
		case <-ctx.Done():
			fc.Close()
			<-done
			return
		case <-done:
		}
	}
}

func (l *link) setErr(err error) {
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
}

// readLoop dispatches frames until the connection fails, then fails every pending call.
func (l *link) readLoop(fc *transport.FrameConn) {
	var cause error
	for {
		f, err := fc.Read()
		if err != nil {
			cause = err
			break
		}
		switch f.Type {
		case wire.FrameResponse:
			resp, err := wire.DecodeResponse(f.Body)
			if err != nil {
				cause = err
				break
			}
			if resp.ID == 0 {
				if l.onNotice != nil && resp.Err != nil {
					l.onNotice(resp.Err)
				}
				continue
			}
			l.mu.Lock()
			ch := l.pending[resp.ID]
			delete(l.pending, resp.ID)
			l.mu.Unlock()
			if ch != nil {
				ch <- resp
			}
			continue
		case wire.FrameRelay:
			r, err := wire.DecodeRelay(f.Body)
			if err != nil {
				cause = err
				break
			}
			if l.onRelay != nil {
				l.onRelay(r)
			}
			continue
		default:
			cause = fmt.Errorf("unexpected %s frame", f.Type)
		}
		break
	}
	fc.Close()
	l.mu.Lock()
	if l.conn == fc {
		l.conn = nil
		l.lastErr = fmt.Errorf("%w: %v", errLinkDown, cause)
	}
	pending := l.pending
	l.pending = map[uint64]chan *wire.Response{}
	l.mu.Unlock()
	for _, ch := range pending {
		ch <- &wire.Response{Err: &wire.RemoteError{Code: wire.CodeUnavailable, Message: fmt.Sprintf("%s: connection lost", l.name)}}
	}
}

// connected reports whether the link is up, and why not.
func (l *link) connected() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn != nil, l.lastErr
}

// call sends a request and waits for its response or ctx.
func (l *link) call(ctx context.Context, method string, body []byte) (*wire.Response, error) {
	ch := make(chan *wire.Response, 1)
	id := l.nextID.Add(1)
	l.mu.Lock()
	fc := l.conn
	if fc == nil {
		err := l.lastErr
		l.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", l.name, err)
	}
	l.pending[id] = ch
	l.mu.Unlock()
	req := &wire.Request{ID: id, Method: method, Body: body}
	if err := fc.Write(wire.Frame{Type: wire.FrameRequest, Body: req.Encode()}); err != nil {
		l.forget(id)
		return nil, fmt.Errorf("%s: %w: %v", l.name, errLinkDown, err)
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		l.forget(id)
		return nil, ctx.Err()
	}
}

func (l *link) forget(id uint64) {
	l.mu.Lock()
	delete(l.pending, id)
	l.mu.Unlock()
}

// Relays wait a little for a link that is reconnecting. Nothing retransmits a protocol message
// the relay drops, so a frame lost while a peer's host or enclave reconnects (after a restart,
// or while a loaded machine is slow to accept) would leave its run waiting for the run's
// timeout; waiting up to relayWait for the link costs a goroutine and the frame's bytes. The
// channel layer above tolerates the reordering this causes (its replay window accepts frames
// out of order) and still refuses any replay. At most maxWaitingFrames wait per link, so a
// party that stays down cannot make frames pile up: beyond that they are dropped, as before.
const (
	relayWait        = 3 * time.Second
	relayRetryEvery  = 20 * time.Millisecond
	maxWaitingFrames = 1024
)

// sendLater sends f as soon as the link is up, trying for up to within in the background, and
// reports the outcome to done (nil: sent). It returns false, without calling done, when
// maxWaitingFrames frames already wait.
func (l *link) sendLater(f wire.Frame, within time.Duration, done func(error)) bool {
	if l.waiting.Add(1) > maxWaitingFrames {
		l.waiting.Add(-1)
		return false
	}
	go func() {
		defer l.waiting.Add(-1)
		deadline := time.Now().Add(within)
		for {
			err := l.send(f)
			if err == nil || time.Now().After(deadline) {
				done(err)
				return
			}
			time.Sleep(relayRetryEvery)
		}
	}()
	return true
}

// send writes a relay or other one-way frame.
func (l *link) send(f wire.Frame) error {
	l.mu.Lock()
	fc, err := l.conn, l.lastErr
	l.mu.Unlock()
	if fc == nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	return fc.Write(f)
}
