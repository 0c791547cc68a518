package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Plan says how every step runs.
type Plan struct {
	Concurrency []int         // one step per value, in order
	Duration    time.Duration // measure each step this long (when Requests is 0)
	Requests    int64         // or: measure exactly this many requests per step
	Warmup      time.Duration // run each step this long first, unreported
	// VerifySample is the fraction of signatures verified, 0 < p <= 1; each signature is
	// picked at random, so a server cannot tell which answers will be checked.
	VerifySample float64
	Timeout      time.Duration // deadline of each request; 0: none
}

// MaxConcurrency bounds one step's workers.
const MaxConcurrency = 4096

// Validate checks a plan before anything runs.
func (p Plan) Validate() error {
	if len(p.Concurrency) == 0 {
		return errors.New("no concurrency given")
	}
	for _, c := range p.Concurrency {
		if c < 1 || c > MaxConcurrency {
			return fmt.Errorf("concurrency %d is not 1 to %d", c, MaxConcurrency)
		}
	}
	switch {
	case p.Requests < 0:
		return fmt.Errorf("requests %d is negative", p.Requests)
	case p.Requests == 0 && p.Duration <= 0:
		return errors.New("give a positive duration or a request count")
	case p.Warmup < 0 || p.Timeout < 0:
		return errors.New("warm-up and timeout cannot be negative")
	case !(p.VerifySample > 0 && p.VerifySample <= 1):
		return fmt.Errorf("verify sample %v is not in (0, 1]: every run verifies at least some signatures", p.VerifySample)
	}
	return nil
}

// MaxConcurrencyOf is the highest concurrency of the plan.
func (p Plan) MaxConcurrencyOf() int {
	m := 0
	for _, c := range p.Concurrency {
		m = max(m, c)
	}
	return m
}

// Runner measures drivers according to a plan.
type Runner struct {
	Plan Plan
	// Meter measures the cluster's processes; nil when they cannot be measured, and MeterNote
	// then says why (it is printed instead of a figure).
	Meter     CPUMeter
	MeterNote string
	// Progress receives a live progress line (carriage-return updated); nil for none.
	Progress io.Writer
	// SelfCPU measures this process's CPU; nil means the real one (tests replace it).
	SelfCPU func() time.Duration
}

// Step is one concurrency: the door's result and the baselines measured right after it.
type Step struct {
	Concurrency int        `json:"concurrency"`
	Result      Result     `json:"result"`
	Baselines   []Baseline `json:"baselines,omitempty"`
}

// Baseline is one baseline's result at a step, and the door's throughput as a ratio of it.
type Baseline struct {
	Result Result `json:"result"`
	// Ratio is the door's sig/s divided by this baseline's (0 when the baseline made none).
	Ratio float64 `json:"ratio"`
}

// Result is what one driver did in one step.
type Result struct {
	Driver      string `json:"driver"`
	Concurrency int    `json:"concurrency"`
	// Requests counts every request of the measured window; Signatures those answered with a
	// signature that verified or was not picked for verification; Verified those checked.
	Requests    int64             `json:"requests"`
	Signatures  int64             `json:"signatures"`
	Verified    int64             `json:"verified"`
	Errors      map[string]int64  `json:"errors,omitempty"`       // by kind
	FirstErrors map[string]string `json:"first_errors,omitempty"` // one message per kind
	// ElapsedSeconds runs from the first request to the last answer (requests in flight when
	// the duration ends are waited for and counted).
	ElapsedSeconds float64 `json:"elapsed_s"`
	SigPerSec      float64 `json:"sig_per_s"`
	LatencyMs      Latency `json:"latency_ms"` // of the counted signatures only
	// ClusterCPU is the cluster processes' CPU over the window; nil with ClusterCPUNote saying
	// why when it was not measured.
	ClusterCPU     *CPU   `json:"cluster_cpu,omitempty"`
	ClusterCPUNote string `json:"cluster_cpu_note,omitempty"`
	// ClientCPUSeconds is this process's CPU over the window: the load generator, and for
	// in-process baselines and PKCS#11 modules, the signing itself.
	ClientCPUSeconds float64 `json:"client_cpu_s"`
}

// CPU is CPU time from the processes' own accounting.
type CPU struct {
	Seconds             float64 `json:"s"`
	SecondsPerSignature float64 `json:"s_per_signature"`
	Processes           int     `json:"processes"`
	// ResolutionSeconds is the accounting's tick: a short step's figure is only this exact.
	ResolutionSeconds float64 `json:"resolution_s"`
	// MsPerSignatureByProcess is each process's CPU per signature in milliseconds, keyed by
	// the process's name ("host 1", "enclave 1", ...); the figures add up to
	// SecondsPerSignature. Absent when the step made no signature.
	MsPerSignatureByProcess map[string]float64 `json:"ms_per_signature_by_process,omitempty"`
	// BusiestParty is the party whose processes together used the most CPU per signature:
	// with one machine per party, its machine limits throughput.
	BusiestParty *PartyCPU `json:"busiest_party,omitempty"`
}

