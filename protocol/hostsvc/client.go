package hostsvc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Client is the enclave's side of the stream. It dials its host when first used and again
// whenever the connection fails, retrying an operation from its start until it succeeds, the
// host answers with an error, or ctx ends. Every operation is safe to repeat: reads change
// nothing, and the host acknowledges a repeated append, compaction or blob without doing it
// twice. Calls run one at a time.
type Client struct {
	addr transport.Addr
	tr   transport.Transport
	log  *slog.Logger

	// closing ends every operation in progress when Close is called.
	closing context.Context
	close   context.CancelFunc

	mu     sync.Mutex
	fc     *transport.FrameConn
	nextID uint64
}

// NewClient returns a client for the host at addr (vsock://3:PORT from a Nitro enclave, a
// loopback address in development; mem:// addresses need mem). It does not dial yet.
func NewClient(addr transport.Addr, mem *transport.Mem, logger *slog.Logger) (*Client, error) {
	tr, err := transport.For(addr, mem)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	closing, cancel := context.WithCancel(context.Background())
	return &Client{addr: addr, tr: tr, log: logger.With("host_services", addr.String()), closing: closing, close: cancel}, nil
}

// errClientClosed is returned by every call after Close.
var errClientClosed = errors.New("hostsvc: client closed")

// linkError marks a failure of the connection itself, after which the operation is retried on
// a new one.
type linkError struct{ err error }

