package main

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/bench"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestBenchCLI runs `mpcsigner bench` against a devnet as a user would and checks its JSON
// report: 50 Ed25519 signatures through the native API, every one verified, none failed, the
// statistics consistent, and the cluster's CPU measured from the six local processes.
func TestBenchCLI(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	stdout, stderr, code := d.cli(t, "bench", "--door", "native", "--scheme", "ed25519", "--requests", "50", "--warmup", "0", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s\nstdout: %s", code, stderr, stdout)
	}
	if !strings.Contains(stderr, "creating key bench-ed25519-0") {
		t.Errorf("stderr does not say the bench key was created: %q", stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var r bench.Report
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not a report: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
	if r.Version != bench.ReportVersion || r.Door != "native" || r.Scheme != "ed25519" || r.Keys != 1 || r.Requests != 50 || r.VerifySample != 1 || len(r.Steps) != 1 {
		t.Fatalf("report header: %+v", r)
	}
	res := r.Steps[0].Result
	if r.Steps[0].Concurrency != 1 || res.Driver != "native" || res.Requests != 50 || res.Signatures != 50 || res.Verified != 50 || len(res.Errors) != 0 {
		t.Fatalf("result: %+v", res)
	}
	l := res.LatencyMs
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) || l.Mean <= 0 || l.Mean > l.Max {
		t.Errorf("latencies out of order: %+v", l)
	}
	// 50 signatures one at a time: the rate cannot exceed 50 over the sum of the latencies.
	if res.SigPerSec <= 0 || res.ElapsedSeconds <= 0 || res.SigPerSec > 50/(l.Mean*50/1000)*1.0001 {
		t.Errorf("rate %v sig/s over %v s with mean latency %v ms", res.SigPerSec, res.ElapsedSeconds, l.Mean)
	}
	if res.ClusterCPU == nil || res.ClusterCPU.Processes != 6 || res.ClusterCPU.Seconds <= 0 || res.ClusterCPU.SecondsPerSignature != res.ClusterCPU.Seconds/50 {
		t.Errorf("cluster CPU %+v (note %q; source %q)", res.ClusterCPU, res.ClusterCPUNote, r.ClusterCPU)
	}
	if !strings.Contains(r.ClusterCPU, "6 host and enclave processes") {
		t.Errorf("CPU source: %q", r.ClusterCPU)
	}
	checkProcessSplit(t, "c=1", res.ClusterCPU)

	// The key it made is an ordinary Ed25519 key of the cluster, found again by label.
	var key api.Key
	d.cliJSON(t, &key, "key", "show", bench.KeyLabel("ed25519", 0))
	if key.Scheme != "ed25519" {
		t.Errorf("bench key: %+v", key)
	}

	// One command writes all three: the table on stdout, the JSON report and the chart.
	dir := t.TempDir()
	jsonFile, svgFile := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.svg")
	stdout, stderr, code = d.cli(t, "bench", "--door", "native", "--scheme", "ed25519", "--requests", "20", "--warmup", "0", "--concurrency", "1,4", "--json-out", jsonFile, "--plot", svgFile, "--quiet")
	if code != 0 || !strings.Contains(stdout, "sig/s") || !strings.Contains(stdout, "p99") {
		t.Fatalf("table run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, want := range []string{"\n  conc 1: host 1 ", "\n  conc 4: host 1 ", "(cpu ms/sig); busiest party: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks the CPU split %q:\n%s", want, stdout)
		}
	}
	raw, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var written bench.Report
	if err := json.Unmarshal(raw, &written); err != nil || len(written.Steps) != 2 || written.Steps[1].Concurrency != 4 || written.Steps[1].Result.Verified != 20 {
		t.Fatalf("--json-out wrote %v: %s", err, raw)
	}
	for _, step := range written.Steps {
		checkProcessSplit(t, "--json-out c="+strconv.Itoa(step.Concurrency), step.Result.ClusterCPU)
	}
	svg, err := os.ReadFile(svgFile)
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("--plot wrote %v: %.200s", err, svg)
	}

	// A door that cannot sign the scheme is a usage error (exit 2), before anything runs.
	if _, stderr, code := d.cli(t, "bench", "--door", "eth1", "--scheme", "ed25519"); code != 2 || !strings.Contains(stderr, "eth1 signs ecdsa-secp256k1") {
		t.Errorf("eth1 with ed25519: exit %d, %q", code, stderr)
	}
}