// PartyCPU is the CPU per signature of one party's processes together (host and enclave).
type PartyCPU struct {
	Party          int     `json:"party"`
	MsPerSignature float64 `json:"ms_per_signature"`
}

// Run measures the door at each concurrency of the plan, each baseline right after it at the
// same concurrency, so that ratios compare runs made under the same conditions.
func (r *Runner) Run(ctx context.Context, door Driver, baselines []Driver) ([]Step, error) {
	if err := r.Plan.Validate(); err != nil {
		return nil, err
	}
	var steps []Step
	for _, c := range r.Plan.Concurrency {
		res, err := r.Measure(ctx, door, c, r.Meter, r.MeterNote)
		if err != nil {
			return steps, err
		}
		step := Step{Concurrency: c, Result: res}
		for _, b := range baselines {
			br, err := r.Measure(ctx, b, c, nil, "not applicable: the baseline runs in this process (see client_cpu_s)")
			if err != nil {
				return steps, err
			}
			step.Baselines = append(step.Baselines, Baseline{Result: br, Ratio: ratio(res.SigPerSec, br.SigPerSec)})
		}
		steps = append(steps, step)
	}
	return steps, nil
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// Measure runs one step of one driver: open the workers, warm up, then measure. meter is the
// cluster's (nil for an in-process baseline, with meterNote saying so).
func (r *Runner) Measure(ctx context.Context, d Driver, concurrency int, meter CPUMeter, meterNote string) (Result, error) {
	workers, err := openWorkers(ctx, d, concurrency)
	if err != nil {
		return Result{}, err
	}
	defer closeWorkers(workers)
	label := fmt.Sprintf("%s c=%d", d.Name(), concurrency)
	if r.Plan.Warmup > 0 {
		deadline := time.Now().Add(r.Plan.Warmup)
		r.phase(ctx, workers, label+" warm-up", func() bool { return time.Now().Before(deadline) }, false)
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
	}
	cpu := r.startCPU(meter)
	start := time.Now()
	logs := r.phase(ctx, workers, label, r.keepGoing(start), true)
	elapsed := time.Since(start)
	cpu.stop()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := tally(logs)
	res.Driver, res.Concurrency = d.Name(), concurrency
	res.ElapsedSeconds = elapsed.Seconds()
	res.SigPerSec = Rate(res.Signatures, elapsed)
	cpu.report(&res, meterNote)
	return res, nil
}

// cpuWindow holds the CPU samples around a timed window: the cluster's processes (when there
// is a meter) and this process.
type cpuWindow struct {
	meter         CPUMeter
	before, after CPUSample
	err           error
	selfCPU       func() time.Duration
	self          time.Duration
}

func (r *Runner) startCPU(meter CPUMeter) *cpuWindow {
	w := &cpuWindow{meter: meter, selfCPU: r.SelfCPU}
	if w.selfCPU == nil {
		w.selfCPU = SelfCPU
	}
	if meter != nil {
		w.before, w.err = meter.Sample()
	}
	w.self = w.selfCPU()
	return w
}

func (w *cpuWindow) stop() {
	w.self = w.selfCPU() - w.self
	if w.meter != nil && w.err == nil {
		w.after, w.err = w.meter.Sample()
	}
}

// report fills in a result's CPU figures, or the reason there is no cluster figure.
func (w *cpuWindow) report(res *Result, meterNote string) {
	res.ClientCPUSeconds = w.self.Seconds()
	switch {
	case w.meter == nil:
		res.ClusterCPUNote = meterNote
	case w.err != nil:
		res.ClusterCPUNote = "not measured: " + w.err.Error()
	default:
		res.ClusterCPU, res.ClusterCPUNote = clusterCPU(w.before, w.after, res.Signatures)
	}
}

// clusterCPU turns two samples into the CPU figure of a step.
func clusterCPU(before, after CPUSample, signatures int64) (*CPU, string) {
	delta, err := after.Since(before, UserHZ)
	if err != nil {
		return nil, "not measured: " + err.Error()
	}
	cpu := &CPU{Seconds: delta.Seconds(), Processes: delta.Processes, ResolutionSeconds: 1.0 / UserHZ}
	if signatures > 0 {
		cpu.SecondsPerSignature = cpu.Seconds / float64(signatures)
		cpu.MsPerSignatureByProcess, cpu.BusiestParty = splitCPU(delta, signatures)
	}
	return cpu, ""
}

// splitCPU is a delta's CPU per signature by process and of its busiest party; signatures
// must be positive.
func splitCPU(delta CPUDelta, signatures int64) (map[string]float64, *PartyCPU) {
	msPerSig := func(ticks uint64) float64 {
		// One division, so that a figure with a short decimal form prints as that form.
		return float64(ticks) * 1000 / (float64(delta.TicksPerSecond) * float64(signatures))
	}
	byProcess := make(map[string]float64, len(delta.ByProcess))
	for _, p := range delta.ByProcess {
		byProcess[p.Name] = msPerSig(p.Ticks)
	}
	party, ticks, ok := delta.BusiestParty()
	if !ok {
		return byProcess, nil
	}
	return byProcess, &PartyCPU{Party: party, MsPerSignature: msPerSig(ticks)}
}

// keepGoing returns the condition under which a worker starts another request.
func (r *Runner) keepGoing(start time.Time) func() bool {
	if r.Plan.Requests > 0 {
		var issued atomic.Int64
		n := r.Plan.Requests
		return func() bool { return issued.Add(1) <= n }
	}
	deadline := start.Add(r.Plan.Duration)
	return func() bool { return time.Now().Before(deadline) }
}

func openWorkers(ctx context.Context, d Driver, n int) ([]Worker, error) {
	workers := make([]Worker, 0, n)
	for id := range n {
		w, err := d.NewWorker(ctx, id, n)
		if err != nil {
			closeWorkers(workers)
			return nil, fmt.Errorf("%s: opening worker %d of %d: %w", d.Name(), id+1, n, err)
		}
		workers = append(workers, w)
	}
	return workers, nil
}

func closeWorkers(workers []Worker) {
	for _, w := range workers {
		_ = w.Close()
	}
}

// answer is one request's outcome as a worker recorded it; verification comes later.
type answer struct {
	latency time.Duration
	signed  *Signed // the signature when it was picked for verification
	err     error
}

// counters feed the progress line.
type counters struct {
	answered, failed atomic.Int64
}

// phase runs every worker until keepGoing says stop and, when record is set, returns what
// each answered.
func (r *Runner) phase(ctx context.Context, workers []Worker, label string, keepGoing func() bool, record bool) [][]answer {
	logs := make([][]answer, len(workers))
	var cnt counters
	stop := r.startProgress(label, &cnt)
	defer stop()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && keepGoing() {
				a := r.one(ctx, w)
				if a.err != nil {
					cnt.failed.Add(1)
				} else {
					cnt.answered.Add(1)
				}
				if record {
					logs[i] = append(logs[i], a)
				}
			}
		})
	}
	wg.Wait()
	return logs
}

