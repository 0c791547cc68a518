package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeDriver signs with a real Ed25519 key after sleeping a latency chosen by the request's
// sequence number (1, 2, ... across all workers). In a synctest bubble the sleeps advance a
// fake clock exactly, so rates and percentiles are known in advance.
type fakeDriver struct {
	name    string
	key     ed25519.PrivateKey
	latency func(seq int64) time.Duration
	// outcome decides what request seq returns: nil to sign, an error, or errTamper to sign and
	// then corrupt the signature.
	outcome   func(seq int64) error
	openErrAt int // NewWorker fails for this worker id when >= 0
	seq       atomic.Int64
}

var errTamper = errors.New("tamper")

func newFake(name string, latency func(int64) time.Duration) *fakeDriver {
	_, k, _ := ed25519.GenerateKey(nil)
	return &fakeDriver{name: name, key: k, latency: latency, openErrAt: -1}
}

func constant(d time.Duration) func(int64) time.Duration {
	return func(int64) time.Duration { return d }
}

func (f *fakeDriver) Name() string { return f.name }
func (f *fakeDriver) Close() error { return nil }
func (f *fakeDriver) NewWorker(_ context.Context, id, _ int) (Worker, error) {
	if id == f.openErrAt {
		return nil, errors.New("no session left")
	}
	return fakeWorker{f}, nil
}

type fakeWorker struct{ f *fakeDriver }

func (w fakeWorker) Close() error { return nil }
func (w fakeWorker) Sign(ctx context.Context) (Signed, error) {
	n := w.f.seq.Add(1)
	time.Sleep(w.f.latency(n))
	var err error
	if w.f.outcome != nil {
		err = w.f.outcome(n)
	}
	if err != nil && err != errTamper {
		return Signed{}, err
	}
	msg := []byte(fmt.Sprintf("request %d", n))
	sig := ed25519.Sign(w.f.key, msg)
	if err == errTamper {
		sig[0] ^= 1
	}
	return Signed{Scheme: SchemeEd25519, PublicKey: w.f.key.Public().(ed25519.PublicKey), Message: msg, Signature: sig}, nil
}

// fakeMeter returns its samples in turn.
type fakeMeter struct {
	samples []CPUSample
	calls   int
}

func (m *fakeMeter) Sample() (CPUSample, error) {
	if m.calls >= len(m.samples) {
		return CPUSample{}, errors.New("no more samples")
	}
	m.calls++
	return m.samples[m.calls-1], nil
}

func noCPU() time.Duration { return 0 }

func run(t *testing.T, r *Runner, door Driver, baselines ...Driver) []Step {
	t.Helper()
	if r.SelfCPU == nil {
		r.SelfCPU = noCPU
	}
	steps, err := r.Run(context.Background(), door, baselines)
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// One worker, latencies 1 ms .. 100 ms: the nearest-rank percentiles are the 50th, 90th and
// 99th values, and the rate is 100 signatures over the 5.05 s they took end to end.
func TestRunnerKnownLatencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("fake", func(n int64) time.Duration { return time.Duration(n) * time.Millisecond })
		steps := run(t, &Runner{Plan: Plan{Concurrency: []int{1}, Requests: 100, VerifySample: 1}, MeterNote: "not measured: test"}, f)
		res := steps[0].Result
		want := Latency{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}
		if diff := cmp.Diff(want, res.LatencyMs); diff != "" {
			t.Errorf("latency (-want +got):\n%s", diff)
		}
		if res.Requests != 100 || res.Signatures != 100 || res.Verified != 100 || res.Errors != nil {
			t.Errorf("counts: %+v", res)
		}
		if !approx(res.ElapsedSeconds, 5.05) || !approx(res.SigPerSec, 100/5.05) {
			t.Errorf("elapsed %v s, %v sig/s; want 5.05 s, %v sig/s", res.ElapsedSeconds, res.SigPerSec, 100/5.05)
		}
		if res.ClusterCPU != nil || res.ClusterCPUNote != "not measured: test" {
			t.Errorf("cluster CPU %+v, note %q", res.ClusterCPU, res.ClusterCPUNote)
		}
	})
}

