package main

import (
	"bufio"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// metricValue reads one sample (the exact series name with its labels) from party's metrics;
// -1 if it is not there.
func metricValue(t testing.TB, d *devnetProc, party int, series string) float64 {
	t.Helper()
	resp, err := http.Get(d.refresh().Parties[party-1].Metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s has value %q", series, value)
			}
			return v
		}
	}
	return -1
}

const (
	poolDepth  = "mpcsigner_presign_pool_depth"
	poolHits   = `mpcsigner_presign_claims_total{result="hit",scheme="ecdsa-secp256k1"}`
	poolMisses = `mpcsigner_presign_claims_total{result="miss",scheme="ecdsa-secp256k1"}`
)

// ECDSA presignature pools on a devnet: a first signing misses and registers the key's pool;
// the pool fills in the background; the next signings take presignatures (hits), each verified
// with go-ethereum; another signer set misses and runs the full protocol; after an enclave is
// killed and restarted (its parked presignatures die with it) every signing still succeeds.
func TestPresignPoolEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--presign-pool", "3")
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "pooled")

	signAndVerify(t, d, key, []uint16{1, 2})
	if m := metricValue(t, d, 1, poolMisses); m != 1 {
		t.Fatalf("the first signing counted %v misses, want 1", m)
	}
	waitFor(t, "host 1's pool to fill to 3", 5*time.Minute, func() bool { return metricValue(t, d, 1, poolDepth) == 3 })

	for range 3 {
		signAndVerify(t, d, key, []uint16{1, 2})
	}
	if h := metricValue(t, d, 1, poolHits); h != 3 {
		t.Fatalf("3 signings from a full pool of 3 counted %v hits", h)
	}

	misses := metricValue(t, d, 1, poolMisses)
	got := signAndVerify(t, d, key, []uint16{2, 3})
	if !slices.Equal(got.Parties, []uint16{2, 3}) {
		t.Fatalf("signed with %v", got.Parties)
	}
	if m := metricValue(t, d, 1, poolMisses); m != misses+1 {
		t.Fatalf("a signing by another signer set counted %v misses, want %v", m, misses+1)
	}

	waitFor(t, "host 1's pool of signers 1,2 to hold a presignature again", 5*time.Minute, func() bool { return metricValue(t, d, 1, poolDepth) >= 1 })
	old := d.refresh().Parties[1].EnclavePID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the devnet to restart enclave 2", 60*time.Second, func() bool {
		p := d.refresh().Parties[1].EnclavePID
		return p != old && processAlive(p) && d.allHealthy()
	})
	for range 3 {
		signAndVerify(t, d, key, []uint16{1, 2})
	}
}
