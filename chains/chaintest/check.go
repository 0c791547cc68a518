package chaintest

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// WantInvalid fails t unless err wraps chains.ErrInvalid and its message contains every
// fragment.
func WantInvalid(t testing.TB, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want an error containing %q", fragments)
	}
	if !errors.Is(err, chains.ErrInvalid) {
		t.Fatalf("error %q does not wrap chains.ErrInvalid", err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q does not contain %q", err, f)
		}
	}
}

// MustHex decodes the hex of a test vector, failing t if it is not hex.
func MustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// SignRefused has c sign req with s and fails t unless c refuses it with an error wrapping
// chains.ErrInvalid that contains every fragment, without asking s for a signature: a refused
// transaction must be refused before anything is signed.
func SignRefused(t testing.TB, c chains.Chain, s *Signer, req chains.SignRequest, fragments ...string) {
	t.Helper()
	before := s.Calls
	_, err := c.Sign(context.Background(), s, req)
	WantInvalid(t, err, fragments...)
	if s.Calls != before {
		t.Fatal("the signer was asked to sign a refused transaction")
	}
}

// SignTampered has c sign req with s while s flips a bit of its signatures, and fails t unless
// c returns no transaction and an error wrapping chains.ErrSignature (a misbehaving signer),
// not chains.ErrInvalid (bad input). req must be a transaction c signs for s.
func SignTampered(t testing.TB, c chains.Chain, s *Signer, req chains.SignRequest) {
	t.Helper()
	defer func(was bool) { s.Tamper = was }(s.Tamper)
	s.Tamper = true
	signed, err := c.Sign(context.Background(), s, req)
	if err == nil {
		t.Fatalf("returned %+v for a tampered signature", signed)
	}
	if !errors.Is(err, chains.ErrSignature) || errors.Is(err, chains.ErrInvalid) {
		t.Fatalf("a bad signature from the signer must be chains.ErrSignature, not an input error: %v", err)
	}
}

// AddressRefusals fails t unless c's Address refuses, with chains.ErrInvalid, pub one byte
// short, pub given as a key of a scheme c does not take, and pub on unknownNetwork, where pub
// is a valid public key of c's preferred scheme.
func AddressRefusals(t testing.TB, c chains.Chain, pub []byte, unknownNetwork string) {
	t.Helper()
	scheme := c.Schemes()[0]
	for _, refused := range []struct {
		name    string
		scheme  protocol.Scheme
		pub     []byte
		network string
	}{
		{"short key", scheme, pub[:len(pub)-1], ""},
		{"key of another scheme", otherScheme(t, c), pub, ""},
		{"unknown network", scheme, pub, unknownNetwork},
	} {
		if _, err := c.Address(refused.scheme, refused.pub, refused.network); !errors.Is(err, chains.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", refused.name, err)
		}
	}
}

// otherScheme is a scheme c does not take.
func otherScheme(t testing.TB, c chains.Chain) protocol.Scheme {
	t.Helper()
	for _, s := range []protocol.Scheme{protocol.SchemeEd25519, protocol.SchemeECDSASecp256k1, protocol.SchemeBIP340} {
		if !slices.Contains(c.Schemes(), s) {
			return s
		}
	}
	t.Fatalf("chain %s takes every scheme", c.Name())
	return ""
}
