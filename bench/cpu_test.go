package bench

import (
	"errors"
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

// The meter reads a /proc-like tree; the delta between two samples is the sum of each
// process's utime+stime increase, in USER_HZ ticks.
func TestProcMeter(t *testing.T) {
	root := t.TempDir()
	write := func(pid int, line string) {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pids := []int{101, 102, 103}
	m := &ProcMeter{Root: root, PIDs: func() ([]int, error) { return pids, nil }}
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
	if diff := cmp.Diff(CPUDelta{Ticks: 300, TicksPerSecond: 100, Processes: 3}, d); diff != "" || d.Seconds() != 3 {
		t.Errorf("delta (-want +got):\n%s seconds %v", diff, d.Seconds())
	}

	write(103, statLine("enclave", 0, 1, 77)) // restarted: a new start time
	restarted, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Since(before, UserHZ); err == nil || !strings.Contains(err.Error(), "103") {
		t.Errorf("a restarted process was not noticed: %v", err)
	}
	pids = []int{101, 102}
	fewer, err := m.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fewer.Since(before, UserHZ); err == nil {
		t.Error("a vanished process was not noticed")
	}
	pids = []int{101, 999}
	if _, err := m.Sample(); err == nil || !strings.Contains(err.Error(), "999 is not visible") {
		t.Errorf("a missing pid: %v", err)
	}
}

// This process's own stat parses, and its CPU time does not go backwards.
func TestProcMeterSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	m := &ProcMeter{PIDs: func() ([]int, error) { return []int{os.Getpid()}, nil }}
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
