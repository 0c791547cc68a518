package nitro_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

// Values every fixture document attests.
var (
	attestedKey   = []byte("attested public key: 04ab...")
	attestedData  = []byte("attested user data")
	attestedNonce = []byte("attested nonce 0123456789abcdef")
)

// fixture is a sim CA, an attester with fixed measurements and clock, and a verifier pinning
// the CA's root and PCR0..2.
type fixture struct {
	ca       *sim.CA
	attester *sim.Attester
	verifier *nitro.Verifier
	policy   attestation.Policy
	pcrs     map[int][]byte
	now      time.Time
}

func pcr8() []byte {
	sum := sha512.Sum384([]byte("eif signing certificate"))
	return sum[:]
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	// Documents carry milliseconds; a whole-millisecond clock keeps comparisons exact.
	now := time.Now().UTC().Truncate(time.Millisecond)
	pcrs := sim.MeasurementOf([]byte("mpcsigner test enclave binary"))
	pcrs[8] = pcr8()
	policy := attestation.Policy{Measurements: map[int][]byte{0: pcrs[0], 1: pcrs[1], 2: pcrs[2]}}
	verifier, err := nitro.NewVerifier([]*x509.Certificate{ca.Root()}, policy)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return &fixture{
		ca:       ca,
		attester: &sim.Attester{CA: ca, PCRs: pcrs, ModuleID: "i-0123456789abcdef0-enc0123456789abcdef", Now: func() time.Time { return now }},
		verifier: verifier,
		policy:   policy,
		pcrs:     pcrs,
		now:      now,
	}
}

// doc returns a document from the fixture's attester with t applied.
func (f *fixture) doc(t testing.TB, tamper sim.Tamper) []byte {
	t.Helper()
	doc, err := f.attester.AttestWith(context.Background(), attestedKey, attestedData, attestedNonce, tamper)
	if err != nil {
		t.Fatalf("AttestWith: %v", err)
	}
	return doc
}

func (f *fixture) genuine(t testing.TB) []byte { return f.doc(t, sim.Tamper{}) }

// verifierWith returns a verifier pinning roots with policy, failing the test on error.
func verifierWith(t testing.TB, roots []*x509.Certificate, policy attestation.Policy) *nitro.Verifier {
	t.Helper()
	v, err := nitro.NewVerifier(roots, policy)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// checkRejected requires err to wrap want and to mention msg.
func checkRejected(t testing.TB, err, want error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want an error wrapping %q", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q does not wrap %q", err, want)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not say %q", err, msg)
	}
}

// entry is one key and raw CBOR value of a payload map, for rebuilding payloads by hand.
type entry struct {
	key   string
	value []byte
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatalf("cbor.Marshal(%v): %v", v, err)
	}
	return b
}

// entriesOf splits a definite-length payload map into its entries, sorted by key.
func entriesOf(t testing.TB, payload []byte) []entry {
	t.Helper()
	var m map[string]cbor.RawMessage
	if err := cbor.Unmarshal(payload, &m); err != nil {
		t.Fatalf("split payload: %v", err)
	}
	var entries []entry
	for _, k := range slices.Sorted(maps.Keys(m)) {
		entries = append(entries, entry{key: k, value: m[k]})
	}
	return entries
}

// buildMap encodes entries in order as a definite or indefinite-length map, keeping
// duplicates, which no ordinary encoder would.
func buildMap(t testing.TB, entries []entry, indefinite bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch {
	case indefinite:
		buf.WriteByte(0xbf)
	case len(entries) < 24:
		buf.WriteByte(0xa0 | byte(len(entries)))
	default:
		t.Fatalf("buildMap: %d entries", len(entries))
	}
	for _, e := range entries {
		buf.Write(mustCBOR(t, e.key))
		buf.Write(e.value)
	}
	if indefinite {
		buf.WriteByte(0xff)
	}
	return buf.Bytes()
}

// editEntries returns a Tamper.EditPayload that rewrites the payload's entries with edit.
func editEntries(t testing.TB, edit func([]entry) []entry) func([]byte) []byte {
	return func(payload []byte) []byte {
		return buildMap(t, edit(entriesOf(t, payload)), false)
	}
}

func replaceEntry(t testing.TB, key string, value []byte) func([]byte) []byte {
	return editEntries(t, func(entries []entry) []entry {
		for i := range entries {
			if entries[i].key == key {
				entries[i].value = value
			}
		}
		return entries
	})
}

func removeEntry(t testing.TB, key string) func([]byte) []byte {
	return editEntries(t, func(entries []entry) []entry {
		return slices.DeleteFunc(entries, func(e entry) bool { return e.key == key })
	})
}

func addEntry(t testing.TB, key string, value []byte) func([]byte) []byte {
	return editEntries(t, func(entries []entry) []entry {
		return append(entries, entry{key: key, value: value})
	})
}

func duplicateEntry(t testing.TB, key string, indefinite bool) func([]byte) []byte {
	return func(payload []byte) []byte {
		entries := entriesOf(t, payload)
		for _, e := range entries {
			if e.key == key {
				entries = append(entries, e)
				break
			}
		}
		return buildMap(t, entries, indefinite)
	}
}

// asIndefinite re-encodes the payload as an indefinite-length map, as the NSM does.
func asIndefinite(t testing.TB) func([]byte) []byte {
	return func(payload []byte) []byte { return buildMap(t, entriesOf(t, payload), true) }
}