// checkProcessSplit checks a step's cluster CPU by process: one figure for each of the
// devnet's six processes, adding up to the total, and a busiest party whose figure is its host's
// and enclave's together and no smaller than any other party's.
func checkProcessSplit(t *testing.T, step string, cpu *bench.CPU) {
	t.Helper()
	if cpu == nil {
		t.Errorf("%s: no cluster CPU", step)
		return
	}
	byProc := cpu.MsPerSignatureByProcess
	names := slices.Sorted(maps.Keys(byProc))
	if want := []string{"enclave 1", "enclave 2", "enclave 3", "host 1", "host 2", "host 3"}; !slices.Equal(names, want) {
		t.Errorf("%s: processes %q, want %q", step, names, want)
	}
	var sum float64
	for _, ms := range byProc {
		sum += ms
	}
	if total := 1000 * cpu.SecondsPerSignature; math.Abs(sum-total) > 1e-9*max(1, total) {
		t.Errorf("%s: the processes add up to %v ms/sig, the total is %v", step, sum, total)
	}
	partyMs := func(p int) float64 { return byProc["host "+strconv.Itoa(p)] + byProc["enclave "+strconv.Itoa(p)] }
	b := cpu.BusiestParty
	if b == nil || b.Party < 1 || b.Party > 3 {
		t.Errorf("%s: busiest party %+v", step, b)
		return
	}
	if math.Abs(b.MsPerSignature-partyMs(b.Party)) > 1e-9 {
		t.Errorf("%s: busiest party %d at %v ms/sig, its processes add up to %v", step, b.Party, b.MsPerSignature, partyMs(b.Party))
	}
	for p := 1; p <= 3; p++ {
		if partyMs(p) > b.MsPerSignature+1e-9 {
			t.Errorf("%s: party %d (%v ms/sig) is busier than the busiest, %d (%v)", step, p, partyMs(p), b.Party, b.MsPerSignature)
		}
	}
}

// The flags are checked against each other before anything connects.
func TestBenchFlags(t *testing.T) {
	parseOK := func(args ...string) *benchOptions {
		t.Helper()
		o, _, err := parseBenchFlags(args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return o
	}
	o := parseOK("--door", "eth2", "--concurrency", "1,16,64")
	if o.scheme != "bls12-381" || o.keys != 64 || !slices.Equal(o.plan.Concurrency, []int{1, 16, 64}) || o.plan.Duration != 10*time.Second {
		t.Errorf("eth2 defaults: %+v", o)
	}
	o = parseOK("--requests", "50", "--vs", "single-key,softhsm,single-key")
	if o.door != "native" || o.scheme != "ed25519" || o.plan.Requests != 50 || o.plan.Duration != 0 || !slices.Equal(o.vs, []string{"single-key", "softhsm"}) {
		t.Errorf("native with requests: %+v", o)
	}
	for name, args := range map[string][]string{
		"unknown door":             {"--door", "grpc"},
		"scheme the door lacks":    {"--door", "pkcs11", "--scheme", "bip340"},
		"duration and requests":    {"--duration", "5s", "--requests", "10"},
		"bad concurrency":          {"--concurrency", "1,x"},
		"zero concurrency":         {"--concurrency", "0"},
		"eth2 keys below the load": {"--door", "eth2", "--concurrency", "8", "--keys", "4"},
		"no verification":          {"--verify-sample", "0"},
		"unknown baseline":         {"--vs", "hsm"},
		"softhsm cannot do bls":    {"--door", "eth2", "--vs", "softhsm"},
		"too many keys":            {"--keys", "5000"},
		"stray argument":           {"now"},
	} {
		_, _, err := parseBenchFlags(args, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v is not a usage error", name, err)
		}
	}
}
