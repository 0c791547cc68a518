package bench

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// statLine builds a stat line in proc(5)'s layout with the given comm, utime, stime and
// starttime; the other fields are plausible numbers.
func statLine(comm string, utime, stime, start int) string {
	f := make([]string, 50) // fields 3..52
	for i := range f {
		f[i] = "0"
	}
	f[0] = "S"
	f[14-3], f[15-3], f[22-3] = strconv.Itoa(utime), strconv.Itoa(stime), strconv.Itoa(start)
	return "4242 (" + comm + ") " + strings.Join(f, " ") + "\n"
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want procTimes
		ok   bool
	}{
		{"plain", statLine("mpcsigner", 120, 30, 9876), procTimes{ticks: 150, start: 9876}, true},
		// comm may hold spaces and parentheses: fields are counted from the last ')'.
		{"tricky comm", statLine("a) (b c) 1 2", 7, 3, 55), procTimes{ticks: 10, start: 55}, true},
		{"no newline", strings.TrimSuffix(statLine("x", 1, 1, 1), "\n"), procTimes{ticks: 2, start: 1}, true},
		{"empty", "", procTimes{}, false},
		{"no comm", "4242 S 0 0", procTimes{}, false},
		{"truncated", "4242 (x) S 1 2 3 4 5", procTimes{}, false},
		{"negative utime", strings.Replace(statLine("x", 1, 1, 1), " 1 1 ", " -1 1 ", 1), procTimes{}, false},
		{"no space after comm", "4242 (x)S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", procTimes{}, false},
		{"too long", statLine(strings.Repeat("x", maxStatBytes), 1, 1, 1), procTimes{}, false},
	} {
		got, err := parseStat([]byte(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// writeStat writes pid's stat file into a /proc-like tree at root.
func writeStat(t *testing.T, root string, pid int, line string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The meter reads a /proc-like tree; the delta between two samples is the sum of each
// process's utime+stime increase, in USER_HZ ticks, and each process's part in the meter's
// order.
func TestProcMeter(t *testing.T) {
	root := t.TempDir()
	write := func(pid int, line string) { writeStat(t, root, pid, line) }
	procs := []Process{HostProcess(1, 101), EnclaveProcess(1, 102), EnclaveProcess(2, 103)}
	m := &ProcMeter{Root: root, Processes: func() ([]Process, error) { return procs, nil }}
	write(101, statLine("host", 100, 20, 1))
	write(102, statLine("enclave", 300, 0, 2))
	write(103, statLine("enclave", 5, 5, 3))
	before, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	write(101, statLine("host", 150, 30, 1))    // +60
	write(102, statLine("enclave", 500, 40, 2)) // +240
	after, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	d, err := after.Since(before, UserHZ)
	if err != nil {
		t.Fatal(err)
	}
	want := CPUDelta{Ticks: 300, TicksPerSecond: 100, Processes: 3, ByProcess: []ProcessTicks{
		{Process{PID: 101, Name: "host 1", Party: 1}, 60},
		{Process{PID: 102, Name: "enclave 1", Party: 1}, 240},
		{Process{PID: 103, Name: "enclave 2", Party: 2}, 0},
	}}
	if diff := cmp.Diff(want, d); diff != "" || d.Seconds() != 3 {
		t.Errorf("delta (-want +got):\n%s seconds %v", diff, d.Seconds())
	}

	write(103, statLine("enclave", 0, 1, 77)) // restarted: a new start time
	restarted, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Since(before, UserHZ); err == nil || !strings.Contains(err.Error(), "process 103 (enclave 2) exited or restarted") {
		t.Errorf("a restarted process was not noticed: %v", err)
	}
	write(103, statLine("enclave", 5, 5, 3))
	procs = []Process{HostProcess(1, 101), EnclaveProcess(1, 102), HostProcess(2, 103)}
	renamed, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := renamed.Since(before, UserHZ); err == nil || !strings.Contains(err.Error(), "was enclave 2, then host 2") {
		t.Errorf("a renamed process was not noticed: %v", err)
	}
	procs = []Process{HostProcess(1, 101), EnclaveProcess(1, 102)}
	fewer, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fewer.Since(before, UserHZ); err == nil {
		t.Error("a vanished process was not noticed")
	}
	procs = []Process{HostProcess(1, 101), EnclaveProcess(1, 999)}
	if _, err := m.Sample(); err == nil || !strings.Contains(err.Error(), "999 is not visible") {
		t.Errorf("a missing pid: %v", err)
	}
}

// A list of processes that would split the CPU wrongly is refused before anything is read.
func TestProcMeterRefusesBadLists(t *testing.T) {
	root := t.TempDir()
	writeStat(t, root, 101, statLine("host", 1, 1, 1))
	writeStat(t, root, 102, statLine("enclave", 1, 1, 1))
	for name, tc := range map[string]struct {
		procs []Process
		want  string
	}{
		"none":         {nil, "no processes"},
		"no name":      {[]Process{{PID: 101}}, "process 101 has no name"},
		"pid twice":    {[]Process{HostProcess(1, 101), EnclaveProcess(1, 101)}, "process 101 is listed twice"},
		"name twice":   {[]Process{HostProcess(1, 101), HostProcess(1, 102)}, `two processes are named "host 1"`},
		"lister fails": {nil, "devnet.json is gone"},
	} {
		m := &ProcMeter{Root: root, Processes: func() ([]Process, error) {
			if name == "lister fails" {
				return nil, errors.New("devnet.json is gone")
			}
			return tc.procs, nil
		}}
		if _, err := m.Sample(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

// Six named processes in a fake /proc with known tick counts give exactly the expected CPU
// per signature of each, the busiest party, and the line the table prints under it.
func TestProcMeterSplit(t *testing.T) {
	root := t.TempDir()
	var procs []Process
	for party := 1; party <= 3; party++ {
		procs = append(procs, HostProcess(party, 100+2*party), EnclaveProcess(party, 101+2*party))
	}
	m := &ProcMeter{Root: root, Processes: func() ([]Process, error) { return procs, nil }}
	// ticks used during the step, in the order of procs: host 1, enclave 1, host 2, ...
	used := []int{143, 600, 71, 600, 2, 1}
	for i, p := range procs {
		writeStat(t, root, p.PID, statLine("mpcsigner", 1000+i, 7, 50+i))
	}
	before, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		writeStat(t, root, p.PID, statLine("mpcsigner", 1000+i+used[i]-used[i]/3, 7+used[i]/3, 50+i))
	}
	after, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	// 1417 ticks of 10 ms over 100 signatures.
	got, note := clusterCPU(before, after, 100)
	want := &CPU{
		Seconds: 14.17, SecondsPerSignature: 0.1417, Processes: 6, ResolutionSeconds: 0.01,
		MsPerSignatureByProcess: map[string]float64{
			"host 1": 14.3, "enclave 1": 60, "host 2": 7.1, "enclave 2": 60, "host 3": 0.2, "enclave 3": 0.1,
		},
		BusiestParty: &PartyCPU{Party: 1, MsPerSignature: 74.3},
	}
	if diff := cmp.Diff(want, got); diff != "" || note != "" {
		t.Fatalf("cluster CPU (-want +got):\n%s\nnote %q", diff, note)
	}
	var sum float64
	for _, v := range got.MsPerSignatureByProcess {
		sum += v
	}
	if math.Abs(sum-1000*got.SecondsPerSignature) > 1e-9 {
		t.Errorf("the processes add up to %v ms/sig, the total is %v", sum, 1000*got.SecondsPerSignature)
	}

	r := &Report{Steps: []Step{{Concurrency: 16, Result: Result{Signatures: 100, ClusterCPU: got}}}}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	line := "  conc 16: host 1 14.300, enclave 1 60.000, host 2 7.100, enclave 2 60.000, host 3 0.200, enclave 3 0.100 (cpu ms/sig); busiest party: 1 (host+enclave 74.300 ms/sig)\n"
	if !strings.Contains(b.String(), line) {
		t.Errorf("table lacks %q:\n%s", line, b.String())
	}
}

// The busiest party adds up its processes; a tie goes to the lower party, and processes of no
// party count for none.
func TestBusiestParty(t *testing.T) {
	ticks := func(p Process, n uint64) ProcessTicks { return ProcessTicks{Process: p, Ticks: n} }
	for _, tc := range []struct {
		name  string
		by    []ProcessTicks
		party int
		ticks uint64
		ok    bool
	}{
		{"sum beats the largest process", []ProcessTicks{ticks(HostProcess(1, 1), 50), ticks(EnclaveProcess(1, 2), 50), ticks(EnclaveProcess(2, 3), 90)}, 1, 100, true},
		{"tie", []ProcessTicks{ticks(EnclaveProcess(3, 1), 40), ticks(EnclaveProcess(2, 2), 40)}, 2, 40, true},
		{"all idle", []ProcessTicks{ticks(HostProcess(2, 1), 0), ticks(HostProcess(1, 2), 0)}, 1, 0, true},
		{"no party", []ProcessTicks{ticks(Process{PID: 1, Name: "launcher"}, 500)}, 0, 0, false},
		{"a process of no party is left out", []ProcessTicks{ticks(Process{PID: 1, Name: "launcher"}, 500), ticks(HostProcess(1, 2), 3)}, 1, 3, true},
	} {
		party, n, ok := CPUDelta{ByProcess: tc.by}.BusiestParty()
		if party != tc.party || n != tc.ticks || ok != tc.ok {
			t.Errorf("%s: got party %d, %d ticks, %v; want %d, %d, %v", tc.name, party, n, ok, tc.party, tc.ticks, tc.ok)
		}
	}
}

// This process's own stat parses, and its CPU time does not go backwards.
func TestProcMeterSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	m := &ProcMeter{Processes: func() ([]Process, error) { return []Process{{PID: os.Getpid(), Name: "self"}}, nil }}
	a, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1e6; i++ {
		_ = strconv.Itoa(i)
	}
	b, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Since(a, UserHZ); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine("mpcsigner", 1, 2, 3)))
	f.Add([]byte(statLine("a) (b", 1, 2, 3)))
	f.Add([]byte("1 () "))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseStat(b)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		if err != nil && got != (procTimes{}) {
			t.Fatalf("error %v with a result %+v", err, got)
		}
		if err == nil && (len(b) > maxStatBytes || !strings.Contains(string(b), ")")) {
			t.Fatalf("accepted %q", b)
		}
	})
}
