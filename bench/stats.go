package bench

import (
	"math"
	"slices"
	"time"
)

// Latency summarizes the latencies of the signatures of one step, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted latencies by the
// nearest-rank method: the smallest value that at least p % of the values do not exceed. It
// interpolates nothing, so every figure reported is a latency that was measured.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Summarize computes the latency summary of a step. It sorts lat in place.
func Summarize(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return Latency{
		P50:  millis(Percentile(lat, 50)),
		P90:  millis(Percentile(lat, 90)),
		P99:  millis(Percentile(lat, 99)),
		Max:  millis(lat[len(lat)-1]),
		Mean: millis(sum / time.Duration(len(lat))),
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Rate is events per second over elapsed; zero when nothing elapsed.
func Rate(events int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(events) / elapsed.Seconds()
}
