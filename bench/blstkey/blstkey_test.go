package blstkey

import (
	"bytes"
	"context"
	"testing"

	"github.com/mpcsigner/mpcsigner/bench"
)

// blst's signatures verify with bench.Verify, which uses gnark-crypto: two implementations
// agree, and a changed message does not verify.
func TestBLSTSignaturesVerifyWithGnark(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	w, err := bench.NewSingleKey(s).NewWorker(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sig, err := w.Sign(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(sig.PublicKey) != 48 || len(sig.Signature) != 96 {
			t.Fatalf("key %d bytes, signature %d bytes", len(sig.PublicKey), len(sig.Signature))
		}
		if err := bench.Verify(sig); err != nil {
			t.Fatalf("gnark refuses blst's signature: %v", err)
		}
		sig.Message = bytes.Clone(sig.Message)
		sig.Message[0] ^= 1
		if err := bench.Verify(sig); err == nil {
			t.Fatal("a signature verified over another message")
		}
	}
}
