package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/miekg/pkcs11"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Benchmarks on a real devnet (six processes on this machine), through the native API. Run with
// `make bench`; the figures go in docs/performance.md.

var (
	benchOnce   sync.Once
	benchDevnet *devnetProc
	benchClient *api.Client
	benchKey    *api.Key
	benchDir    string
	keygenTime  time.Duration
)

func benchSetup(b *testing.B) {
	b.Helper()
	benchOnce.Do(func() {
		// Not b.TempDir: that is removed when the first benchmark ends, and the devnet is
		// shared by all of them. TestMain removes this one after stopping the devnet.
		dir, err := os.MkdirTemp("", "mpcsigner-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		benchDevnet = startDevnet(&onceTB{b}, filepath.Join(dir, "data"))
		benchClient, err = api.NewClient(api.ClientOptions{URL: benchDevnet.info.API, TokenFile: benchDevnet.info.TokenFile})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		benchKey, err = benchClient.CreateKey(context.Background(), api.CreateKeyRequest{Scheme: "ecdsa-secp256k1", Label: "bench"})
		keygenTime = time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	})
	if benchKey == nil {
		b.Fatal("devnet set-up failed earlier")
	}
}

// onceTB lets the shared devnet outlive the benchmark that started it; the process's own
// Pdeathsig and the devnet's stop on exit clean up.
type onceTB struct{ testing.TB }

func (o *onceTB) Cleanup(func()) {}

// BenchmarkDevnetKeygen reports the wall time of one 2-of-3 key generation with pooled
// pre-parameters (the devnet's fixtures; a second one per party is held for the signing
// benchmarks). It is measured once: pre-parameters are the scarce input.
func BenchmarkDevnetKeygen(b *testing.B) {
	benchSetup(b)
	b.ReportMetric(keygenTime.Seconds(), "keygen-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDevnetSign is one signing at a time through the API: the latency of one 2-of-3
// threshold ECDSA signature (all nine rounds) across six processes.
func BenchmarkDevnetSign(b *testing.B) {
	benchSetup(b)
	benchSign(b, 1)
}

// BenchmarkDevnetSignConcurrent4 keeps four signings in flight: throughput on two cores.
func BenchmarkDevnetSignConcurrent4(b *testing.B) {
	benchSetup(b)
	benchSign(b, 4)
}

func benchSign(b *testing.B, concurrency int) {
	pub, _ := hex.DecodeString(benchKey.PublicKey)
	var failures atomic.Int64
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				digest := randomHex32()
				sig, err := benchClient.Sign(context.Background(), benchKey.ID, api.SignRequest{Digest: digest})
				if err != nil {
					failures.Add(1)
					continue
				}
				d, _ := hex.DecodeString(digest)
				s, _ := hex.DecodeString(sig.Signature)
				if !crypto.VerifySignature(pub, d, s) {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d signings failed or did not verify", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sig/s")
}

// BenchmarkPKCS11SignMPC is C_Sign (CKM_ECDSA, secp256k1) through libmpcsigner-pkcs11.so on the
// devnet, from github.com/miekg/pkcs11, one signature at a time.
func BenchmarkPKCS11SignMPC(b *testing.B) {
	benchSetup(b)
	module := buildPKCS11Module(b)
	b.Setenv("MPCSIGNER_PKCS11_CONF", benchDevnet.info.PKCS11.Config)
	benchPKCS11Sign(b, module, benchDevnet.info.PKCS11.UserPIN, "bench", nil)
}

// BenchmarkPKCS11SignSoftHSM is the same client and mechanism against SoftHSM2 with a
// secp256k1 key: the reference software token.
func BenchmarkPKCS11SignSoftHSM(b *testing.B) {
	const softhsm = "/usr/lib/softhsm/libsofthsm2.so"
	util, err := exec.LookPath("softhsm2-util")
	if _, serr := os.Stat(softhsm); err != nil || serr != nil {
		b.Skip("SoftHSM2 is not installed")
	}
	dir := b.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	_ = os.MkdirAll(filepath.Join(dir, "tokens"), 0o700)
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("SOFTHSM2_CONF", conf)
	if out, err := exec.Command(util, "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	benchPKCS11Sign(b, softhsm, "1234", "bench-k1", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a})
}

// benchPKCS11Sign logs in, finds (or, with genParams, first generates) the key labelled
// label, and signs b.N random digests, checking each signature's length.
func benchPKCS11Sign(b *testing.B, module, pin, label string, genParams []byte) {
	p := pkcs11.New(module)
	if p == nil {
		b.Fatal("module does not load")
	}
	if err := p.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer p.Destroy()
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil || len(slots) == 0 {
		b.Fatalf("slots %v %v", slots, err)
	}
	sh, err := p.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Login(sh, pkcs11.CKU_USER, pin); err != nil {
		b.Fatal(err)
	}
	if genParams != nil {
		if _, _, err := p.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
			[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, genParams), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true)},
			[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_SIGN, true), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.FindObjectsInit(sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)}); err != nil {
		b.Fatal(err)
	}
	objs, _, err := p.FindObjects(sh, 1)
	_ = p.FindObjectsFinal(sh)
	if err != nil || len(objs) != 1 {
		b.Fatalf("key %q: %v %v", label, objs, err)
	}
	digest := make([]byte, 32)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		_, _ = rand.Read(digest)
		if err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, objs[0]); err != nil {
			b.Fatal(err)
		}
		sig, err := p.Sign(sh, digest)
		if err != nil || len(sig) != 64 {
			b.Fatalf("sign: %v (%d bytes)", err, len(sig))
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sig/s")
}
