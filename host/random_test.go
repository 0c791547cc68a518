package host

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// fakeEnclave stands in for the host's enclave on the in-memory transport: it answers hello and
// status, and hands every other request to answer.
type fakeEnclave func(req *wire.Request) ([]byte, *wire.RemoteError)

func (th *testHost) serveEnclave(t *testing.T, answer fakeEnclave) {
	t.Helper()
	l, err := th.mem.Listen(transport.Addr{Scheme: transport.SchemeMem, Host: "nobody-listens"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go answer.serve(transport.NewFrameConn(c))
		}
	}()
}

func (answer fakeEnclave) serve(fc *transport.FrameConn) {
	defer fc.Close()
	for {
		f, err := fc.Read()
		if err != nil {
			return
		}
		req, err := wire.DecodeRequest(f.Body)
		if err != nil {
			return
		}
		resp := &wire.Response{ID: req.ID}
		switch req.Method {
		case wire.MethodHello, wire.MethodStatus:
			resp.Body = wire.EncodeJSON(wire.StatusReply{Party: 1, BootID: "fake"})
		default:
			resp.Body, resp.Err = answer(req)
		}
		if fc.Write(wire.Frame{Type: wire.FrameResponse, Body: resp.Encode()}) != nil {
			return
		}
	}
}

func testClient(t *testing.T, th *testHost) *api.Client {
	t.Helper()
	c, err := api.NewClient(api.ClientOptions{URL: th.apiURL, TokenFile: th.cfg.API.TokenFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Status != status || apiErr.Message == "" {
		t.Fatalf("%s: got %v, want HTTP %d with a message", what, err, status)
	}
}

// POST /v1/random answers with exactly the bytes the host's own enclave produced, checks the
// size before asking, and answers 503 rather than its own randomness when the enclave is gone.
func TestRandomComesFromOurEnclave(t *testing.T) {
	th := startTestHost(t, false)
	c := testClient(t, th)
	ctx := context.Background()

	_, err := c.Random(ctx, api.RandomRequest{Bytes: 16})
	wantStatus(t, "random without an enclave", err, http.StatusServiceUnavailable)

	asked := make(chan int, 10)
	th.serveEnclave(t, func(req *wire.Request) ([]byte, *wire.RemoteError) {
		if req.Method != wire.MethodRandom {
			return nil, &wire.RemoteError{Code: wire.CodeBadRequest, Message: "not served by the fake"}
		}
		var args wire.RandomArgs
		if err := wire.DecodeJSON(req.Body, &args); err != nil {
			return nil, &wire.RemoteError{Code: wire.CodeBadRequest, Message: err.Error()}
		}
		asked <- args.Bytes
		return wire.EncodeJSON(wire.RandomReply{Random: bytes.Repeat([]byte{0xA5}, args.Bytes)}), nil
	})
	waitUntil(t, "the host to reach the fake enclave", func() bool { return th.h.reachable(1) })

	got, err := c.Random(ctx, api.RandomRequest{Bytes: api.MaxRandomBytes})
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(bytes.Repeat([]byte{0xA5}, api.MaxRandomBytes)); got.Random != want {
		t.Fatalf("the host answered %.16s..., not the enclave's bytes", got.Random)
	}
	if n := <-asked; n != api.MaxRandomBytes {
		t.Fatalf("the enclave was asked for %d bytes", n)
	}
	for _, n := range []int{0, -1, api.MaxRandomBytes + 1} {
		_, err := c.Random(ctx, api.RandomRequest{Bytes: n})
		wantStatus(t, "random of a bad size", err, http.StatusBadRequest)
	}
	if len(asked) != 0 {
		t.Fatal("a request of a bad size reached the enclave")
	}
}

// TestRandomRefusesAShortAnswer: an enclave answer of the wrong length is an error, never
// passed on.
func TestRandomRefusesAShortAnswer(t *testing.T) {
	th := startTestHost(t, false)
	th.serveEnclave(t, func(req *wire.Request) ([]byte, *wire.RemoteError) {
		return wire.EncodeJSON(wire.RandomReply{Random: []byte{1, 2, 3}}), nil
	})
	waitUntil(t, "the host to reach the fake enclave", func() bool { return th.h.reachable(1) })
	_, err := testClient(t, th).Random(context.Background(), api.RandomRequest{Bytes: 8})
	wantStatus(t, "a short answer", err, http.StatusInternalServerError)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
