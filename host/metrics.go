package host

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are a host's Prometheus metrics, on a registry of its own. Labels never carry key ids.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	runs           *prometheus.CounterVec
	runSeconds     *prometheus.HistogramVec
	reachable      prometheus.Gauge
	relayed        *prometheus.CounterVec
	notices        prometheus.Counter
	presignClaims  *prometheus.CounterVec
	presignDepth   *prometheus.GaugeVec
	batchSize      prometheus.Histogram
	eth2BatchSize  prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpcsigner_api_requests_total", Help: "Native API requests by operation and result.",
		}, []string{"op", "result"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mpcsigner_api_request_seconds", Help: "Native API request duration.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"op", "result"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpcsigner_protocol_runs_total", Help: "Protocol runs coordinated by this host, by operation, scheme and result.",
		}, []string{"op", "scheme", "result"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mpcsigner_protocol_run_seconds", Help: "Protocol run duration, by operation, scheme and result.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}, []string{"op", "scheme", "result"}),
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mpcsigner_host_parties_reachable", Help: "Parties (including this one) whose enclave answered recently.",
		}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpcsigner_host_relays_total", Help: "Party-channel frames relayed, by direction and result.",
		}, []string{"direction", "result"}),
		notices: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mpcsigner_host_enclave_rejections_total", Help: "Inputs the enclave refused.",
		}),
		presignClaims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpcsigner_presign_claims_total", Help: "Signings of pooled schemes by whether the presignature pool had one ready (hit) or the full protocol ran (miss); the hit rate is hit / (hit + miss).",
		}, []string{"scheme", "result"}),
		presignDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mpcsigner_presign_pool_depth", Help: "Presignatures ready in this host's pools, all keys of a scheme together.",
		}, []string{"scheme"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mpcsigner_sign_batch_size", Help: "Signings per signing session (FROST batching; 1: alone).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
		eth2BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mpcsigner_eth2_batch_size", Help: "eth2 partial-signature requests per call to one enclave (1: alone).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
	}
	m.reg.MustRegister(m.requests, m.requestSeconds, m.runs, m.runSeconds, m.reachable, m.relayed, m.notices, m.presignClaims, m.presignDepth, m.batchSize, m.eth2BatchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (h *Host) metricsServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{}))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}
