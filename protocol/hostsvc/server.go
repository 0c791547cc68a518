package hostsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// CredentialSource hands out the instance's AWS credentials.
type CredentialSource interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// Server is the host's side of the stream: it keeps its enclave's log in Log and hands out
// Credentials. Either may be nil, and then requests for it fail with ErrNotOffered.
type Server struct {
	Log         *FileLog
	Credentials CredentialSource
	Logger      *slog.Logger
	// CredentialsTimeout bounds one fetch of credentials (default 10 s).
	CredentialsTimeout time.Duration
}

// Serve accepts enclave connections on l until ctx ends, and then closes l and them.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	context.AfterFunc(ctx, func() { _ = l.Close() })
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.Logger.Warn("enclave services: accept failed", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		fc := transport.NewFrameConn(c)
		stop := context.AfterFunc(ctx, func() { _ = fc.Close() })
		wg.Go(func() {
			defer stop()
			defer fc.Close()
			(&serverConn{s: s, fc: fc}).serve(ctx)
		})
	}
}

// serverConn is one enclave connection and the entry body it is uploading, if any.
type serverConn struct {
	s      *Server
	fc     *transport.FrameConn
	upload *upload
}

// upload is an entry body arriving in chunks.
type upload struct {
	method string
	seq    uint64
	total  uint32
	body   []byte
}

// serve answers requests one at a time until the connection ends. A frame that is not a
// request ends the connection: the stream is no longer in step.
func (c *serverConn) serve(ctx context.Context) {
	for {
		f, err := c.fc.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				c.s.Logger.Warn("enclave services: closing an unreadable connection", "remote", c.fc.RemoteAddr(), "err", err)
			}
			return
		}
		if f.Type != wire.FrameRequest {
			c.s.Logger.Warn("enclave services: closing a connection that sent a non-request frame", "type", f.Type.String())
			return
		}
		req, err := wire.DecodeRequest(f.Body)
		if err != nil {
			c.s.Logger.Warn("enclave services: closing a connection that sent an undecodable request", "err", err)
			return
		}
		body, err := c.handle(ctx, req)
		resp := &wire.Response{ID: req.ID, Body: body}
		if err != nil {
			resp.Body, resp.Err = nil, toRemote(err)
			level := slog.LevelWarn
			if errors.Is(err, fs.ErrNotExist) {
				level = slog.LevelDebug // no KMS blob yet: every first start asks
			}
			c.s.Logger.Log(ctx, level, "enclave services: request failed", "method", req.Method, "err", err)
		}
		if err := c.fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()}); err != nil {
			return
		}
	}
}

// handle runs one request.
func (c *serverConn) handle(ctx context.Context, req *wire.Request) ([]byte, error) {
	if req.Method == MethodCredentials {
		return c.credentials(ctx, req.Body)
	}
	if c.s.Log == nil {
		return nil, fmt.Errorf("%s: this host keeps no enclave store (enclave_services.store_dir): %w", req.Method, ErrNotOffered)
	}
	switch req.Method {
	case MethodLogRead:
		r, err := DecodeReadRequest(req.Body)
		if err != nil {
			return nil, err
		}
		rep, err := c.s.Log.Read(r.Offset, r.Max)
		if err != nil {
			return nil, err
		}
		return rep.Encode(), nil
	case MethodLogAppend, MethodLogCompact:
		return nil, c.chunk(req)
	case MethodBlobGet:
		if len(req.Body) != 0 {
			return nil, malformed("blob.get takes no body")
		}
		return c.s.Log.Blob()
	case MethodBlobPut:
		blob, err := DecodeBlob(req.Body)
		if err != nil {
			return nil, err
		}
		saved, err := c.s.Log.PublishBlob(blob)
		if err != nil {
			return nil, err
		}
		return EncodeSaved(saved), nil
	}
	return nil, malformed("unknown method %q", req.Method)
}

// chunk takes one chunk of an upload and, with the last one, writes the entry.
func (c *serverConn) chunk(req *wire.Request) error {
	ch, err := DecodeChunk(req.Body)
	if err != nil {
		c.upload = nil
		return err
	}
	if ch.Offset == 0 {
		c.upload = &upload{method: req.Method, seq: ch.Seq, total: ch.Total}
	}
	u := c.upload
	if u == nil || u.method != req.Method || u.seq != ch.Seq || u.total != ch.Total || int(ch.Offset) != len(u.body) {
		c.upload = nil
		return malformed("%s chunk at offset %d for entry %d does not continue the upload in progress: start again at offset 0", req.Method, ch.Offset, ch.Seq)
	}
	// Grown as chunks arrive, never allocated up front from the claimed total.
	u.body = append(u.body, ch.Data...)
	if !ch.Last() {
		return nil
	}
	c.upload = nil
	if req.Method == MethodLogAppend {
		return c.s.Log.Append(u.seq, u.body)
	}
	return c.s.Log.Compact(u.seq, u.body)
}

// credentials answers aws.credentials.
func (c *serverConn) credentials(ctx context.Context, body []byte) ([]byte, error) {
	if len(body) != 0 {
		return nil, malformed("aws.credentials takes no body")
	}
	if c.s.Credentials == nil {
		return nil, fmt.Errorf("aws.credentials: this host hands out no AWS credentials (enclave_services.credentials): %w", ErrNotOffered)
	}
	timeout := c.s.CredentialsTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	creds, err := c.s.Credentials.Credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws.credentials: %w: %w", err, ErrNotOffered)
	}
	if err := creds.Validate(); err != nil {
		return nil, fmt.Errorf("aws.credentials: the host's own credentials do not validate: %w", err)
	}
	return EncodeCredentials(creds), nil
}

// Error codes on the stream.
const (
	codeBadRequest  = "bad_request"
	codeNotFound    = "not_found"
	codeConflict    = "conflict"
	codeFull        = "full"
	codeUnavailable = "unavailable"
	codeInternal    = "internal"
)

// toRemote is the one place the server's errors become wire error codes.
func toRemote(err error) *wire.RemoteError {
	code := codeInternal
	switch {
	case errors.Is(err, wire.ErrMalformed):
		code = codeBadRequest
	case errors.Is(err, fs.ErrNotExist):
		code = codeNotFound
	case errors.Is(err, ErrConflict):
		code = codeConflict
	case errors.Is(err, ErrLogFull):
		code = codeFull
	case errors.Is(err, ErrNotOffered):
		code = codeUnavailable
	}
	msg := err.Error()
	if len(msg) > wire.MaxMessageLen {
		msg = msg[:wire.MaxMessageLen]
	}
	return &wire.RemoteError{Code: code, Message: strings.ToValidUTF8(msg, "")}
}