// A duration step counts what completes: four workers at 10 ms each for 1 s make 400
// signatures, and the 0.6 s warm-up before it is not counted.
func TestRunnerDurationAndWarmup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("fake", constant(10*time.Millisecond))
		var progress bytes.Buffer
		r := &Runner{Plan: Plan{Concurrency: []int{4}, Duration: time.Second, Warmup: 600 * time.Millisecond, VerifySample: 1}, Progress: &progress}
		res := run(t, r, f)[0].Result
		if res.Signatures != 400 || !approx(res.ElapsedSeconds, 1) || !approx(res.SigPerSec, 400) {
			t.Errorf("got %d signatures in %v s (%v/s), want 400 in 1 s", res.Signatures, res.ElapsedSeconds, res.SigPerSec)
		}
		if got := f.seq.Load(); got != 640 {
			t.Errorf("%d requests made in all, want 240 warm-up + 400", got)
		}
		if out := progress.String(); !strings.Contains(out, "fake c=4 warm-up") || !strings.Contains(out, "answered") || !strings.HasSuffix(out, "\r") {
			t.Errorf("progress line: %q", out)
		}
	})
}

// A sweep runs one step per concurrency, in order, each baseline right after the door at the
// same concurrency, with the door's rate as a ratio of the baseline's.
func TestRunnerSweepAndBaselines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		door := newFake("door", constant(10*time.Millisecond))
		base := newFake("single-key", constant(time.Millisecond))
		r := &Runner{Plan: Plan{Concurrency: []int{1, 2, 4}, Duration: 100 * time.Millisecond, VerifySample: 1}}
		steps := run(t, r, door, base)
		if len(steps) != 3 {
			t.Fatalf("%d steps", len(steps))
		}
		for i, c := range []int{1, 2, 4} {
			s := steps[i]
			if s.Concurrency != c || s.Result.Concurrency != c || s.Result.Signatures != int64(10*c) || !approx(s.Result.SigPerSec, float64(100*c)) {
				t.Errorf("step %d: concurrency %d, %d signatures, %v/s", i, s.Concurrency, s.Result.Signatures, s.Result.SigPerSec)
			}
			if len(s.Baselines) != 1 {
				t.Fatalf("step %d: %d baselines", i, len(s.Baselines))
			}
			b := s.Baselines[0]
			if b.Result.Driver != "single-key" || b.Result.Signatures != int64(100*c) || !approx(b.Ratio, 0.1) {
				t.Errorf("step %d baseline: %+v ratio %v", i, b.Result, b.Ratio)
			}
			if b.Result.ClusterCPU != nil || !strings.Contains(b.Result.ClusterCPUNote, "in this process") {
				t.Errorf("a baseline reports cluster CPU: %+v %q", b.Result.ClusterCPU, b.Result.ClusterCPUNote)
			}
		}
	})
}

// Errors are counted by kind, a signature that does not verify is a "verify" error, and the
// latency of a failed request is left out of the percentiles.
func TestRunnerErrorKinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("fake", func(n int64) time.Duration {
			if n%7 == 0 {
				return time.Second // the corrupted answers are the slow ones
			}
			return time.Millisecond
		})
		f.outcome = func(n int64) error {
			switch {
			case n%5 == 0:
				return &KindError{Kind: "http 503", Err: errors.New("no quorum")}
			case n%11 == 0:
				return fmt.Errorf("calling the host: %w", context.DeadlineExceeded)
			case n%7 == 0:
				return errTamper
			}
			return nil
		}
		res := run(t, &Runner{Plan: Plan{Concurrency: []int{3}, Requests: 100, VerifySample: 1}}, f)[0].Result
		// Of 1..100: 20 multiples of 5; 8 multiples of 11 that are not (55 is); 11 multiples
		// of 7 that are neither (35, 70 and 77 are).
		want := map[string]int64{"http 503": 20, KindTimeout: 8, KindVerify: 11}
		if diff := cmp.Diff(want, res.Errors); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		if res.Requests != 100 || res.Signatures != 61 || res.Verified != 61 {
			t.Errorf("requests %d, signatures %d, verified %d; want 100, 61, 61", res.Requests, res.Signatures, res.Verified)
		}
		if res.LatencyMs.Max != 1 {
			t.Errorf("max latency %v ms includes a failed request", res.LatencyMs.Max)
		}
		if !strings.Contains(res.FirstErrors["http 503"], "no quorum") || !strings.Contains(res.FirstErrors[KindVerify], "does not verify") {
			t.Errorf("first errors: %v", res.FirstErrors)
		}
	})
}

