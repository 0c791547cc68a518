package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// The harness builds the real binary once and runs whole devnets of it, as a user would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDevnet != nil {
		benchDevnet.stop()
		os.RemoveAll(benchDir)
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds cmd/mpcsigner once per test run.
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: builds the binary and starts a cluster (not in -short mode)")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "mpcsigner-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "mpcsigner")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// fixturesDir lays out the engine's public test pre-parameters as the devnet reads them:
// party-N.json for the first key and party-N-b.json for a second, for up to five parties.
func fixturesDir(t testing.TB) string {
	t.Helper()
	src := filepath.Join("..", "..", "protocol", "ecdsa", "testdata", "preparams")
	dst := t.TempDir()
	// Parties 4 and 5 (five-party devnets) reuse fixtures 4, 5, 1 and 2: keys made on them are
	// for tests only anyway, and no test makes an ECDSA key across parties sharing a fixture.
	for p := 1; p <= 5; p++ {
		for name, from := range map[string]int{fmt.Sprintf("party-%d.json", p): p, fmt.Sprintf("party-%d-b.json", p): (p+2)%6 + 1} {
			b, err := os.ReadFile(filepath.Join(src, fmt.Sprintf("party-%d.json", from)))
			if err != nil {
				t.Fatalf("reading fixture: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// devnetProc is a running `mpcsigner devnet`.
type devnetProc struct {
	t      testing.TB
	bin    string
	data   string
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	info   *DevnetInfo
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDevnet starts a devnet on data and waits for its devnet.json.
func startDevnet(t testing.TB, data string, extra ...string) *devnetProc {
	t.Helper()
	bin := binary(t)
	// No presignature pools unless a test asks (a later --presign-pool wins): refills would
	// compete for the CPU with what the tests time out on.
	args := append([]string{"devnet", "--data", data, "--base-port", "0", "--test-preparams", fixturesDir(t), "--presign-pool", "0"}, extra...)
	d := &devnetProc{t: t, bin: bin, data: data, output: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.output, d.output
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() { d.stop() })
	deadline := time.After(120 * time.Second)
	for {
		if info, err := readDevnetInfo(data); err == nil && info.PID == d.cmd.Process.Pid {
			d.info = info
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("devnet exited before it was ready:\n%s", d.output.String())
		case <-deadline:
			t.Fatalf("devnet not ready after 120s:\n%s", d.output.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *devnetProc) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		d.t.Errorf("devnet did not stop within 30s of SIGTERM:\n%s", d.output.String())
	}
}

// refresh rereads devnet.json (pids change when children restart).
func (d *devnetProc) refresh() *DevnetInfo {
	d.t.Helper()
	info, err := readDevnetInfo(d.data)
	if err != nil {
		d.t.Fatal(err)
	}
	d.info = info
	return info
}

// cli runs the binary's client verbs against this devnet and returns stdout, stderr and the
// exit code.
func (d *devnetProc) cli(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(d.bin, args...)
	cmd.Env = append(os.Environ(), "MPCSIGNER_DATA="+d.data, "MPCSIGNER_API=", "MPCSIGNER_TOKEN_FILE=")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// cliJSON runs a client verb with --json, requires success, and decodes its one object.
func (d *devnetProc) cliJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	stdout, stderr, code := d.cli(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("mpcsigner %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("mpcsigner %s printed %q: %v", strings.Join(args, " "), stdout, err)
	}
	if dec.More() {
		t.Fatalf("mpcsigner %s printed more than one JSON object: %q", strings.Join(args, " "), stdout)
	}
}

// health asks one host for its view of the cluster.
func (d *devnetProc) health(party int) api.Health {
	d.t.Helper()
	var h api.Health
	resp, err := http.Get(d.info.Parties[party-1].API + api.PathHealth)
	if err != nil {
		return h
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// healthcheck asks one host for every party's reachability and attestation.
func (d *devnetProc) healthcheck(party int) api.Healthcheck {
	d.t.Helper()
	var hc api.Healthcheck
	resp, err := http.Get(d.info.Parties[party-1].API + api.PathHealthcheck)
	if err != nil {
		return hc
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&hc)
	return hc
}

// allHealthy reports whether every host sees every party reachable, attested and accepted.
func (d *devnetProc) allHealthy() bool {
	for p := range d.info.Parties {
		if allAttested(d.healthcheck(p+1), p+1) != "" {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds or the time runs out.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawRequest sends an HTTP request to a host's API with the given token ("" for none).
func rawRequest(t testing.TB, method, url, token, body string) (int, api.Error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e api.Error
	_ = json.Unmarshal(raw, &e)
	return resp.StatusCode, e
}

func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

// token reads the devnet's API bearer token.
func (d *devnetProc) token(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(d.info.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
