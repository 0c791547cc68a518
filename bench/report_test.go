package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sampleReport is a report of a three-step sweep with two baselines, one step with errors and
// one without a CPU figure.
func sampleReport() *Report {
	r := NewReport("native", SchemeEd25519, 4, Plan{Concurrency: []int{1, 16, 64}, Duration: 10 * time.Second, Warmup: 2 * time.Second, VerifySample: 1}, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	r.ClusterCPU = "/proc utime+stime of 6 processes"
	for i, c := range []int{1, 16, 64} {
		res := Result{
			Driver: "native", Concurrency: c, Requests: int64(1000 * (i + 1)), Signatures: int64(990 * (i + 1)), Verified: int64(990 * (i + 1)),
			ElapsedSeconds: 10.25, SigPerSec: 96.5853658536585 * float64(i+1),
			LatencyMs:        Latency{P50: 1.5 * float64(c), P90: 2 * float64(c), P99: 3.25 * float64(c), Max: 40.125, Mean: 1.75},
			ClientCPUSeconds: 0.75,
		}
		if i == 1 {
			res.Errors = map[string]int64{"http 503 no_quorum": 7, KindVerify: 1}
			res.FirstErrors = map[string]string{"http 503 no_quorum": "1 of 2 parties reachable", KindVerify: "signature does not verify"}
		}
		if i == 2 {
			res.ClusterCPUNote = "not measured: process 12 exited or restarted during the step"
		} else {
			res.ClusterCPU = &CPU{Seconds: 2.5, SecondsPerSignature: 2.5 / float64(res.Signatures), Processes: 6, ResolutionSeconds: 0.01,
				MsPerSignatureByProcess: map[string]float64{
					"host 1": 0.25 / float64(i+1), "enclave 1": 1.25 / float64(i+1), "host 2": 0.0125, "enclave 2": 1.0 / float64(i+1),
					"host 3": 0.0125, "enclave 3": 0,
				},
				BusiestParty: &PartyCPU{Party: 1, MsPerSignature: 1.5 / float64(i+1)},
			}
		}
		step := Step{Concurrency: c, Result: res}
		for _, b := range []string{"single-key", "softhsm"} {
			br := Result{Driver: b, Concurrency: c, Requests: 50000, Signatures: 50000, Verified: 50000, ElapsedSeconds: 10, SigPerSec: 5000,
				ClusterCPUNote: "not applicable: the baseline runs in this process (see client_cpu_s)", ClientCPUSeconds: 19.5}
			step.Baselines = append(step.Baselines, Baseline{Result: br, Ratio: res.SigPerSec / br.SigPerSec})
		}
		r.Steps = append(r.Steps, step)
	}
	return r
}

func TestReportJSONRoundTrip(t *testing.T) {
	want := sampleReport()
	var b bytes.Buffer
	if err := want.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	var got Report
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if dec.More() {
		t.Fatal("more than one JSON value")
	}
}

func TestReportTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"door native, scheme ed25519, 4 key(s), 10s per step after 2s warm-up, every signature verified",
		"single-key sig/s", "softhsm sig/s",
		"http 503 no_quorum: 7, verify: 1",
		`first "http 503 no_quorum" error: 1 of 2 parties reachable`,
		"0.019x",   // 96.585 / 5000
		"  2970  ", // the c=64 row's signature count
		// under the table, each step's CPU by process in party order, or why there is none
		"\n  conc 1: host 1 0.250, enclave 1 1.250, host 2 0.013, enclave 2 1.000, host 3 0.013, enclave 3 0.000 (cpu ms/sig); busiest party: 1 (host+enclave 1.500 ms/sig)\n" +
			"  conc 16: host 1 0.125, enclave 1 0.625, host 2 0.013, enclave 2 0.500, host 3 0.013, enclave 3 0.000 (cpu ms/sig); busiest party: 1 (host+enclave 0.750 ms/sig)\n" +
			"  conc 64: not measured: process 12 exited or restarted during the step\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	var rows int
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "1" || f[0] == "16" || f[0] == "64") {
			rows++
			if f[0] == "64" && f[7] != "-" {
				t.Errorf("c=64 shows a CPU figure without a measurement: %q", l)
			}
		}
	}
	if rows != 3 {
		t.Errorf("%d rows, want 3:\n%s", rows, out)
	}
}

// Without a CPU figure in any step there is no split, only the header's reason.
func TestReportTableWithoutCPU(t *testing.T) {
	r := sampleReport()
	r.ClusterCPU = "not measured: no devnet.json in data names the cluster's processes"
	for i := range r.Steps {
		r.Steps[i].Result.ClusterCPU, r.Steps[i].Result.ClusterCPUNote = nil, r.ClusterCPU
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "cluster CPU: "+r.ClusterCPU) {
		t.Errorf("the reason is not in the header:\n%s", out)
	}
	if strings.Contains(out, "conc 1:") || strings.Contains(out, "busiest") {
		t.Errorf("a split without a measurement:\n%s", out)
	}
}

func TestCompareProcessNames(t *testing.T) {
	names := []string{"launcher", "enclave 10", "host 2", "enclave 1", "host 10", "enclave 2", "host 1", "relay 1"}
	slices.SortFunc(names, compareProcessNames)
	want := []string{"host 1", "enclave 1", "relay 1", "host 2", "enclave 2", "host 10", "enclave 10", "launcher"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// The chart is well-formed XML with one point per concurrency on every line, placed at the
// step's value.
func TestReportPlot(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := r.WritePlot(&b); err != nil {
		t.Fatal(err)
	}
	points := map[string][]string{} // class -> data-concurrency of each point
	dec := xml.NewDecoder(&b)
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Space + " " + se.Name.Local
		}
		if se.Name.Local != "circle" {
			continue
		}
		var class, conc string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "class":
				class = a.Value
			case "data-concurrency":
				conc = a.Value
			}
		}
		points[class] = append(points[class], conc)
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("root element %q", root)
	}
	want := []string{"1", "16", "64"}
	for _, class := range []string{"point throughput", "point p99"} {
		if diff := cmp.Diff(want, points[class]); diff != "" {
			t.Errorf("%s points (-want +got):\n%s", class, diff)
		}
	}
	if got := len(points["point baseline"]); got != 6 {
		t.Errorf("%d baseline points, want 3 for each of 2 baselines", got)
	}
	if err := (&Report{}).WritePlot(io.Discard); err == nil {
		t.Error("an empty report was plotted")
	}
}

// Text from outside (an error message, a driver name) cannot break the SVG.
func TestReportPlotEscapes(t *testing.T) {
	r := sampleReport()
	r.Door = `<script>"&'`
	var b bytes.Buffer
	if err := r.WritePlot(&b); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "script" {
			t.Fatal("a name became an element")
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.01: 2, 3: 5, 7: 10, 96.5: 100, 1234: 2000, 5000: 5000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestSmallFigures(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{rateCell(0), "0.0"}, {rateCell(0.2561), "0.256"}, {rateCell(12.34), "12.3"},
		{ratioCell(0), "0.000x"}, {ratioCell(0.0421), "0.042x"}, {ratioCell(0.0000467), "4.7e-05x"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
