package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinEnv names the mpcsigner binary under test. make interop builds it and sets this; without
// it every test that asks for the binary skips.
const BinEnv = "MPCSIGNER_BIN"

// infoVersion is the devnet.json layout this harness reads.
const infoVersion = 1

// preParamsPath is where the product publishes its (not secret) engine pre-parameters,
// relative to the repository root. The devnet seeds its enclaves from them with
// --test-preparams, as the product's own harness does: without them creating the first
// secp256k1 key waits one to four minutes while three enclaves generate safe primes on a
// small machine. It is data read by the binary, not code.
const preParamsPath = "protocol/ecdsa/testdata/preparams"

const (
	readyTimeout = 180 * time.Second // first start: identities, attestation, three hosts
	stopTimeout  = 30 * time.Second
	// partyGoneTimeout is how long each host and enclave may outlive the devnet: the devnet
	// stops its children itself before it exits, so this is only slack.
	partyGoneTimeout = 10 * time.Second
	pollInterval     = 100 * time.Millisecond
	logTailLines     = 30
)

// Binary returns the absolute path of the binary named by MPCSIGNER_BIN, or skips the test
// saying what did not run and how to run it.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(BinEnv)
	if bin == "" {
		t.Skipf("%s is not set, so %s did not run: it needs the mpcsigner binary. Run make interop in the repository root (it builds bin/mpcsigner and sets %s), or build the binary (make build) and set %s=<absolute path of bin/mpcsigner>",
			BinEnv, t.Name(), BinEnv, BinEnv)
	}
	abs, err := filepath.Abs(bin)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs) // as the devnet names itself when it starts children
	}
	if err != nil {
		t.Fatalf("%s=%s: %v", BinEnv, bin, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("%s=%s: %v", BinEnv, bin, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable file", BinEnv, bin)
	}
	return abs
}

// Info is devnet.json as the interop tests read it. Unknown keys are ignored: the file grows
// as the product gains front doors.
type Info struct {
	Version   int    `json:"version"`
	API       string `json:"api"`        // host 1's native API
	TokenFile string `json:"token_file"` // the native API's bearer token
	Threshold int    `json:"threshold"`
	PID       int    `json:"pid"` // the devnet launcher
	// Web3Signer is host 1's Web3Signer-compatible eth2 API ("" when the binary has none).
	Web3Signer string `json:"web3signer"`
	// Eth1 is host 1's eth1 front door ("" when the binary has none), signing for ChainID.
	Eth1    string  `json:"eth1"`
	ChainID uint64  `json:"chain_id"`
	Parties []Party `json:"parties"`
}

// Party is one party's entry in devnet.json.
type Party struct {
	Party      int    `json:"party"`
	API        string `json:"api"`
	Web3Signer string `json:"web3signer"`
	Eth1       string `json:"eth1"`
	HostPID    int    `json:"host_pid"`
	EnclavePID int    `json:"enclave_pid"`
}

// urls lists every endpoint info names, so that none escapes the loopback check.
func (info *Info) urls() map[string]string {
	u := map[string]string{"api": info.API, "web3signer": info.Web3Signer, "eth1": info.Eth1}
	for _, p := range info.Parties {
		u[fmt.Sprintf("party %d api", p.Party)] = p.API
		u[fmt.Sprintf("party %d web3signer", p.Party)] = p.Web3Signer
		u[fmt.Sprintf("party %d eth1", p.Party)] = p.Eth1
	}
	return u
}

// check refuses a devnet.json this harness does not understand or that would send it off the
// loopback interface.
func (info *Info) check() error {
	if info.Version != infoVersion {
		return fmt.Errorf("devnet.json version %d: this harness reads version %d; update interop/harness", info.Version, infoVersion)
	}
	if info.API == "" || info.TokenFile == "" {
		return errors.New("devnet.json names no api or no token_file")
	}
	for name, raw := range info.urls() {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("devnet.json's %s %q: %w", name, raw, err)
		}
		if u.Hostname() != "127.0.0.1" {
			return fmt.Errorf("devnet.json's %s %q is not on 127.0.0.1: the harness talks to nothing else", name, raw)
		}
	}
	return nil
}

func readInfo(dir string) (*Info, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "devnet.json"))
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("devnet.json: %w", err)
	}
	return &info, nil
}

