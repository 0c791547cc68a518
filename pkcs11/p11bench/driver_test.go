package p11bench

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/bench"
)

// softHSM sets up a throw-away token, or skips when SoftHSM2 is not installed.
func softHSM(t *testing.T) *SoftHSM {
	t.Helper()
	s, err := NewSoftHSM("")
	if err != nil {
		if strings.Contains(err.Error(), "not installed") || strings.Contains(err.Error(), "not on PATH") {
			t.Skipf("SoftHSM2 is not available: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestSoftHSMThroughTheRunner drives SoftHSM2 (a real C module) through the runner for every
// scheme: every signature comes back over C_Sign and is verified by bench.Verify with
// crypto/ecdsa, btcec or crypto/ed25519 against CKA_EC_POINT.
func TestSoftHSMThroughTheRunner(t *testing.T) {
	s := softHSM(t)
	for _, scheme := range Schemes {
		t.Run(scheme, func(t *testing.T) {
			d, err := Open(s.Options(scheme, 2))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Keys() != 2 {
				t.Fatalf("%d keys, want 2", d.Keys())
			}
			r := &bench.Runner{Plan: bench.Plan{Concurrency: []int{1, 3}, Requests: 30, VerifySample: 1, Timeout: time.Minute}}
			steps, err := r.Run(context.Background(), d, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range steps {
				res := st.Result
				if res.Driver != "softhsm" || res.Signatures != 30 || res.Verified != 30 || len(res.Errors) != 0 {
					t.Errorf("c=%d: %+v", st.Concurrency, res)
				}
			}
		})
	}
}

// TestSoftHSMRefusals: a wrong PIN, a scheme PKCS#11 cannot sign here and a missing key are
// refused at Open, before anything is timed.
func TestSoftHSMRefusals(t *testing.T) {
	s := softHSM(t)
	o := s.Options(bench.SchemeP256, 1)
	o.PIN = "wrong"
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "C_Login") {
		t.Errorf("wrong PIN: %v", err)
	}
	if _, err := Open(s.Options(bench.SchemeBIP340, 1)); err == nil {
		t.Error("bip340 through PKCS#11 was accepted")
	}
	o = s.Options(bench.SchemeP256, 0)
	o.Labels = []string{"no-such-key"}
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "no-such-key") {
		t.Errorf("missing key: %v", err)
	}
}

// TestSoftHSMWrongSignatureIsCounted: a signature made by the token under one key but checked
// against another key's public key fails verification and is counted as "verify".
func TestSoftHSMWrongSignatureIsCounted(t *testing.T) {
	s := softHSM(t)
	d, err := Open(s.Options(bench.SchemeSecp256k1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.keys[0].pub, d.keys[1].pub = d.keys[1].pub, d.keys[0].pub
	r := &bench.Runner{Plan: bench.Plan{Concurrency: []int{1}, Requests: 10, VerifySample: 1}}
	steps, err := r.Run(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := steps[0].Result; res.Signatures != 0 || res.Errors[bench.KindVerify] != 10 {
		t.Fatalf("swapped keys: %+v", res)
	}
}

func TestDecodeECPoint(t *testing.T) {
	uncompressed := "04" + strings.Repeat("11", 64)
	for _, tc := range []struct {
		name, scheme, der string
		ok                bool
	}{
		{"secp256k1", bench.SchemeSecp256k1, "0441" + uncompressed, true},
		{"p256", bench.SchemeP256, "0441" + uncompressed, true},
		{"ed25519", bench.SchemeEd25519, "0420" + strings.Repeat("22", 32), true},
		{"raw point, not DER", bench.SchemeP256, uncompressed, false},
		{"trailing byte", bench.SchemeP256, "0441" + uncompressed + "00", false},
		{"compressed point", bench.SchemeP256, "0421" + "02" + strings.Repeat("11", 32), false},
		{"ed25519 too short", bench.SchemeEd25519, "041f" + strings.Repeat("22", 31), false},
		{"unknown scheme", bench.SchemeBLS, "0420" + strings.Repeat("22", 32), false},
		{"not an octet string", bench.SchemeEd25519, "0220" + strings.Repeat("22", 32), false},
	} {
		der, _ := hex.DecodeString(tc.der)
		_, err := DecodeECPoint(tc.scheme, der)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && tc.scheme != bench.SchemeBLS && !errors.Is(err, bench.ErrInvalid) {
			t.Errorf("%s: %v does not wrap bench.ErrInvalid", tc.name, err)
		}
	}
}

func FuzzDecodeECPoint(f *testing.F) {
	f.Add(uint8(0), []byte{0x04, 0x20, 1, 2, 3})
	f.Add(uint8(2), append([]byte{0x04, 0x20}, make([]byte, 32)...))
	f.Fuzz(func(t *testing.T, which uint8, der []byte) {
		scheme := Schemes[int(which)%len(Schemes)]
		p, err := DecodeECPoint(scheme, der)
		if err == nil && len(p) != 32 && len(p) != 65 {
			t.Fatalf("accepted a %d-byte point", len(p))
		}
	})
}
