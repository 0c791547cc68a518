package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ResponseTimeout bounds the wait for one HTTP response through RecordDefaultTransport: a
// threshold signature takes about a second, and a hung front door should fail the test, not
// hang it.
const ResponseTimeout = 90 * time.Second

// loopbackTransport is an HTTP transport that dials only loopback addresses, with
// http.DefaultTransport's other settings and no proxy; responseTimeout, when not 0, bounds
// the wait for each response's headers.
func loopbackTransport(responseTimeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: onlyLoopback}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ResponseHeaderTimeout: responseTimeout,
	}
}

// onlyLoopback refuses, before the connection is attempted, to dial any address that is not a
// loopback one: the harness and the clients it records talk to nothing but the devnet and
// what the test itself serves on 127.0.0.1.
func onlyLoopback(_ context.Context, network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("interop harness: refusing to dial %s %s: only loopback addresses are allowed", network, address)
	}
	return nil
}

// Exchange is one HTTP request a client made and what came back.
type Exchange struct {
	Method, URL string
	ReqHeader   http.Header
	ReqBody     []byte
	Status      int
	RespHeader  http.Header
	RespBody    []byte
	Err         error // a transport error, or an error reading the response body
}

func (e Exchange) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent: %s %s\n", e.Method, e.URL)
	for _, h := range []string{"Content-Type", "Accept"} {
		fmt.Fprintf(&b, "  %s: %q\n", h, e.ReqHeader.Get(h))
	}
	if len(e.ReqBody) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, e.ReqBody, "  ", "  ") == nil {
			fmt.Fprintf(&b, "  %s\n", pretty.String())
		} else {
			fmt.Fprintf(&b, "  %q\n", e.ReqBody)
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, "got: transport error %v", e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "got: %d, Content-Type %q\n  %s", e.Status, e.RespHeader.Get("Content-Type"), strings.TrimSpace(string(e.RespBody)))
	return b.String()
}

// Recorder is an http.RoundTripper that keeps every exchange, so a failure can show exactly
// what a client sent and what came back.
type Recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []Exchange
}

// NewRecorder records the exchanges made through base.
func NewRecorder(base http.RoundTripper) *Recorder { return &Recorder{base: base} }

// RoundTrip sends req through the base transport and records the exchange. The client gets
// the response body intact.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := Exchange{Method: req.Method, URL: req.URL.String(), ReqHeader: req.Header.Clone()}
	// Copy the body from GetBody and leave req exactly as the client made it: the client may
	// look at it again afterwards (Prysm dumps failed requests).
	var tee *bytes.Buffer
	out := req
	switch {
	case req.Body == nil || req.Body == http.NoBody:
	case req.GetBody != nil:
		if rc, err := req.GetBody(); err == nil {
			ex.ReqBody, _ = io.ReadAll(rc)
			rc.Close()
		}
	default:
		tee = &bytes.Buffer{}
		out = req.Clone(req.Context())
		out.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(req.Body, tee), req.Body}
	}
	resp, err := r.base.RoundTrip(out)
	if tee != nil {
		ex.ReqBody = tee.Bytes()
	}
	if err != nil {
		ex.Err = err
	} else {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		ex.Status, ex.RespHeader, ex.RespBody = resp.StatusCode, resp.Header.Clone(), body
		if rerr != nil {
			ex.Err = rerr
		}
	}
	r.mu.Lock()
	r.log = append(r.log, ex)
	r.mu.Unlock()
	return resp, err
}

// Count is how many exchanges have been recorded: a mark to pass to Since later.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// Since returns the exchanges after the first n whose URL starts with prefix ("" for all).
func (r *Recorder) Since(n int, prefix string) []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Exchange
	for _, ex := range r.log[n:] {
		if strings.HasPrefix(ex.URL, prefix) {
			out = append(out, ex)
		}
	}
	return out
}

// RecordDefaultTransport makes http.DefaultTransport record, until the test ends, through a
// loopback-only transport that bounds the wait for each response by ResponseTimeout. Clients
// that build their transport from it are then recorded: Prysm's Web3Signer client does, and
// go-ethereum's RPC client (and so its external-signer client) dials HTTP with a zero
// http.Client, which uses it.
func RecordDefaultTransport(t testing.TB) *Recorder {
	t.Helper()
	orig := http.DefaultTransport
	base := loopbackTransport(ResponseTimeout)
	r := NewRecorder(base)
	http.DefaultTransport = r
	t.Cleanup(func() {
		http.DefaultTransport = orig
		base.CloseIdleConnections()
	})
	return r
}