// one makes one request and decides whether its signature will be verified.
func (r *Runner) one(ctx context.Context, w Worker) answer {
	if r.Plan.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Plan.Timeout)
		defer cancel()
	}
	t0 := time.Now()
	s, err := w.Sign(ctx)
	a := answer{latency: time.Since(t0), err: err}
	if err == nil && rand.Float64() < r.Plan.VerifySample {
		a.signed = &s
	}
	return a
}

// tally verifies the picked signatures and counts the step: a signature that fails
// verification is an error of kind "verify", and its latency is left out.
func tally(logs [][]answer) Result {
	var all []*answer
	for _, l := range logs {
		for i := range l {
			all = append(all, &l[i])
		}
	}
	verifyAll(all)
	res := Result{}
	lat := make([]time.Duration, 0, len(all))
	for _, a := range all {
		res.Requests++
		if a.err != nil {
			res.countError(a.err)
			continue
		}
		if a.signed != nil {
			res.Verified++
		}
		res.Signatures++
		lat = append(lat, a.latency)
	}
	res.LatencyMs = Summarize(lat)
	return res
}

func (res *Result) countError(err error) {
	kind := Kind(err)
	if res.Errors == nil {
		res.Errors, res.FirstErrors = map[string]int64{}, map[string]string{}
	}
	if res.Errors[kind] == 0 {
		res.FirstErrors[kind] = truncate(err.Error(), 300)
	}
	res.Errors[kind]++
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// verifyAll checks every picked signature on all cores, after the timed window; a failure
// becomes the answer's error.
func verifyAll(all []*answer) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(all)) {
					return
				}
				a := all[i]
				if a.err != nil || a.signed == nil {
					continue
				}
				if err := Verify(*a.signed); err != nil {
					a.err = &KindError{Kind: KindVerify, Err: err}
				}
			}
		})
	}
	wg.Wait()
}

// progressEvery is how often the progress line is redrawn.
const progressEvery = 500 * time.Millisecond

// startProgress redraws a progress line until the returned function is called, which erases
// it.
func (r *Runner) startProgress(label string, cnt *counters) func() {
	if r.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	width := 0
	draw := func(line string) {
		pad := max(width-len(line), 0)
		fmt.Fprintf(r.Progress, "\r%s%s", line, strings.Repeat(" ", pad))
		width = len(line)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				draw("")
				fmt.Fprint(r.Progress, "\r")
				return
			case <-t.C:
				el := time.Since(start)
				ok, bad := cnt.answered.Load(), cnt.failed.Load()
				draw(fmt.Sprintf("%s  %5.1fs  %d answered  %d errors  %.0f/s", label, el.Seconds(), ok, bad, Rate(ok, el)))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
