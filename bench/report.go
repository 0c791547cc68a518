package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ReportVersion is the version of the JSON report; a change that breaks readers bumps it.
const ReportVersion = 1

// Report is one run of `mpcsigner bench`: the table, the JSON (--json) and the chart (--plot)
// are all made from it.
type Report struct {
	Version int    `json:"version"`
	Started string `json:"started"` // RFC 3339
	Door    string `json:"door"`
	Scheme  string `json:"scheme"`
	Keys    int    `json:"keys"`
	// DurationSeconds or Requests: how long each step was measured.
	DurationSeconds float64 `json:"duration_s,omitempty"`
	Requests        int64   `json:"requests,omitempty"`
	WarmupSeconds   float64 `json:"warmup_s"`
	VerifySample    float64 `json:"verify_sample"`
	// ClusterCPU says where the cluster CPU figures come from, or why there are none.
	ClusterCPU string `json:"cluster_cpu"`
	Steps      []Step `json:"steps"`
}

// NewReport starts a report of a plan.
func NewReport(door, scheme string, keys int, p Plan, started time.Time) *Report {
	r := &Report{
		Version: ReportVersion, Started: started.UTC().Format(time.RFC3339), Door: door, Scheme: scheme, Keys: keys,
		WarmupSeconds: p.Warmup.Seconds(), VerifySample: p.VerifySample,
	}
	if p.Requests > 0 {
		r.Requests = p.Requests
	} else {
		r.DurationSeconds = p.Duration.Seconds()
	}
	return r
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for a terminal: a header saying what was measured, one row per
// concurrency, baselines as extra columns with the door's throughput as a ratio of theirs, and
// the first message of every error kind.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "mpcsigner bench: door %s, scheme %s, %d key(s), %s per step after %s warm-up, %s\n",
		r.Door, r.Scheme, r.Keys, r.stepSize(), time.Duration(r.WarmupSeconds*float64(time.Second)), r.verifyText())
	fmt.Fprintf(w, "cluster CPU: %s\n\n", r.ClusterCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "conc\tsigs\tsig/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tcpu ms/sig\tclient ms/sig\t")
	for _, b := range r.baselineNames() {
		fmt.Fprintf(tw, "%s sig/s\tratio\t", b)
	}
	fmt.Fprint(tw, "errors\t\n")
	for _, s := range r.Steps {
		res := s.Result
		l := res.LatencyMs
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t", s.Concurrency, res.Signatures, rateCell(res.SigPerSec), l.P50, l.P90, l.P99, l.Max,
			clusterCPUCell(res), perSig(res.ClientCPUSeconds, res.Signatures))
		for _, b := range s.Baselines {
			fmt.Fprintf(tw, "%s\t%s\t", rateCell(b.Result.SigPerSec), ratioCell(b.Ratio))
		}
		fmt.Fprintf(tw, "%s\t\n", errorsCell(res.Errors))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r.writeProcessSplit(w)
	r.writeNotes(w)
	return nil
}

// writeProcessSplit prints each step's cluster CPU per signature by process and its busiest
// party, which the projection to one machine per party needs. When no step has the split,
// it prints nothing: the header already says why CPU was not measured.
func (r *Report) writeProcessSplit(w io.Writer) {
	if !slices.ContainsFunc(r.Steps, func(s Step) bool { return hasSplit(s.Result) }) {
		return
	}
	fmt.Fprintln(w)
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  conc %d: %s\n", s.Concurrency, processSplitText(s.Result))
	}
}

func hasSplit(res Result) bool {
	return res.ClusterCPU != nil && len(res.ClusterCPU.MsPerSignatureByProcess) > 0
}

