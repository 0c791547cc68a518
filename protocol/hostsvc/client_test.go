package hostsvc

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// testHost serves a FileLog (and optionally credentials) on a loopback port, and can be
// stopped and started again on the same port, as a host restarts.
type testHost struct {
	t     *testing.T
	addr  transport.Addr
	srv   *Server
	mu    sync.Mutex
	stop  context.CancelFunc
	done  chan struct{}
	creds CredentialSource
}

func newTestHost(t *testing.T, withLog bool, creds CredentialSource) *testHost {
	t.Helper()
	h := &testHost{t: t, srv: &Server{Credentials: creds}}
	if withLog {
		h.srv.Log = openTestLog(t, t.TempDir())
	}
	h.start(transport.Addr{Scheme: transport.SchemeLoopback, Host: "127.0.0.1"})
	t.Cleanup(h.halt)
	return h
}

func (h *testHost) start(addr transport.Addr) {
	h.t.Helper()
	l, err := transport.Loopback{}.Listen(addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.addr = transport.ListenerAddr(l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.mu.Lock()
	h.stop, h.done = cancel, done
	h.mu.Unlock()
	go func() { _ = h.srv.Serve(ctx, l); close(done) }()
}

func (h *testHost) halt() {
	h.mu.Lock()
	stop, done := h.stop, h.done
	h.mu.Unlock()
	stop()
	<-done
}

func newTestClient(t *testing.T, addr transport.Addr) *Client {
	t.Helper()
	c, err := NewClient(addr, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestClientServerLog(t *testing.T) {
	h := newTestHost(t, true, nil)
	c := newTestClient(t, h.addr)
	ctx := t.Context()
	big := bytes.Repeat([]byte("0123456789abcdef"), (2*MaxChunk+100)/16) // three chunks
	if err := c.Append(ctx, 1, []byte("small")); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(ctx, 2, big); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(ctx, 2, big); err != nil {
		t.Fatalf("repeating the last append: %v", err)
	}
	if err := c.Append(ctx, 2, []byte("other")); !errors.Is(err, ErrConflict) {
		t.Fatalf("a conflicting append: %v, want ErrConflict", err)
	}
	image, err := c.ReadLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseImage(image)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || string(entries[0].Body) != "small" || !bytes.Equal(entries[1].Body, big) {
		t.Fatalf("read back %d entries", len(entries))
	}
	if err := c.Compact(ctx, 2, big); err != nil {
		t.Fatal(err)
	}
	if image, err = c.ReadLog(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, err = ParseImage(image); err != nil || len(entries) != 1 || entries[0].Kind != EntrySnapshot {
		t.Fatalf("after compaction: %v, %d entries", err, len(entries))
	}
}

func TestClientBlobAndNotOffered(t *testing.T) {
	h := newTestHost(t, true, nil)
	c := newTestClient(t, h.addr)
	ctx := t.Context()
	if _, err := c.Blob(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Blob = %v, want fs.ErrNotExist", err)
	}
	if saved, err := c.PublishBlob(ctx, []byte("blob")); err != nil || !saved {
		t.Fatalf("PublishBlob = %v, %v", saved, err)
	}
	if saved, err := c.PublishBlob(ctx, []byte("other")); err != nil || saved {
		t.Fatalf("PublishBlob again = %v, %v; want kept", saved, err)
	}
	if b, err := c.Blob(ctx); err != nil || string(b) != "blob" {
		t.Fatalf("Blob = %q, %v", b, err)
	}
	if _, err := c.Credentials(ctx); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("Credentials from a host that offers none: %v, want ErrNotOffered", err)
	}

	bare := newTestHost(t, false, nil)
	c2 := newTestClient(t, bare.addr)
	if _, err := c2.ReadLog(ctx); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("ReadLog from a host without a log: %v, want ErrNotOffered", err)
	}
}

type fixedCreds struct {
	c   Credentials
	err error
}

func (f fixedCreds) Credentials(context.Context) (Credentials, error) { return f.c, f.err }

func TestClientCredentials(t *testing.T) {
	h := newTestHost(t, false, fixedCreds{c: testCreds()})
	c := newTestClient(t, h.addr)
	got, err := c.Credentials(t.Context())
	if err != nil || got != testCreds() {
		t.Fatalf("Credentials = %v, %v", got, err)
	}
	failing := newTestHost(t, false, fixedCreds{err: errors.New("IMDS unreachable")})
	if _, err := newTestClient(t, failing.addr).Credentials(t.Context()); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("Credentials when the host has none: %v, want ErrNotOffered", err)
	}
	invalid := newTestHost(t, false, fixedCreds{c: Credentials{AccessKeyID: "short", SecretAccessKey: "s"}})
	if _, err := newTestClient(t, invalid.addr).Credentials(t.Context()); err == nil {
		t.Fatal("the host handed out credentials that do not validate")
	}
}

// TestClientSurvivesHostRestart stops the host between two appends: the client reconnects and
// the second append lands after the first.
func TestClientSurvivesHostRestart(t *testing.T) {
	h := newTestHost(t, true, nil)
	c := newTestClient(t, h.addr)
	if err := c.Append(t.Context(), 1, []byte("before")); err != nil {
		t.Fatal(err)
	}
	h.halt()
	restarted := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		h.start(h.addr)
		close(restarted)
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Append(ctx, 2, []byte("after")); err != nil {
		t.Fatalf("Append across a host restart: %v", err)
	}
	<-restarted
	image, err := c.ReadLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := ParseImage(image); err != nil || len(entries) != 2 {
		t.Fatalf("after the restart: %v, %d entries", err, len(entries))
	}
}

func TestClientGivesUpWithContext(t *testing.T) {
	// A port nobody listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := transport.ListenerAddr(l)
	l.Close()
	c := newTestClient(t, addr)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if _, err := c.ReadLog(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadLog with no host = %v, want DeadlineExceeded", err)
	}
	// Close ends a call that would otherwise wait for its context.
	done := make(chan error, 1)
	go func() { _, err := c.ReadLog(t.Context()); done <- err }()
	time.Sleep(200 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errClientClosed) {
			t.Fatalf("ReadLog ended by Close = %v, want errClientClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a call in progress")
	}
}

// TestServerRefusesBrokenUploads sends chunks out of order: the server refuses, and a fresh
// upload from offset 0 still works.
func TestServerRefusesBrokenUploads(t *testing.T) {
	h := newTestHost(t, true, nil)
	c := newTestClient(t, h.addr)
	ctx := t.Context()
	if err := c.do(ctx, "test", func(ctx context.Context) error {
		_, err := c.call(ctx, MethodLogAppend, Chunk{Seq: 1, Total: 4, Offset: 2, Data: []byte("cd")}.Encode())
		return err
	}); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("a chunk without its start: %v, want ErrMalformed", err)
	}
	if err := c.do(ctx, "test", func(ctx context.Context) error {
		if _, err := c.call(ctx, MethodLogAppend, Chunk{Seq: 1, Total: 4, Offset: 0, Data: []byte("ab")}.Encode()); err != nil {
			return err
		}
		_, err := c.call(ctx, MethodLogCompact, Chunk{Seq: 1, Total: 4, Offset: 2, Data: []byte("cd")}.Encode())
		return err
	}); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("an append finished as a compaction: %v, want ErrMalformed", err)
	}
	if err := c.Append(ctx, 1, []byte("abcd")); err != nil {
		t.Fatal(err)
	}
	if h.srv.Log.Size() != int64(len(EncodeImage([]Entry{rec(1, "abcd")}))) {
		t.Fatal("the refused uploads left something in the log")
	}
}
