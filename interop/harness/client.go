package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// cliTimeout and apiTimeout bound one CLI run or API call; creating a key without the test
	// pre-parameters can take minutes.
	cliTimeout = 5 * time.Minute
	apiTimeout = 5 * time.Minute
	// maxAPIResponse caps what API reads of one answer; the native API's largest (a key list)
	// is far smaller.
	maxAPIResponse = 16 << 20
	upcheckTimeout = 60 * time.Second
)

// apiClient is how the harness itself calls the devnet: its own transport, so that its calls
// never show among a third-party client's recorded exchanges, and loopback only.
var apiClient = &http.Client{Transport: loopbackTransport(0)}

// CLIJSON runs a client verb of the binary against this devnet with --json, requires success
// and decodes the one JSON value it prints into v.
func (d *Devnet) CLIJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	args = append(slices.Clip(args), "--data", d.Dir, "--json")
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	// Only the devnet's own devnet.json tells the CLI where the API and token are.
	cmd.Env = append(os.Environ(), "MPCSIGNER_API=", "MPCSIGNER_TOKEN_FILE=", "MPCSIGNER_DATA=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mpcsigner %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("mpcsigner %s printed %q: %v", strings.Join(args, " "), stdout.String(), err)
	}
	if dec.More() {
		t.Fatalf("mpcsigner %s printed more than one JSON object", strings.Join(args, " "))
	}
}

// Key is what `mpcsigner key create|show --json` prints.
type Key struct {
	ID        string   `json:"id"`
	Label     string   `json:"label"`
	Scheme    string   `json:"scheme"`
	PublicKey string   `json:"public_key"` // hex, as the CLI prints it
	Threshold int      `json:"threshold"`
	Parties   []uint16 `json:"parties"`
	Created   string   `json:"created"`
}

// CreateKey creates a key with the CLI (a distributed key generation across the devnet) and
// requires that the CLI reports a key of that scheme and label with an id and a public key.
func (d *Devnet) CreateKey(t testing.TB, scheme, label string) Key {
	t.Helper()
	var k Key
	d.CLIJSON(t, &k, "key", "create", "--scheme", scheme, "--label", label)
	if k.ID == "" || k.PublicKey == "" || k.Scheme != scheme || k.Label != label {
		t.Fatalf("mpcsigner key create --scheme %s --label %s printed %+v: want a key of that scheme and label with an id and a public key", scheme, label, k)
	}
	return k
}

// API makes one call to host 1's native API with the devnet's bearer token: in, when not nil,
// is sent as the JSON body, and a 2xx answer is decoded into out when out is not nil. It
// returns the HTTP status; an answer outside 2xx is logged, not failed, so that a test can
// assert a refusal. A transport error or an undecodable 2xx answer fails the test.
func (d *Devnet) API(t testing.TB, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("API %s %s: encoding the request: %v", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(d.Info.API, "/")+path, body)
	if err != nil {
		t.Fatalf("API %s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("API %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse+1))
	if err != nil {
		t.Fatalf("API %s %s: reading the answer (%s): %v", method, path, resp.Status, err)
	}
	if len(raw) > maxAPIResponse {
		t.Fatalf("API %s %s: the answer (%s) is larger than %d bytes", method, path, resp.Status, maxAPIResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		t.Logf("API %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
		return resp.StatusCode
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("API %s %s answered %s %q, which does not decode into %T: %v", method, path, resp.Status, raw, out, err)
		}
	}
	return resp.StatusCode
}

// WaitUpcheck waits until the Web3Signer API at base answers GET /upcheck with 200.
func WaitUpcheck(t testing.TB, base string) {
	t.Helper()
	client := &http.Client{Transport: apiClient.Transport, Timeout: 2 * time.Second}
	deadline := time.Now().Add(upcheckTimeout)
	var last string
	for {
		resp, err := client.Get(base + "/upcheck")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %q", resp.Status, body)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/upcheck did not answer 200 within %s; last: %s", base, upcheckTimeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
