package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/bench"
	"github.com/mpcsigner/mpcsigner/bench/blstkey"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/pkcs11/p11bench"
	"github.com/mpcsigner/mpcsigner/pkcs11/token"
)

// benchDoor is a front door `mpcsigner bench` drives, with the schemes it signs and its default.
type benchDoor struct {
	name, defaultScheme string
	schemes             []string
}

var benchDoors = []benchDoor{
	{"native", bench.SchemeEd25519, bench.NativeSchemes},
	{"eth2", bench.SchemeBLS, []string{bench.SchemeBLS}},
	{"eth1", bench.SchemeSecp256k1, []string{bench.SchemeSecp256k1}},
	{"pkcs11", bench.SchemeSecp256k1, p11bench.Schemes},
}

// benchBaselines are the names --vs takes.
var benchBaselines = []string{"single-key", "softhsm"}

// benchOptions are bench's own flags; the connection flags are the shared clientFlags, whose
// --timeout bounds each request.
type benchOptions struct {
	door, scheme  string
	plan          bench.Plan
	keys          int
	vs            []string
	plot          string
	jsonOut       string
	quiet         bool
	eth2URL       string
	eth1URL       string
	pkcs11Module  string
	pkcs11Conf    string
	pkcs11PINFile string
	softhsmModule string
}

