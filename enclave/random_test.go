package enclave

import (
	"bytes"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

func TestRandomComesFromTheEnclave(t *testing.T) {
	c := newTestCluster(t)
	ask := func(party int, body any) ([]byte, error) {
		raw, err := c.call(party, wire.MethodRandom, body)
		if err != nil {
			return nil, err
		}
		var r wire.RandomReply
		if err := wire.DecodeJSON(raw, &r); err != nil {
			t.Fatalf("party %d's reply does not decode: %v", party, err)
		}
		return r.Random, nil
	}
	var seen [][]byte
	for _, n := range []int{1, 32, wire.MaxRandomBytes} {
		for p := 1; p <= 3; p++ {
			got, err := ask(p, wire.RandomArgs{Bytes: n})
			if err != nil {
				t.Fatalf("party %d, %d bytes: %v", p, n, err)
			}
			if len(got) != n {
				t.Fatalf("party %d gave %d bytes, want %d", p, len(got), n)
			}
			if n >= 32 {
				for _, s := range seen {
					if bytes.Equal(s[:32], got[:32]) {
						t.Fatalf("two answers share their first 32 bytes: %x", s[:32])
					}
				}
				seen = append(seen, got)
			}
		}
	}
	for name, body := range map[string]any{
		"zero":          wire.RandomArgs{Bytes: 0},
		"negative":      wire.RandomArgs{Bytes: -1},
		"over the cap":  wire.RandomArgs{Bytes: wire.MaxRandomBytes + 1},
		"unknown field": map[string]any{"bytes": 8, "seed": "00"},
		"no body":       nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ask(1, body)
			assertCode(t, err, wire.CodeBadRequest)
		})
	}
}
