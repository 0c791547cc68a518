package ethereum

// The devnet harness: a copy, adapted, of ../devnet_test.go (modules do not share test code,
// and this one must not import the product). Changes from that copy: the pre-parameters are
// laid out as party-N.json and party-N-b.json in a temporary directory (as the product's own
// harness, cmd/mpcsigner/harness_test.go, does), startDevnet takes extra flags, devnet.json's
// eth1 entries are read, and the recorder's transport bounds how long a response may take.

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
)

// binEnv names the mpcsigner binary under test. The CI script builds it and sets this; without
// it every test here skips.
const binEnv = "MPCSIGNER_BIN"

// testPreParams is the product's published (not secret) engine pre-parameters, which the
// devnet seeds its enclaves from with --test-preparams as the product's own harness does.
// Without them creating the first secp256k1 key waits one to four minutes while three enclaves
// generate safe primes on a small machine. It is data read by the binary, not code.
const testPreParams = "../../protocol/ecdsa/testdata/preparams"

const (
	devnetReadyTimeout = 180 * time.Second // first start: identities, attestation, three hosts
	devnetStopTimeout  = 30 * time.Second
	cliTimeout         = 5 * time.Minute
	// responseTimeout bounds the wait for one HTTP response from the front door; a threshold
	// signature takes about a second, and a hung front door should fail the test, not hang it.
	responseTimeout = 90 * time.Second
)

