package nitro_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
)

func TestAttesterKind(t *testing.T) {
	if got := (&nitro.Attester{}).Kind(); got != attestation.KindNitro {
		t.Fatalf("Kind = %q", got)
	}
}

// Outside a Nitro Enclave there is no /dev/nsm: Attest must say so promptly, not hang or panic.
func TestAttestWithoutNSM(t *testing.T) {
	if _, err := os.Stat("/dev/nsm"); err == nil {
		t.Skip("/dev/nsm exists: running inside a Nitro Enclave")
	}
	done := make(chan error, 1)
	go func() {
		_, err := (&nitro.Attester{}).Attest(context.Background(), []byte("key"), []byte("data"), []byte("nonce"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, nitro.ErrNoNSM) {
			t.Fatalf("Attest: %v, want ErrNoNSM", err)
		}
		if !strings.Contains(err.Error(), "no Nitro Security Module: not running in a Nitro Enclave") {
			t.Fatalf("Attest error %q does not say why", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Attest hung without /dev/nsm")
	}
}

func TestAttestRefusesBeforeOpeningTheDevice(t *testing.T) {
	big := make([]byte, 1025)
	cases := []struct {
		name             string
		key, data, nonce []byte
		msg              string
	}{
		{"public key too long", big, nil, nil, "public_key is 1025 bytes, more than the 1024"},
		{"user data too long", nil, big, nil, "user_data is 1025 bytes"},
		{"nonce too long", nil, nil, big, "nonce is 1025 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&nitro.Attester{}).Attest(context.Background(), tc.key, tc.data, tc.nonce)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || errors.Is(err, nitro.ErrNoNSM) {
				t.Fatalf("Attest: %v, want %q", err, tc.msg)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&nitro.Attester{}).Attest(ctx, nil, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Attest with a canceled context: %v", err)
	}
}
