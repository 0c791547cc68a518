package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// CPUMeter measures the CPU time a set of processes has used.
type CPUMeter interface {
	Sample() (CPUSample, error)
}

// Process is one process a meter measures, and what reports call it.
type Process struct {
	PID int
	// Name is unique within a meter, e.g. "host 1" or "enclave 2".
	Name string
	// Party is the party (from 1) whose machine the process runs on when each party has its
	// own, or 0 for none: the busiest party's figure adds up its processes.
	Party int
}

// HostProcess is party's host process as reports name it.
func HostProcess(party, pid int) Process {
	return Process{PID: pid, Name: fmt.Sprintf("host %d", party), Party: party}
}

// EnclaveProcess is party's enclave process as reports name it.
func EnclaveProcess(party, pid int) Process {
	return Process{PID: pid, Name: fmt.Sprintf("enclave %d", party), Party: party}
}

// CPUSample is the accumulated user+system CPU time of each measured process at one moment.
type CPUSample struct {
	procs []sampledProc // in the meter's order
}

// sampledProc is one process of a sample.
type sampledProc struct {
	Process
	procTimes
}

// procTimes identifies a process incarnation by its start time (a pid can be reused) and holds
// the CPU it has used, in clock ticks.
type procTimes struct {
	ticks uint64
	start uint64
}

// Processes is the number of processes in the sample.
func (s CPUSample) Processes() int { return len(s.procs) }

// CPUDelta is the CPU time the processes used between two samples.
type CPUDelta struct {
	Ticks          uint64
	TicksPerSecond int64
	Processes      int
	// ByProcess is each process's part of Ticks, in the meter's order.
	ByProcess []ProcessTicks
}

// ProcessTicks is the CPU one process used between two samples.
type ProcessTicks struct {
	Process
	Ticks uint64
}

// Seconds converts the delta to seconds.
func (d CPUDelta) Seconds() float64 {
	if d.TicksPerSecond <= 0 {
		return 0
	}
	return float64(d.Ticks) / float64(d.TicksPerSecond)
}

// BusiestParty is the party whose processes used the most CPU together, and their ticks; on
// a tie, the lowest-numbered party. ok is false when no process belongs to a party. With one
// machine per party, this party's machine is the one that limits throughput.
func (d CPUDelta) BusiestParty() (party int, ticks uint64, ok bool) {
	byParty := map[int]uint64{}
	for _, p := range d.ByProcess {
		if p.Party > 0 {
			byParty[p.Party] += p.Ticks
		}
	}
	for n, t := range byParty {
		if !ok || t > ticks || (t == ticks && n < party) {
			party, ticks, ok = n, t, true
		}
	}
	return party, ticks, ok
}

// Since is the CPU used from before to s. It refuses when the set of processes differs (one
// exited, was restarted, or its pid was reused): part of the work would then be unaccounted.
func (s CPUSample) Since(before CPUSample, ticksPerSecond int64) (CPUDelta, error) {
	if len(s.procs) != len(before.procs) {
		return CPUDelta{}, fmt.Errorf("the cluster's processes changed during the step (%d, then %d)", len(before.procs), len(s.procs))
	}
	now := make(map[int]sampledProc, len(s.procs))
	for _, a := range s.procs {
		now[a.PID] = a
	}
	d := CPUDelta{TicksPerSecond: ticksPerSecond, Processes: len(s.procs), ByProcess: make([]ProcessTicks, 0, len(before.procs))}
	for _, b := range before.procs {
		a, ok := now[b.PID]
		switch {
		case !ok || a.start != b.start:
			return CPUDelta{}, fmt.Errorf("process %d (%s) exited or restarted during the step", b.PID, b.Name)
		case a.Name != b.Name:
			return CPUDelta{}, fmt.Errorf("process %d was %s, then %s", b.PID, b.Name, a.Name)
		case a.ticks < b.ticks:
			return CPUDelta{}, fmt.Errorf("process %d (%s)'s CPU time went backwards", b.PID, b.Name)
		}
		d.Ticks += a.ticks - b.ticks
		d.ByProcess = append(d.ByProcess, ProcessTicks{Process: b.Process, Ticks: a.ticks - b.ticks})
	}
	return d, nil
}

