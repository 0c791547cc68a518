package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// KeyLabel is the label of the i-th bench key of a scheme: bench keys are ordinary keys whose
// label says what made them, so that they are reused across runs and never mistaken for an
// operator's.
func KeyLabel(scheme string, i int) string { return fmt.Sprintf("bench-%s-%d", scheme, i) }

// MaxKeys bounds --keys: each key is a distributed key generation.
const MaxKeys = 1024

// notReadyWait is how long to wait before retrying a key generation the cluster is not ready
// for (it is still making ECDSA pre-parameters).
const notReadyWait = 5 * time.Second

// EnsureKeys returns n keys of scheme labelled KeyLabel(scheme, 0..n-1), creating the missing
// ones (and saying so on log). A key with such a label but another scheme is an error.
func EnsureKeys(ctx context.Context, c *api.Client, scheme string, n int, log io.Writer) ([]api.Key, error) {
	if n < 1 || n > MaxKeys {
		return nil, fmt.Errorf("key count %d is not 1 to %d", n, MaxKeys)
	}
	existing, err := c.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	byLabel := map[string]api.Key{}
	for _, k := range existing {
		byLabel[k.Label] = k
	}
	keys := make([]api.Key, n)
	for i := range n {
		label := KeyLabel(scheme, i)
		k, ok := byLabel[label]
		if ok && k.Scheme != scheme {
			return nil, fmt.Errorf("key %q exists with scheme %s, not %s", label, k.Scheme, scheme)
		}
		if !ok {
			fmt.Fprintf(log, "creating key %s\n", label)
			created, err := createKey(ctx, c, api.CreateKeyRequest{Scheme: scheme, Label: label}, log)
			if err != nil {
				return nil, fmt.Errorf("creating key %s: %w", label, err)
			}
			k = *created
		}
		keys[i] = k
	}
	return keys, nil
}

// createKey creates a key, waiting while the cluster reports it is not ready yet.
func createKey(ctx context.Context, c *api.Client, req api.CreateKeyRequest, log io.Writer) (*api.Key, error) {
	for {
		k, err := c.CreateKey(ctx, req)
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Code != "not_ready" {
			return k, err
		}
		fmt.Fprintf(log, "waiting: %s\n", apiErr.Message)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(notReadyWait):
		}
	}
}

// publicKeyLengths are the lengths of the native API's public keys per scheme.
var publicKeyLengths = map[string]int{SchemeSecp256k1: 33, SchemeP256: 33, SchemeEd25519: 32, SchemeBIP340: 32, SchemeBLS: 48}

// decodePublicKey decodes a key's public key as the native API lists it.
func decodePublicKey(k api.Key) ([]byte, error) {
	n, ok := publicKeyLengths[k.Scheme]
	if !ok {
		return nil, fmt.Errorf("key %s: scheme %q cannot be benchmarked", k.ID, k.Scheme)
	}
	pub, err := decodeHex(k.PublicKey, n, false)
	if err != nil {
		return nil, fmt.Errorf("key %s's public key: %w", k.ID, err)
	}
	return pub, nil
}

// decodeHex decodes exactly n bytes of hex, with a 0x prefix when prefixed is set (Ethereum's
// APIs) and without one otherwise (the native API).
func decodeHex(s string, n int, prefixed bool) ([]byte, error) {
	if prefixed {
		if !strings.HasPrefix(s, "0x") {
			return nil, fmt.Errorf("%w: %q does not start with 0x", ErrInvalid, truncate(s, 40))
		}
		s = s[2:]
	}
	if len(s) != 2*n {
		return nil, fmt.Errorf("%w: want %d bytes of hex, got %d characters", ErrInvalid, n, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return b, nil
}

// random32 is a fresh 32-byte message: every request signs something new.
func random32() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return b
}

// KeepConnections lets an HTTP client keep conns idle connections per host (the default
// transport keeps 2), so that a step at high concurrency measures the server rather than TCP
// handshakes. Call it before the client's first request.
func KeepConnections(c *http.Client, conns int) {
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		return
	}
	tr.MaxIdleConns = max(tr.MaxIdleConns, conns)
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, conns)
}

// NewHTTPClient is a plain HTTP client for the Ethereum front doors, keeping conns connections.
func NewHTTPClient(conns int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c := &http.Client{Transport: tr, Timeout: timeout}
	KeepConnections(c, conns)
	return c
}

// maxErrorBody caps how much of an error answer is read for its message.
const maxErrorBody = 4 << 10

// statusError reads a non-2xx answer into an error of kind "http <status>".
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &KindError{Kind: fmt.Sprintf("http %d", resp.StatusCode), Err: errors.New(strings.TrimSpace(string(b)))}
}
