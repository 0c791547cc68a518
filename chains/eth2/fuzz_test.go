package eth2

import (
	"bytes"
	"testing"
)

// FuzzParseRequest checks that ParseRequest never panics, and that whatever it accepts has a
// canonical form that parses again to the same request: the same root (or the same refusal),
// the same slashing facts and the same canonical bytes. Seeds: every golden body, verbatim and
// edited, and the malformed base body.
func FuzzParseRequest(f *testing.F) {
	for _, body := range goldenBodies(f) {
		f.Add(body)
	}
	for _, name := range []string{"openapi/block_deprecated.json", "openapi/block_v2_altair.json", "openapi/sync_committee_contribution_and_proof.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(attestationBody))
	f.Add([]byte(`{"type":"BLOCK_V2","fork_info":` + forkInfoJSON(1) + `,"beacon_block":{"version":"FULU","block_header":{}}}`))
	net := mainnet(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err != nil {
			return
		}
		root := rootResult(req, net)
		canon := req.Canonical()
		again, err := ParseRequest(canon)
		if err != nil {
			t.Fatalf("Canonical form refused: %v\nbody: %s\ncanonical: %s", err, body, canon)
		}
		if got := rootResult(again, net); got != root {
			t.Fatalf("root changed through Canonical: %s, then %s\nbody: %s", root, got, body)
		}
		if req.Slashable() != again.Slashable() {
			t.Fatalf("Slashable changed through Canonical: %+v, then %+v", req.Slashable(), again.Slashable())
		}
		if !bytes.Equal(canon, again.Canonical()) {
			t.Fatalf("Canonical not stable:\n%s\n%s", canon, again.Canonical())
		}
	})
}

// BenchmarkParseAndRoot measures the work each party does per request: parse, hash, re-encode.
func BenchmarkParseAndRoot(b *testing.B) {
	net := mainnet(b)
	for _, name := range []string{"openapi/attestation.json", "openapi/block_v2_phase_0.json"} {
		body := readTestdata(b, name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				req, err := ParseRequest(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := req.SigningRoot(net); err != nil {
					b.Fatal(err)
				}
				_ = req.Canonical()
			}
		})
	}
}