// Devnet is a running `mpcsigner devnet` that a test started, in its own process group.
type Devnet struct {
	Bin   string // absolute path of the binary
	Dir   string // its data directory (--data)
	Info  *Info  // devnet.json as it was when the devnet became ready
	Token string // the native API's bearer token, read from Info.TokenFile

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
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

// Start starts `mpcsigner devnet` on free ports in a temporary directory, with flags appended
// to its command line, and waits until it is ready (it writes devnet.json only then). When the
// test ends it stops the devnet by its pid, after showing its logs if the test failed.
func Start(t *testing.T, flags ...string) *Devnet {
	t.Helper()
	d := &Devnet{Bin: Binary(t), Dir: filepath.Join(t.TempDir(), "data"), out: &syncBuffer{}, done: make(chan struct{})}
	args := []string{"devnet", "--data", d.Dir, "--base-port", "0"}
	if fixtures := FixturesDir(t, findPreParams(t)); fixtures != "" {
		args = append(args, "--test-preparams", fixtures)
	}
	args = append(args, flags...)
	d.cmd = exec.Command(d.Bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	// Its own process group, so that cleanup signals exactly what this test started.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s devnet: %v", d.Bin, err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() { d.stop(t) })
	d.Info = d.waitReady(t)
	if err := d.Info.check(); err != nil {
		t.Fatal(err)
	}
	d.Token = readToken(t, d.Info.TokenFile)
	t.Logf("devnet ready in %s: api %s, web3signer %q, eth1 %q (chain id %d)",
		time.Since(start).Round(time.Millisecond), d.Info.API, d.Info.Web3Signer, d.Info.Eth1, d.Info.ChainID)
	return d
}

// waitReady waits for the devnet.json of this devnet (not one left behind by another).
func (d *Devnet) waitReady(t *testing.T) *Info {
	t.Helper()
	deadline := time.After(readyTimeout)
	for {
		if info, err := readInfo(d.Dir); err == nil && info.PID == d.cmd.Process.Pid {
			return info
		}
		select {
		case <-d.done:
			t.Fatalf("the devnet exited before it was ready:\n%s", d.out.String())
		case <-deadline:
			t.Fatalf("the devnet wrote no devnet.json within %s:\n%s", readyTimeout, d.out.String())
		case <-time.After(pollInterval):
		}
	}
}

func readToken(t testing.TB, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the devnet's API token: %v", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		t.Fatalf("the devnet's API token file %s is empty", path)
	}
	return tok
}

// stop sends SIGTERM to the devnet's process group and waits for it to exit. The devnet puts
// each enclave and host in a process group of its own and stops them itself; stop then checks
// that none of them outlived it.
func (d *Devnet) stop(t *testing.T) {
	if t.Failed() {
		d.dumpLogs(t)
	}
	info := d.Info
	if now, err := readInfo(d.Dir); err == nil {
		info = now // children restarted since start have new pids
	}
	select {
	case <-d.done:
		t.Errorf("the devnet had exited before the test stopped it:\n%s", d.out.String())
	default:
		pgid := d.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-d.done
			t.Errorf("the devnet did not stop within %s of SIGTERM:\n%s", stopTimeout, d.out.String())
		}
	}
	if info == nil {
		return
	}
	for _, p := range info.Parties {
		for _, pid := range []int{p.HostPID, p.EnclavePID} {
			if d.waitGone(pid, partyGoneTimeout) {
				continue
			}
			t.Errorf("party %d's process %d outlived the devnet; killing it", p.Party, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitGone reports whether pid is no longer a process running d.Bin (so a reused pid is never
// touched), waiting up to timeout.
func (d *Devnet) waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if pid <= 0 || err != nil || strings.TrimSuffix(exe, " (deleted)") != d.Bin {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
}

// dumpLogs shows the devnet's output and the end of each host's log.
func (d *Devnet) dumpLogs(t *testing.T) {
	t.Logf("devnet output:\n%s", d.out.String())
	logs, _ := filepath.Glob(filepath.Join(d.Dir, "party-*", "host.log"))
	for _, path := range logs {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		if len(lines) > logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
		t.Logf("last lines of %s:\n%s", path, strings.Join(lines, "\n"))
	}
}

// Web3SignerURL returns host 1's Web3Signer-compatible eth2 API, or fails the test: with
// MPCSIGNER_BIN set the test is meant to run, so a binary without the API is a failure.
func (d *Devnet) Web3SignerURL(t testing.TB) string {
	t.Helper()
	if d.Info.Web3Signer == "" {
		t.Fatalf("devnet.json (%s) has no \"web3signer\" entry: the binary %s does not serve the Web3Signer-compatible eth2 API; rebuild it from a tree that has the API (make build)",
			filepath.Join(d.Dir, "devnet.json"), d.Bin)
	}
	return strings.TrimRight(d.Info.Web3Signer, "/")
}

// Eth1URL returns host 1's eth1 front door, or fails the test: with MPCSIGNER_BIN set the
// test is meant to run, so a binary without the front door is a failure.
func (d *Devnet) Eth1URL(t testing.TB) string {
	t.Helper()
	if d.Info.Eth1 == "" {
		t.Fatalf("devnet.json (%s) has no \"eth1\" entry: the binary %s does not serve the eth1 front door; rebuild it from a tree that has it (make build)",
			filepath.Join(d.Dir, "devnet.json"), d.Bin)
	}
	return d.Info.Eth1
}

// findPreParams returns the product's published pre-parameters directory, found by walking up
// from the test's directory (the interop modules live inside the product's repository), or ""
// when there is none.
func findPreParams(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Logf("no test pre-parameters (%v): the devnet generates its own, and creating the first key waits for them", err)
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, preParamsPath)
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(dir) == dir {
			t.Logf("no test pre-parameters (no %s above %s): the devnet generates its own, and creating the first key waits for them", preParamsPath, wd)
			return ""
		}
	}
}

// FixturesDir lays out the engine's public test pre-parameters in preparams (party-1.json to
// party-6.json) as the devnet's --test-preparams reads them: party-N.json for the first key
// and party-N-b.json, from party-(N+3).json, for a second. It returns "" (and logs why) when
// the fixtures are not there.
func FixturesDir(t testing.TB, preparams string) string {
	t.Helper()
	if preparams == "" {
		return ""
	}
	dst := t.TempDir()
	for p := 1; p <= 3; p++ {
		for name, from := range map[string]int{fmt.Sprintf("party-%d.json", p): p, fmt.Sprintf("party-%d-b.json", p): p + 3} {
			b, err := os.ReadFile(filepath.Join(preparams, fmt.Sprintf("party-%d.json", from)))
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