// mpcsignerBinary returns the absolute path of the binary named by MPCSIGNER_BIN, or skips.
func mpcsignerBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		t.Skipf("%s is not set: build the binary (make build in the repository root) and run with %s=<absolute path of bin/mpcsigner>", binEnv, binEnv)
	}
	abs, err := filepath.Abs(bin)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs) // as the devnet names itself when it starts children
	}
	if err != nil {
		t.Fatalf("%s=%s: %v", binEnv, bin, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("%s=%s: %v", binEnv, bin, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable file", binEnv, bin)
	}
	return abs
}

// fixturesDir lays out the engine's public test pre-parameters as the devnet reads them:
// party-N.json for the first key and party-N-b.json for a second (from party-(N+3).json).
// It returns "" when the fixtures are not there.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	for p := 1; p <= 3; p++ {
		for name, from := range map[string]int{fmt.Sprintf("party-%d.json", p): p, fmt.Sprintf("party-%d-b.json", p): p + 3} {
			b, err := os.ReadFile(filepath.Join(testPreParams, fmt.Sprintf("party-%d.json", from)))
			if err != nil {
				t.Logf("no test pre-parameters (%v): the devnet generates its own, and creating the first key waits for them", err)
				return ""
			}
			if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// devnetInfo is the part of devnet.json these tests read. Unknown keys are ignored: the file
// grows as the product gains front doors.
type devnetInfo struct {
	Version   int    `json:"version"`
	API       string `json:"api"`
	TokenFile string `json:"token_file"`
	PID       int    `json:"pid"`
	Eth1      string `json:"eth1"`
	ChainID   uint64 `json:"chain_id"`
	Parties   []struct {
		Party      int    `json:"party"`
		Eth1       string `json:"eth1"`
		HostPID    int    `json:"host_pid"`
		EnclavePID int    `json:"enclave_pid"`
	} `json:"parties"`
}

func readDevnetInfo(data string) (*devnetInfo, error) {
	raw, err := os.ReadFile(filepath.Join(data, "devnet.json"))
	if err != nil {
		return nil, err
	}
	var info devnetInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("devnet.json: %w", err)
	}
	return &info, nil
}

// devnet is a running `mpcsigner devnet` that this test started, in its own process group.
type devnet struct {
	bin  string
	data string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	info *devnetInfo
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

// startDevnet starts `mpcsigner devnet` with extra flags on free ports in a temporary
// directory, waits for its devnet.json, and stops it when the test ends.
func startDevnet(t *testing.T, extra ...string) *devnet {
	t.Helper()
	bin := mpcsignerBinary(t)
	d := &devnet{bin: bin, data: filepath.Join(t.TempDir(), "data"), out: &syncBuffer{}, done: make(chan struct{})}
	args := []string{"devnet", "--data", d.data, "--base-port", "0"}
	if fixtures := fixturesDir(t); fixtures != "" {
		args = append(args, "--test-preparams", fixtures)
	}
	args = append(args, extra...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	// Its own process group, so that cleanup signals exactly what this test started.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s devnet: %v", bin, err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.After(devnetReadyTimeout)
	for {
		if info, err := readDevnetInfo(d.data); err == nil && info.PID == d.cmd.Process.Pid {
			d.info = info
			t.Logf("devnet ready in %s: api %s, eth1 %q (chain id %d)", time.Since(start).Round(time.Millisecond), info.API, info.Eth1, info.ChainID)
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("the devnet exited before it was ready:\n%s", d.out.String())
		case <-deadline:
			t.Fatalf("the devnet wrote no devnet.json within %s:\n%s", devnetReadyTimeout, d.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the devnet's process group and waits for it to exit. The devnet puts
// each enclave and host in a process group of its own and stops them itself; stop then checks
// that none of them outlived it.
func (d *devnet) stop(t *testing.T) {
	if t.Failed() {
		d.dumpLogs(t)
	}
	if info, err := readDevnetInfo(d.data); err == nil {
		d.info = info // children restarted since start have new pids
	}
	select {
	case <-d.done:
		t.Errorf("the devnet had exited before the test stopped it:\n%s", d.out.String())
	default:
		pgid := d.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(devnetStopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-d.done
			t.Errorf("the devnet did not stop within %s of SIGTERM:\n%s", devnetStopTimeout, d.out.String())
		}
	}
	if d.info == nil {
		return
	}
	for _, p := range d.info.Parties {
		for _, pid := range []int{p.HostPID, p.EnclavePID} {
			if d.waitGone(pid, 10*time.Second) {
				continue
			}
			t.Errorf("party %d's process %d outlived the devnet; killing it", p.Party, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitGone reports whether pid is no longer a process running d.bin (so a reused pid is never
// touched), waiting up to timeout.
func (d *devnet) waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if pid <= 0 || err != nil || strings.TrimSuffix(exe, " (deleted)") != d.bin {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dumpLogs shows the devnet's output and the end of each host's log.
func (d *devnet) dumpLogs(t *testing.T) {
	t.Logf("devnet output:\n%s", d.out.String())
	logs, _ := filepath.Glob(filepath.Join(d.data, "party-*", "host.log"))
	for _, path := range logs {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		t.Logf("last lines of %s:\n%s", path, strings.Join(lines, "\n"))
	}
}

// eth1URL returns host 1's eth1 front door, or fails the test: with MPCSIGNER_BIN set this
// test is meant to run, so a binary without the front door is a failure.
func (d *devnet) eth1URL(t *testing.T) string {
	t.Helper()
	if d.info.Eth1 == "" {
		t.Fatalf("devnet.json (%s) has no \"eth1\" entry: the binary %s does not serve the eth1 front door; rebuild it from a tree that has it (make build)",
			filepath.Join(d.data, "devnet.json"), d.bin)
	}
	return d.info.Eth1
}

// cliKey is what `mpcsigner key create|show --json` prints.
type cliKey struct {
	ID        string   `json:"id"`
	Label     string   `json:"label"`
	Scheme    string   `json:"scheme"`
	PublicKey string   `json:"public_key"`
	Threshold int      `json:"threshold"`
	Parties   []uint16 `json:"parties"`
	Created   string   `json:"created"`
}

// cliJSON runs a client verb of the binary against this devnet with --json, requires success
// and decodes the one object it prints.
func (d *devnet) cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	args = append(args, "--data", d.data, "--json")
	cmd := exec.CommandContext(ctx, d.bin, args...)
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

// exchange is one HTTP request a client made and what came back.
type exchange struct {
	method, url string
	reqHeader   http.Header
	reqBody     []byte
	status      int
	respHeader  http.Header
	respBody    []byte
	err         error
}

func (e exchange) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent: %s %s\n", e.method, e.url)
	for _, h := range []string{"Content-Type", "Accept"} {
		fmt.Fprintf(&b, "  %s: %q\n", h, e.reqHeader.Get(h))
	}
	if len(e.reqBody) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, e.reqBody, "  ", "  ") == nil {
			fmt.Fprintf(&b, "  %s\n", pretty.String())
		} else {
			fmt.Fprintf(&b, "  %q\n", e.reqBody)
		}
	}
	if e.err != nil {
		fmt.Fprintf(&b, "got: transport error %v", e.err)
		return b.String()
	}
	fmt.Fprintf(&b, "got: %d, Content-Type %q\n  %s", e.status, e.respHeader.Get("Content-Type"), strings.TrimSpace(string(e.respBody)))
	return b.String()
}

// recorder is an http.RoundTripper that keeps every exchange, so a failure can show exactly
// what a client sent and what came back.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchange{method: req.Method, url: req.URL.String(), reqHeader: req.Header.Clone()}
	// Copy the body from GetBody and leave req exactly as the client made it.
	var tee *bytes.Buffer
	out := req
	switch {
	case req.Body == nil || req.Body == http.NoBody:
	case req.GetBody != nil:
		if rc, err := req.GetBody(); err == nil {
			ex.reqBody, _ = io.ReadAll(rc)
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
		ex.reqBody = tee.Bytes()
	}
	if err != nil {
		ex.err = err
	} else {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		ex.status, ex.respHeader, ex.respBody = resp.StatusCode, resp.Header.Clone(), body
		if rerr != nil {
			ex.err = rerr
		}
	}
	r.mu.Lock()
	r.log = append(r.log, ex)
	r.mu.Unlock()
	return resp, err
}

// since returns the exchanges after the first n whose URL starts with prefix.
func (r *recorder) since(n int, prefix string) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exchange
	for _, ex := range r.log[n:] {
		if strings.HasPrefix(ex.url, prefix) {
			out = append(out, ex)
		}
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// recordDefaultTransport makes http.DefaultTransport record, until the test ends, with a bound
// on the wait for each response. go-ethereum's RPC client (and so its external-signer client)
// dials HTTP with a zero http.Client, which uses http.DefaultTransport.
func recordDefaultTransport(t *testing.T) *recorder {
	t.Helper()
	orig := http.DefaultTransport
	base := orig.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = responseTimeout
	r := &recorder{base: base}
	http.DefaultTransport = r
	t.Cleanup(func() {
		http.DefaultTransport = orig
		base.CloseIdleConnections()
	})
	return r
}