const benchUsage = `usage: mpcsigner bench [flags]

Drives a running cluster through one front door and reports signatures per second, latency
percentiles, the cluster's CPU per signature and errors by kind; every signature is verified.
With 'make run' going:

  ./bin/mpcsigner bench --door native --scheme ed25519 --concurrency 1,16,64 --duration 10s --plot bench.svg --json-out bench.json

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, cf, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	info, infoErr := readDevnetInfo(cf.data)
	client, err := cf.client()
	if err != nil {
		return err
	}
	conns := o.plan.MaxConcurrencyOf()
	bench.KeepConnections(client.HTTP, conns)
	keys, err := bench.EnsureKeys(ctx, client, o.scheme, o.keys, stderr)
	if err != nil {
		return err
	}
	// Baselines first: SoftHSM's set-up runs softhsm2-util, which is best forked before a Go
	// runtime inside a PKCS#11 module is loaded into this process.
	baselines, closeBaselines, err := openBaselines(o, len(keys))
	if err != nil {
		return err
	}
	defer closeBaselines()
	door, err := openDoor(o, cf, client, info, keys, conns)
	if err != nil {
		return err
	}
	defer door.Close()
	runner := &bench.Runner{Plan: o.plan, SelfCPU: bench.SelfCPU}
	var cpuSource string
	runner.Meter, cpuSource = clusterMeter(cf, info, infoErr)
	if runner.Meter == nil {
		runner.MeterNote = cpuSource
	}
	if !o.quiet {
		runner.Progress = stderr
	}
	report := bench.NewReport(o.door, o.scheme, len(keys), o.plan, time.Now())
	report.ClusterCPU = cpuSource
	steps, runErr := runner.Run(ctx, door, baselines)
	report.Steps = steps
	if len(steps) > 0 {
		if err := writeBenchOutput(report, o, cf.json, stdout); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	return benchFailures(steps)
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchOptions, *clientFlags, error) {
	fs, cf := newClientFlags("bench", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	o := &benchOptions{}
	fs.StringVar(&o.door, "door", "native", "front door: native, eth2 (Web3Signer ATTESTATION), eth1 (JSON-RPC eth_sign) or pkcs11 (C_Sign)")
	fs.StringVar(&o.scheme, "scheme", "", "signature scheme (default: ed25519 for native, bls12-381 for eth2, ecdsa-secp256k1 for eth1 and pkcs11)")
	fs.DurationVar(&o.plan.Duration, "duration", 10*time.Second, "measure each step this long")
	fs.Int64Var(&o.plan.Requests, "requests", 0, "or measure exactly this many requests per step")
	concurrency := fs.String("concurrency", "1", "requests in flight; a comma-separated list is a sweep, e.g. 1,4,16,64")
	fs.DurationVar(&o.plan.Warmup, "warmup", 2*time.Second, "run each step this long first, unreported")
	fs.IntVar(&o.keys, "keys", 1, "spread requests over this many keys labelled bench-<scheme>-<i>, created if missing (eth2: default and minimum is the highest concurrency)")
	vs := fs.String("vs", "", "baselines measured at every step, printed as ratios: single-key (one whole key in this process), softhsm (the same PKCS#11 client against SoftHSM2)")
	fs.Float64Var(&o.plan.VerifySample, "verify-sample", 1, "fraction of signatures verified, 0 < p <= 1 (verification runs after each timed window)")
	fs.StringVar(&o.plot, "plot", "", "write an SVG chart of throughput and p99 latency against concurrency to this file")
	fs.StringVar(&o.jsonOut, "json-out", "", "also write the report as JSON to this file (the table still goes to stdout)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line on stderr")
	fs.StringVar(&o.eth2URL, "eth2", "", "Web3Signer API URL (default: the devnet's)")
	fs.StringVar(&o.eth1URL, "eth1", "", "eth1 JSON-RPC URL (default: the devnet's)")
	fs.StringVar(&o.pkcs11Module, "pkcs11-module", "", "the PKCS#11 module (default: libmpcsigner-pkcs11.so next to this binary, else ./bin/)")
	fs.StringVar(&o.pkcs11Conf, "pkcs11-conf", "", "the module's configuration file (default: $"+token.ConfigEnv+", else the devnet's)")
	fs.StringVar(&o.pkcs11PINFile, "pkcs11-pin-file", "", "a file holding the user PIN (default: the devnet's PIN)")
	fs.StringVar(&o.softhsmModule, "softhsm-module", "", "SoftHSM2's library (default: the usual install locations)")
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := o.complete(cf, *concurrency, *vs, set); err != nil {
		return nil, nil, err
	}
	return o, cf, nil
}

// complete checks the flags against each other and fills in the defaults that depend on them.
func (o *benchOptions) complete(cf *clientFlags, concurrency, vs string, set map[string]bool) error {
	i := slices.IndexFunc(benchDoors, func(d benchDoor) bool { return d.name == o.door })
	if i < 0 {
		return &usageError{fmt.Sprintf("--door %q: use native, eth2, eth1 or pkcs11", o.door)}
	}
	door := benchDoors[i]
	if o.scheme == "" {
		o.scheme = door.defaultScheme
	}
	if !slices.Contains(door.schemes, o.scheme) {
		return &usageError{fmt.Sprintf("--door %s signs %s, not %q", o.door, strings.Join(door.schemes, ", "), o.scheme)}
	}
	if set["duration"] && set["requests"] {
		return &usageError{"give --duration or --requests, not both"}
	}
	if set["requests"] {
		o.plan.Duration = 0
	}
	var err error
	if o.plan.Concurrency, err = parseConcurrency(concurrency); err != nil {
		return err
	}
	o.plan.Timeout = cf.timeout
	if err := o.plan.Validate(); err != nil {
		return &usageError{err.Error()}
	}
	if o.door == "eth2" {
		highest := o.plan.MaxConcurrencyOf()
		if !set["keys"] {
			o.keys = highest
		} else if o.keys < highest {
			return &usageError{fmt.Sprintf("--door eth2 at concurrency %d needs --keys %d or more: a validator key signs one attestation at a time", highest, highest)}
		}
	}
	if o.keys < 1 || o.keys > bench.MaxKeys {
		return &usageError{fmt.Sprintf("--keys %d is not 1 to %d", o.keys, bench.MaxKeys)}
	}
	if o.vs, err = parseBaselines(vs, o.scheme); err != nil {
		return err
	}
	return nil
}

func parseConcurrency(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > bench.MaxConcurrency {
			return nil, &usageError{fmt.Sprintf("--concurrency: %q is not a number from 1 to %d", part, bench.MaxConcurrency)}
		}
		out = append(out, n)
	}
	return out, nil
}

func parseBaselines(s, scheme string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		switch {
		case name == "" || slices.Contains(out, name):
			continue
		case !slices.Contains(benchBaselines, name):
			return nil, &usageError{fmt.Sprintf("--vs %q: use single-key or softhsm", name)}
		case name == "softhsm" && !slices.Contains(p11bench.Schemes, scheme):
			return nil, &usageError{fmt.Sprintf("--vs softhsm: a PKCS#11 token signs %s here, not %s", strings.Join(p11bench.Schemes, ", "), scheme)}
		}
		out = append(out, name)
	}
	return out, nil
}

// openDoor builds the driver of the chosen front door.
func openDoor(o *benchOptions, cf *clientFlags, client *api.Client, info *DevnetInfo, keys []api.Key, conns int) (bench.Driver, error) {
	switch o.door {
	case "native":
		return bench.NewNative(client, o.scheme, keys)
	case "eth2":
		url, err := devnetURL(o.eth2URL, info, func(i *DevnetInfo) string { return i.Web3Signer }, "--eth2", cf.data)
		if err != nil {
			return nil, err
		}
		// Microseconds since 1970 exceed any epoch an earlier run of this tool reached (it
		// would have needed a million attestations per key per second), so slashing
		// protection allows every attestation of this run.
		return bench.NewEth2(url, bench.NewHTTPClient(conns, cf.timeout), keys, uint64(time.Now().UnixMicro()))
	case "eth1":
		url, err := devnetURL(o.eth1URL, info, func(i *DevnetInfo) string { return i.Eth1 }, "--eth1", cf.data)
		if err != nil {
			return nil, err
		}
		return bench.NewEth1(url, bench.NewHTTPClient(conns, cf.timeout), keys)
	case "pkcs11":
		return openPKCS11Door(o, cf, info, keys)
	}
	return nil, fmt.Errorf("unknown door %q", o.door)
}

// devnetURL is the flag's URL, else the devnet's.
func devnetURL(flagValue string, info *DevnetInfo, pick func(*DevnetInfo) string, flagName, data string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if info != nil && pick(info) != "" {
		return pick(info), nil
	}
	return "", &usageError{fmt.Sprintf("no URL for this door: pass %s, or run a devnet on %s", flagName, data)}
}

// openPKCS11Door loads the mpcsigner PKCS#11 module into this process, configured through
// MPCSIGNER_PKCS11_CONF as any application would be, and finds the bench keys by label.
func openPKCS11Door(o *benchOptions, cf *clientFlags, info *DevnetInfo, keys []api.Key) (bench.Driver, error) {
	module, err := pkcs11ModulePath(o.pkcs11Module)
	if err != nil {
		return nil, err
	}
	conf := o.pkcs11Conf
	if conf == "" {
		conf = os.Getenv(token.ConfigEnv)
	}
	if conf == "" && info != nil {
		conf = info.PKCS11.Config
	}
	if conf == "" {
		return nil, &usageError{fmt.Sprintf("no PKCS#11 configuration: pass --pkcs11-conf, set %s, or run a devnet on %s", token.ConfigEnv, cf.data)}
	}
	if err := os.Setenv(token.ConfigEnv, conf); err != nil {
		return nil, err
	}
	pin, err := pkcs11PIN(o.pkcs11PINFile, info)
	if err != nil {
		return nil, err
	}
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = k.Label
	}
	return p11bench.Open(p11bench.Options{Name: "pkcs11", Module: module, PIN: pin, Scheme: o.scheme, Labels: labels})
}

// pkcs11ModulePath finds libmpcsigner-pkcs11.so: the flag, else beside this binary (make puts
// both in bin/), else ./bin/.
func pkcs11ModulePath(flagValue string) (string, error) {
	candidates := []string{flagValue}
	if flagValue == "" {
		candidates = []string{filepath.Join("bin", "libmpcsigner-pkcs11.so")}
		if exe, err := os.Executable(); err == nil {
			candidates = append([]string{filepath.Join(filepath.Dir(exe), "libmpcsigner-pkcs11.so")}, candidates...)
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("no PKCS#11 module at %s: build it with 'make pkcs11' or pass --pkcs11-module", strings.Join(candidates, " or "))
}

func pkcs11PIN(pinFile string, info *DevnetInfo) (string, error) {
	if pinFile != "" {
		b, err := os.ReadFile(pinFile)
		if err != nil {
			return "", fmt.Errorf("reading the PIN: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if info != nil && info.PKCS11.UserPIN != "" {
		return info.PKCS11.UserPIN, nil
	}
	return "", &usageError{"no PKCS#11 PIN: pass --pkcs11-pin-file, or run a devnet"}
}

// openBaselines builds the --vs drivers; the returned function closes them.
func openBaselines(o *benchOptions, keys int) ([]bench.Driver, func(), error) {
	var drivers []bench.Driver
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	for _, name := range o.vs {
		var d bench.Driver
		var err error
		switch name {
		case "single-key":
			d, err = singleKeyBaseline(o.scheme)
		case "softhsm":
			var sh *p11bench.SoftHSM
			if sh, err = p11bench.NewSoftHSM(o.softhsmModule); err == nil {
				closers = append(closers, func() { _ = sh.Close() })
				d, err = p11bench.Open(sh.Options(o.scheme, keys))
			}
		}
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("--vs %s: %w", name, err)
		}
		closers = append(closers, func() { _ = d.Close() })
		drivers = append(drivers, d)
	}
	return drivers, closeAll, nil
}

func singleKeyBaseline(scheme string) (bench.Driver, error) {
	var s bench.LocalSigner
	var err error
	if scheme == bench.SchemeBLS {
		s, err = blstkey.New()
	} else {
		s, err = bench.NewLocalSigner(scheme)
	}
	if err != nil {
		return nil, err
	}
	return bench.NewSingleKey(s), nil
}

// clusterMeter measures the devnet's host and enclave processes when they are processes of
// this machine and the API is theirs. It returns the meter (nil when there is none) and the
// sentence the report shows about cluster CPU.
func clusterMeter(cf *clientFlags, info *DevnetInfo, infoErr error) (bench.CPUMeter, string) {
	notMeasured := func(why string) (bench.CPUMeter, string) { return nil, "not measured: " + why }
	if infoErr != nil {
		return notMeasured(fmt.Sprintf("no %s in %s names the cluster's processes", devnetFileName, cf.data))
	}
	if cf.api != "" && !slices.ContainsFunc(info.Parties, func(p DevnetParty) bool { return sameURL(p.API, cf.api) }) && !sameURL(info.API, cf.api) {
		return notMeasured(fmt.Sprintf("--api %s is not a host of the devnet in %s, whose processes are the only ones known", cf.api, cf.data))
	}
	data := cf.data
	m := &bench.ProcMeter{Processes: func() ([]bench.Process, error) {
		i, err := readDevnetInfo(data)
		if err != nil {
			return nil, err
		}
		return devnetProcesses(i), nil
	}}
	s, err := m.Sample()
	if err != nil {
		return notMeasured(err.Error() + " (is the cluster on another machine?)")
	}
	return m, fmt.Sprintf("/proc/<pid>/stat utime+stime of the %d host and enclave processes listed in %s (this process and the devnet launcher not included)",
		s.Processes(), filepath.Join(cf.data, devnetFileName))
}

// devnetProcesses are the devnet's host and enclave processes, named by party so that the
// report can split the cluster's CPU the way one machine per party would carry it.
func devnetProcesses(info *DevnetInfo) []bench.Process {
	var procs []bench.Process
	for _, p := range info.Parties {
		procs = append(procs, bench.HostProcess(p.Party, p.HostPID), bench.EnclaveProcess(p.Party, p.EnclavePID))
	}
	return procs
}

func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// writeBenchOutput prints the report (JSON or a table), and writes the JSON file and the
// chart when asked.
func writeBenchOutput(r *bench.Report, o *benchOptions, asJSON bool, stdout io.Writer) error {
	var err error
	if asJSON {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if o.jsonOut != "" {
		var js bytes.Buffer
		if err := r.WriteJSON(&js); err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, js.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the JSON report: %w", err)
		}
	}
	if o.plot == "" {
		return nil
	}
	var svg bytes.Buffer
	if err := r.WritePlot(&svg); err != nil {
		return err
	}
	if err := os.WriteFile(o.plot, svg.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	return nil
}

// benchFailures makes a run with any failed request or unverified signature exit non-zero,
// after the report is out: a benchmark with errors must not look clean to a script.
func benchFailures(steps []bench.Step) error {
	var failed, total int64
	for _, s := range steps {
		results := []bench.Result{s.Result}
		for _, b := range s.Baselines {
			results = append(results, b.Result)
		}
		for _, r := range results {
			total += r.Requests
			for _, n := range r.Errors {
				failed += n
			}
		}
	}
	if failed > 0 {
		return errors.New(strconv.FormatInt(failed, 10) + " of " + strconv.FormatInt(total, 10) + " requests failed or did not verify (see the report)")
	}
	return nil
}