// With a sample, only some signatures are checked, picked at random.
func TestRunnerVerifySample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("fake", constant(time.Millisecond))
		res := run(t, &Runner{Plan: Plan{Concurrency: []int{2}, Requests: 1000, VerifySample: 0.5}}, f)[0].Result
		// Binomial(1000, 0.5) has a standard deviation of about 16: these bounds are 9 of them.
		if res.Signatures != 1000 || res.Verified < 350 || res.Verified > 650 {
			t.Errorf("%d signatures, %d verified", res.Signatures, res.Verified)
		}
	})
}

// The cluster's CPU is the difference of the two samples around the window, divided by the
// signatures; a process that restarted in between voids the figure.
func TestRunnerClusterCPU(t *testing.T) {
	sample := func(host, enclave procTimes) CPUSample {
		return CPUSample{procs: []sampledProc{{HostProcess(1, 10), host}, {EnclaveProcess(1, 11), enclave}}}
	}
	before := sample(procTimes{ticks: 100, start: 5}, procTimes{ticks: 50, start: 6})
	after := sample(procTimes{ticks: 400, start: 5}, procTimes{ticks: 150, start: 6})
	restarted := sample(procTimes{ticks: 400, start: 5}, procTimes{ticks: 3, start: 900})
	for name, tc := range map[string]struct {
		after    CPUSample
		want     *CPU
		wantNote string
	}{
		"measured": {after, &CPU{
			Seconds: 4, SecondsPerSignature: 0.04, Processes: 2, ResolutionSeconds: 0.01,
			MsPerSignatureByProcess: map[string]float64{"host 1": 30, "enclave 1": 10},
			BusiestParty:            &PartyCPU{Party: 1, MsPerSignature: 40},
		}, ""},
		"restarted": {restarted, nil, "not measured: process 11 (enclave 1) exited or restarted during the step"},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &fakeMeter{samples: []CPUSample{before, tc.after}}
				r := &Runner{Plan: Plan{Concurrency: []int{1}, Requests: 100, VerifySample: 1}, Meter: m}
				res := run(t, r, newFake("fake", constant(time.Millisecond)))[0].Result
				if diff := cmp.Diff(tc.want, res.ClusterCPU); diff != "" || res.ClusterCPUNote != tc.wantNote {
					t.Errorf("cluster CPU (-want +got):\n%s\nnote %q, want %q", diff, res.ClusterCPUNote, tc.wantNote)
				}
				if m.calls != 2 {
					t.Errorf("%d samples taken, want 2", m.calls)
				}
			})
		})
	}
}

func TestRunnerWorkerOpenFailure(t *testing.T) {
	f := newFake("fake", constant(0))
	f.openErrAt = 2
	_, err := (&Runner{Plan: Plan{Concurrency: []int{4}, Requests: 1, VerifySample: 1}}).Run(context.Background(), f, nil)
	if err == nil || !strings.Contains(err.Error(), "worker 3 of 4") {
		t.Fatalf("got %v", err)
	}
}

func TestPlanValidate(t *testing.T) {
	ok := Plan{Concurrency: []int{1, 16}, Duration: time.Second, VerifySample: 1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Plan){
		"no concurrency":     func(p *Plan) { p.Concurrency = nil },
		"zero concurrency":   func(p *Plan) { p.Concurrency = []int{0} },
		"huge concurrency":   func(p *Plan) { p.Concurrency = []int{MaxConcurrency + 1} },
		"no length":          func(p *Plan) { p.Duration = 0 },
		"negative requests":  func(p *Plan) { p.Requests = -1 },
		"negative warm-up":   func(p *Plan) { p.Warmup = -time.Second },
		"verify nothing":     func(p *Plan) { p.VerifySample = 0 },
		"verify over 1":      func(p *Plan) { p.VerifySample = 1.5 },
		"verify NaN":         func(p *Plan) { p.VerifySample = math.NaN() },
		"negative a timeout": func(p *Plan) { p.Timeout = -1 },
	} {
		p := ok
		p.Concurrency = append([]int(nil), ok.Concurrency...)
		mutate(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, time.Millisecond}, // rank ceil(1) = 1
		{ms(1, 2), 51, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.001, time.Millisecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	if got := Rate(500, 2*time.Second); got != 250 {
		t.Errorf("Rate = %v", got)
	}
	if got := Rate(5, 0); got != 0 {
		t.Errorf("Rate over nothing = %v", got)
	}
}
