package chainbase

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// testChain is a chain whose Address and Sign only run Check.
type testChain struct{ Info }

func (c testChain) Address(scheme protocol.Scheme, _ []byte, network string) (string, error) {
	return Check(c, scheme, network)
}

func (c testChain) Sign(_ context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	_, err := Check(c, s.Scheme(), req.Network)
	return nil, err
}

func TestInfo(t *testing.T) {
	schemes := []protocol.Scheme{protocol.SchemeEd25519}
	networks := []string{"main", "test"}
	c := testChain{New("test", schemes, networks...)}
	schemes[0], networks[0] = protocol.SchemeBIP340, "changed" // New keeps its own copies
	if c.Name() != "test" || !slices.Equal(c.Schemes(), []protocol.Scheme{protocol.SchemeEd25519}) || !slices.Equal(c.Networks(), []string{"main", "test"}) {
		t.Fatalf("Name %q, Schemes %v, Networks %v", c.Name(), c.Schemes(), c.Networks())
	}
	c.Networks()[0], c.Schemes()[0] = "changed", protocol.SchemeBIP340 // and hands out copies
	if c.Networks()[0] != "main" || c.Schemes()[0] != protocol.SchemeEd25519 {
		t.Fatal("a caller changed the chain's networks or schemes")
	}
	if _, err := chains.NewRegistry(c); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	c := testChain{New("test", []protocol.Scheme{protocol.SchemeEd25519}, "main", "test")}
	for _, in := range []struct{ network, want string }{{"", "main"}, {"main", "main"}, {"test", "test"}} {
		if got, err := Check(c, protocol.SchemeEd25519, in.network); err != nil || got != in.want {
			t.Errorf("network %q: Check = %q, %v; want %q", in.network, got, err, in.want)
		}
	}
	for _, in := range []struct {
		name    string
		scheme  protocol.Scheme
		network string
		want    string
	}{
		{"other scheme", protocol.SchemeECDSASecp256k1, "main", "chain test does not use"},
		{"other scheme and unknown network", protocol.SchemeECDSASecp256k1, "beta", "chain test does not use"},
		{"unknown network", protocol.SchemeEd25519, "beta", `chain test has no network "beta": it has [main test]`},
	} {
		_, err := Check(c, in.scheme, in.network)
		if !errors.Is(err, chains.ErrInvalid) || !strings.Contains(err.Error(), in.want) {
			t.Errorf("%s: err = %v, want ErrInvalid containing %q", in.name, err, in.want)
		}
	}
}