func (e *linkError) Error() string { return "connection to the host: " + e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// Retry pacing: quick at first, then every few seconds, saying so in the log now and then.
const (
	retryFirst   = 100 * time.Millisecond
	retryMax     = 2 * time.Second
	retryLogEach = 10
)

// do runs op, on a fresh connection after each connection failure, until it succeeds, fails
// otherwise, or ctx ends.
func (c *Client) do(ctx context.Context, what string, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(c.closing, func() { cancel(errClientClosed) })()
	c.mu.Lock()
	defer c.mu.Unlock()
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		if c.closing.Err() != nil {
			return errClientClosed
		}
		err := c.connect(ctx)
		if err == nil {
			err = op(ctx)
		}
		var le *linkError
		if err == nil || !errors.As(err, &le) {
			return err
		}
		c.drop()
		if ctx.Err() != nil {
			return fmt.Errorf("hostsvc: %s: %w (last: %v)", what, context.Cause(ctx), err)
		}
		if attempt%retryLogEach == 1 {
			c.log.Warn("host services unreachable; retrying", "op", what, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hostsvc: %s: %w (last: %v)", what, context.Cause(ctx), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// connect dials if there is no connection.
func (c *Client) connect(ctx context.Context) error {
	if c.fc != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := c.tr.Dial(dctx, c.addr)
	if err != nil {
		return &linkError{err}
	}
	c.fc = transport.NewFrameConn(conn)
	return nil
}

// drop closes the connection, if any.
func (c *Client) drop() {
	if c.fc != nil {
		_ = c.fc.Close()
		c.fc = nil
	}
}

// call sends one request and waits for its response; ctx ending closes the connection.
func (c *Client) call(ctx context.Context, method string, body []byte) ([]byte, error) {
	c.nextID++
	req := &wire.Request{ID: c.nextID, Method: method, Body: body}
	fc := c.fc
	stop := context.AfterFunc(ctx, func() { _ = fc.Close() })
	defer stop()
	if err := fc.Write(wire.Frame{Type: wire.FrameRequest, Body: req.Encode()}); err != nil {
		return nil, &linkError{err}
	}
	f, err := fc.Read()
	if err != nil {
		return nil, &linkError{err}
	}
	if f.Type != wire.FrameResponse {
		return nil, &linkError{fmt.Errorf("the host sent a %s frame, want a response", f.Type)}
	}
	resp, err := wire.DecodeResponse(f.Body)
	if err != nil {
		return nil, &linkError{err}
	}
	if resp.ID != req.ID {
		return nil, &linkError{fmt.Errorf("the host answered request %d, want %d", resp.ID, req.ID)}
	}
	if resp.Err != nil {
		return nil, fromRemote(method, resp.Err)
	}
	return resp.Body, nil
}

// fromRemote maps a wire error code back to this package's sentinels.
func fromRemote(method string, re *wire.RemoteError) error {
	var sentinel error
	switch re.Code {
	case codeNotFound:
		sentinel = fs.ErrNotExist
	case codeConflict:
		sentinel = ErrConflict
	case codeFull:
		sentinel = ErrLogFull
	case codeUnavailable:
		sentinel = ErrNotOffered
	case codeBadRequest:
		sentinel = wire.ErrMalformed
	}
	if sentinel == nil {
		return fmt.Errorf("hostsvc: %s: the host says %w", method, re)
	}
	return fmt.Errorf("hostsvc: %s: the host says %w (%w)", method, re, sentinel)
}

// ReadLog returns the whole log image. It refuses an image that changes while it is read.
func (c *Client) ReadLog(ctx context.Context) ([]byte, error) {
	var image []byte
	err := c.do(ctx, MethodLogRead, func(ctx context.Context) error {
		var err error
		image, err = c.readImage(ctx)
		return err
	})
	return image, err
}

// readImage reads the image in chunks on the current connection.
func (c *Client) readImage(ctx context.Context) ([]byte, error) {
	var image []byte
	size := uint64(0)
	for first := true; first || uint64(len(image)) < size; first = false {
		req := ReadRequest{Offset: uint64(len(image)), Max: MaxChunk}
		body, err := c.call(ctx, MethodLogRead, req.Encode())
		if err != nil {
			return nil, err
		}
		rep, err := DecodeReadReply(body, req)
		if err != nil {
			return nil, fmt.Errorf("hostsvc: log.read reply: %w", err)
		}
		if !first && rep.Size != size {
			return nil, fmt.Errorf("hostsvc: the log image changed from %d to %d bytes while being read: is another enclave using this host's log? %w",
				size, rep.Size, ErrConflict)
		}
		size = rep.Size
		// Grown as data arrives, never allocated up front from the host's claimed size.
		image = append(image, rep.Data...)
	}
	return image, nil
}

// Append adds body as record seq and returns once the host has it durably.
func (c *Client) Append(ctx context.Context, seq uint64, body []byte) error {
	return c.upload(ctx, MethodLogAppend, seq, body)
}

// Compact replaces the host's log by the snapshot body at seq, durably.
func (c *Client) Compact(ctx context.Context, seq uint64, body []byte) error {
	return c.upload(ctx, MethodLogCompact, seq, body)
}

// upload sends an entry body in chunks; the reply to the last one means it is durable.
func (c *Client) upload(ctx context.Context, method string, seq uint64, body []byte) error {
	if seq == 0 || len(body) == 0 || len(body) > MaxEntryBody {
		return fmt.Errorf("hostsvc: %s of entry %d with a %d-byte body: want sequence number 1 or more and 1 to %d bytes: %w",
			method, seq, len(body), MaxEntryBody, wire.ErrMalformed)
	}
	return c.do(ctx, method, func(ctx context.Context) error {
		for _, ch := range chunks(seq, body) {
			reply, err := c.call(ctx, method, ch.Encode())
			if err != nil {
				return err
			}
			if len(reply) != 0 {
				return fmt.Errorf("hostsvc: %s reply of %d bytes, want none: %w", method, len(reply), wire.ErrMalformed)
			}
		}
		return nil
	})
}

// Blob returns the KMS data key blob the host keeps, or an error wrapping fs.ErrNotExist.
func (c *Client) Blob(ctx context.Context) ([]byte, error) {
	var blob []byte
	err := c.do(ctx, MethodBlobGet, func(ctx context.Context) error {
		body, err := c.call(ctx, MethodBlobGet, nil)
		if err != nil {
			return err
		}
		blob, err = DecodeBlob(body)
		return err
	})
	return blob, err
}

// PublishBlob asks the host to keep blob unless it keeps one already, and reports whether it
// kept this one.
func (c *Client) PublishBlob(ctx context.Context, blob []byte) (bool, error) {
	if _, err := DecodeBlob(blob); err != nil {
		return false, err
	}
	var saved bool
	err := c.do(ctx, MethodBlobPut, func(ctx context.Context) error {
		body, err := c.call(ctx, MethodBlobPut, blob)
		if err != nil {
			return err
		}
		saved, err = DecodeSaved(body)
		return err
	})
	return saved, err
}

// Credentials returns the AWS credentials the host hands out.
func (c *Client) Credentials(ctx context.Context) (Credentials, error) {
	var creds Credentials
	err := c.do(ctx, MethodCredentials, func(ctx context.Context) error {
		body, err := c.call(ctx, MethodCredentials, nil)
		if err != nil {
			return err
		}
		creds, err = DecodeCredentials(body)
		return err
	})
	return creds, err
}

// Close ends any operation in progress and closes the connection; later calls fail.
func (c *Client) Close() error {
	c.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop()
	return nil
}