// UserHZ is the unit of the CPU times in /proc/<pid>/stat on Linux (USER_HZ, which the kernel
// fixes at 100 for user space on every architecture Go supports; sysconf(_SC_CLK_TCK) reports
// the same).
const UserHZ = 100

// ProcMeter reads the CPU time of processes from /proc/<pid>/stat (utime + stime): the kernel's
// own accounting of every thread of each process, not an estimate.
type ProcMeter struct {
	Root string // "/proc" unless testing
	// Processes returns the processes to measure; it is called at every sample, so a launcher
	// that restarts children can report the new pids (Since then refuses the step that spans
	// it).
	Processes func() ([]Process, error)
}

// Sample reads every process's stat file.
func (m *ProcMeter) Sample() (CPUSample, error) {
	procs, err := m.Processes()
	if err != nil {
		return CPUSample{}, err
	}
	if err := checkProcesses(procs); err != nil {
		return CPUSample{}, err
	}
	s := CPUSample{procs: make([]sampledProc, 0, len(procs))}
	for _, p := range procs {
		t, err := m.read(p.PID)
		if err != nil {
			return CPUSample{}, err
		}
		s.procs = append(s.procs, sampledProc{Process: p, procTimes: t})
	}
	return s, nil
}

// checkProcesses refuses a list that would make the split by process wrong: a process counted
// twice, or two under one name.
func checkProcesses(procs []Process) error {
	if len(procs) == 0 {
		return fmt.Errorf("no processes to measure")
	}
	pids, names := map[int]bool{}, map[string]bool{}
	for _, p := range procs {
		switch {
		case p.Name == "":
			return fmt.Errorf("process %d has no name", p.PID)
		case pids[p.PID]:
			return fmt.Errorf("process %d is listed twice", p.PID)
		case names[p.Name]:
			return fmt.Errorf("two processes are named %q", p.Name)
		}
		pids[p.PID], names[p.Name] = true, true
	}
	return nil
}

// maxStatBytes caps what is read of a stat file: real ones are a few hundred bytes, and comm
// (the one free-form field) is at most 64.
const maxStatBytes = 4096

func (m *ProcMeter) read(pid int) (procTimes, error) {
	root := m.Root
	if root == "" {
		root = "/proc"
	}
	f, err := os.Open(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procTimes{}, fmt.Errorf("process %d is not visible here: %w", pid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStatBytes+1))
	if err != nil {
		return procTimes{}, fmt.Errorf("reading process %d's stat: %w", pid, err)
	}
	t, err := parseStat(b)
	if err != nil {
		return procTimes{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return t, nil
}

// parseStat decodes the fields this package needs from a /proc/<pid>/stat line (proc(5)):
// utime (14), stime (15) and starttime (22). comm (field 2) is parenthesized and may itself
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (procTimes, error) {
	if len(b) > maxStatBytes {
		return procTimes{}, fmt.Errorf("%w: stat line of more than %d bytes", ErrInvalid, maxStatBytes)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procTimes{}, fmt.Errorf("%w: stat line without a parenthesized comm", ErrInvalid)
	}
	rest := b[end+1:]
	if len(rest) == 0 || rest[0] != ' ' {
		return procTimes{}, fmt.Errorf("%w: stat line: no space after comm", ErrInvalid)
	}
	// rest[0] of the split is field 3 (state); stat has 52 fields since Linux 3.5, but only the
	// first 22 are needed here.
	fields := bytes.Split(rest[1:], []byte(" "))
	if len(fields) < 20 {
		return procTimes{}, fmt.Errorf("%w: stat line has %d fields after comm, want at least 20", ErrInvalid, len(fields))
	}
	num := func(field int) (uint64, error) {
		v, err := strconv.ParseUint(string(fields[field-3]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: stat field %d is not a number: %q", ErrInvalid, field, fields[field-3])
		}
		return v, nil
	}
	utime, err := num(14)
	if err != nil {
		return procTimes{}, err
	}
	stime, err := num(15)
	if err != nil {
		return procTimes{}, err
	}
	start, err := num(22)
	if err != nil {
		return procTimes{}, err
	}
	if utime > utime+stime {
		return procTimes{}, fmt.Errorf("%w: stat CPU times overflow", ErrInvalid)
	}
	return procTimes{ticks: utime + stime, start: start}, nil
}

// SelfCPU is the CPU time this process has used (every thread, including a PKCS#11 module's
// loaded into it): the load generator's own cost.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