// processSplitText is one step's split, or why it has none.
func processSplitText(res Result) string {
	if !hasSplit(res) {
		if res.ClusterCPUNote != "" {
			return res.ClusterCPUNote
		}
		return "no split: no signature was made"
	}
	cpu := res.ClusterCPU
	var parts []string
	for _, name := range slices.SortedFunc(maps.Keys(cpu.MsPerSignatureByProcess), compareProcessNames) {
		parts = append(parts, fmt.Sprintf("%s %.3f", name, cpu.MsPerSignatureByProcess[name]))
	}
	text := strings.Join(parts, ", ") + " (cpu ms/sig)"
	if b := cpu.BusiestParty; b != nil {
		text += fmt.Sprintf("; busiest party: %d (host+enclave %.3f ms/sig)", b.Party, b.MsPerSignature)
	}
	return text
}

// compareProcessNames orders names as HostProcess and EnclaveProcess make them: by party, the
// host first ("host 1", "enclave 1", "host 2", ...). Names of another form come last, in
// alphabetical order.
func compareProcessNames(a, b string) int {
	pa, ra := processNameKey(a)
	pb, rb := processNameKey(b)
	return cmp.Or(cmp.Compare(pa, pb), cmp.Compare(ra, rb), strings.Compare(a, b))
}

// processNameKey is a name's party and its rank within the party (host 0, enclave 1).
func processNameKey(name string) (party, rank int) {
	role, num, _ := strings.Cut(name, " ")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return math.MaxInt, 2
	}
	switch role {
	case "host":
		return n, 0
	case "enclave":
		return n, 1
	}
	return n, 2
}

func (r *Report) stepSize() string {
	if r.Requests > 0 {
		return fmt.Sprintf("%d requests", r.Requests)
	}
	return time.Duration(r.DurationSeconds * float64(time.Second)).String()
}

func (r *Report) verifyText() string {
	if r.VerifySample >= 1 {
		return "every signature verified"
	}
	return fmt.Sprintf("%.1f%% of signatures verified", 100*r.VerifySample)
}

// baselineNames are the baselines of the first step (every step has the same ones).
func (r *Report) baselineNames() []string {
	if len(r.Steps) == 0 {
		return nil
	}
	var names []string
	for _, b := range r.Steps[0].Baselines {
		names = append(names, b.Result.Driver)
	}
	return names
}

// rateCell shows a rate with a tenth, or three significant digits below 1 (threshold ECDSA
// on a small machine makes well under one signature per second).
func rateCell(v float64) string {
	if v >= 1 || v == 0 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// ratioCell shows a ratio with three decimals, or two significant digits when it is smaller
// than that.
func ratioCell(v float64) string {
	if v >= 0.01 || v == 0 {
		return fmt.Sprintf("%.3fx", v)
	}
	return fmt.Sprintf("%.2gx", v)
}

func clusterCPUCell(res Result) string {
	if res.ClusterCPU == nil {
		return "-"
	}
	return perSig(res.ClusterCPU.Seconds, res.Signatures)
}

func perSig(seconds float64, signatures int64) string {
	if signatures == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", 1000*seconds/float64(signatures))
}

func errorsCell(errs map[string]int64) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}

// writeNotes prints what the table cannot: why CPU was not measured, each error kind's first
// message, and what was verified.
func (r *Report) writeNotes(w io.Writer) {
	seen := map[string]bool{}
	note := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if !seen[line] {
			seen[line] = true
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w)
	for _, s := range r.Steps {
		results := []Result{s.Result}
		for _, b := range s.Baselines {
			results = append(results, b.Result)
		}
		for _, res := range results {
			for _, k := range slices.Sorted(maps.Keys(res.FirstErrors)) {
				note("%s c=%d, first %q error: %s", res.Driver, res.Concurrency, k, res.FirstErrors[k])
			}
			if res.Verified < res.Signatures {
				note("%s c=%d: %d of %d signatures verified (sampled)", res.Driver, res.Concurrency, res.Verified, res.Signatures)
			}
		}
	}
	note("signatures were verified after each timed window with crypto/ecdsa, btcec, crypto/ed25519 or gnark-crypto; a failure counts as a \"verify\" error")
}
