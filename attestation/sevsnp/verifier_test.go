package sevsnp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-sev-guest/abi"
	test "github.com/google/go-sev-guest/testing"
	"github.com/google/go-sev-guest/verify/trust"

	"github.com/mpcsigner/mpcsigner/attestation"
)

func TestVerifyGenuine(t *testing.T) {
	for _, version := range []uint32{2, 3} {
		t.Run(fmt.Sprintf("report v%d", version), func(t *testing.T) {
			qp := newFake(t)
			qp.version = version
			doc := genuineDoc(t, qp)
			v := newTestVerifier(t, testPolicy())
			got, err := v.Verify(doc, testNow.Add(time.Second))
			if err != nil {
				t.Fatalf("Verify(genuine) = %v", err)
			}
			ts := time.UnixMilli(testNow.UnixMilli())
			want := &attestation.Document{
				Kind:         attestation.KindSEVSNP,
				ModuleID:     hex.EncodeToString(testReportID),
				Timestamp:    ts,
				Measurements: map[int][]byte{0: testMeasurement},
				PublicKey:    testKey,
				UserData:     testUserData,
				Nonce:        testNonce,
				NotAfter:     ts.Add(defaultMaxAge),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Verify(genuine) document (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyEmptyFields(t *testing.T) {
	doc, err := attester(newFake(t), testNow).Attest(t.Context(), nil, nil, nil)
	if err != nil {
		t.Fatalf("Attest(empty fields): %v", err)
	}
	got, err := newTestVerifier(t, testPolicy()).Verify(doc, testNow)
	if err != nil {
		t.Fatalf("Verify(empty fields) = %v", err)
	}
	if len(got.PublicKey)+len(got.UserData)+len(got.Nonce) != 0 {
		t.Errorf("Verify(empty fields) returned fields %x %x %x, want all empty", got.PublicKey, got.UserData, got.Nonce)
	}
}

// TestVerifyTamperedReport flips one byte of a signed report: wherever it lands, the document
// must be refused, as a signature failure where the report still parses.
func TestVerifyTamperedReport(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	v := newTestVerifier(t, testPolicy())
	cases := []struct {
		name   string
		offset int
		want   error
	}{
		{"guest svn", 0x04, attestation.ErrSignature},
		{"report data", offReportData + 3, attestation.ErrSignature},
		{"measurement", offMeasurement + 7, attestation.ErrSignature},
		{"host data", 0xC0, attestation.ErrSignature},
		{"report id", offReportID, attestation.ErrSignature},
		{"chip id", 0x1A0, attestation.ErrSignature},
		{"signature r", offSignature + 1, attestation.ErrSignature},
		{"signature s", offSignature + 0x48 + 1, attestation.ErrSignature},
		{"reserved, must be zero", 0x1F0 + 0x18, attestation.ErrMalformed},
		{"policy reserved bit", offPolicy + 2, attestation.ErrMalformed},
		{"version", 0x00, attestation.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decodeForTest(t, doc)
			d.Report[tc.offset] ^= 0x02
			_, err := v.Verify(encodeForTest(t, d), testNow)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify(report byte %#x flipped) = %v, want %v", tc.offset, err, tc.want)
			}
		})
	}
}

func TestVerifyMeasurement(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	v := newTestVerifier(t, attestation.Policy{Measurements: map[int][]byte{0: otherMeasurement}})
	_, err := v.Verify(doc, testNow)
	if !errors.Is(err, attestation.ErrMeasurement) {
		t.Fatalf("Verify(other measurement) = %v, want ErrMeasurement", err)
	}
}

func TestVerifyDebugPolicy(t *testing.T) {
	qp := newFake(t)
	qp.policy = debugPolicy
	_, err := newTestVerifier(t, testPolicy()).Verify(genuineDoc(t, qp), testNow)
	if !errors.Is(err, attestation.ErrMeasurement) || !strings.Contains(err.Error(), "debug") {
		t.Fatalf("Verify(debug guest) = %v, want ErrMeasurement naming debugging", err)
	}
}

// TestVerifyDebugPolicyLibraryDevice goes through go-sev-guest's own fake quote provider, whose
// reports have the DEBUG bit set, so the Attester and Verifier are also checked against the
// library's notion of a raw quote (report, then an extended certificate table).
func TestVerifyDebugPolicyLibraryDevice(t *testing.T) {
	s := signer(t)
	rd := ReportData(testKey, testUserData, testNonce, uint64(testNow.UnixMilli()))
	qp, err := test.TcQuoteProvider([]test.TestCase{{
		Name:   "ours",
		Input:  rd,
		Output: test.CreateRawReport(&test.TestReportOptions{ReportData: rd[:]}),
	}}, &test.DeviceOptions{Signer: s, Now: testNow, Product: abi.DefaultSevProduct()})
	if err != nil {
		t.Fatalf("TcQuoteProvider: %v", err)
	}
	a := &Attester{QuoteProvider: qp, Now: func() time.Time { return testNow }}
	doc, err := a.Attest(t.Context(), testKey, testUserData, testNonce)
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	// The library's reports have a zero measurement: pin it, so only the debug bit refuses.
	v := newTestVerifier(t, attestation.Policy{Measurements: map[int][]byte{0: make([]byte, abi.MeasurementSize)}})
	_, err = v.Verify(doc, testNow)
	if !errors.Is(err, attestation.ErrMeasurement) || !strings.Contains(err.Error(), "debug") {
		t.Fatalf("Verify(library device report) = %v, want ErrMeasurement naming debugging", err)
	}
}

func TestVerifyBinding(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	v := newTestVerifier(t, testPolicy())
	cases := []struct {
		name   string
		mutate func(*document)
	}{
		{"other public key", func(d *document) { d.PublicKey = bytes.Repeat([]byte{0x02}, 32) }},
		{"other user data", func(d *document) { d.UserData = []byte("other") }},
		{"other nonce", func(d *document) { d.Nonce = []byte("nonce-0002") }},
		{"other timestamp", func(d *document) { d.Timestamp++ }},
		{"field moved to the next", func(d *document) { d.PublicKey, d.UserData = append(d.PublicKey, d.UserData...), nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decodeForTest(t, doc)
			tc.mutate(d)
			_, err := v.Verify(encodeForTest(t, d), testNow)
			if !errors.Is(err, attestation.ErrBinding) {
				t.Fatalf("Verify(%s) = %v, want ErrBinding", tc.name, err)
			}
		})
	}
}

func TestVerifyFreshness(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	v := newTestVerifier(t, attestation.Policy{
		Measurements: map[int][]byte{0: testMeasurement},
		MaxAge:       5 * time.Minute,
		ClockSkew:    30 * time.Second,
	})
	cases := []struct {
		name string
		now  time.Time
		want error
	}{
		{"just made", testNow, nil},
		{"at max age", testNow.Add(5 * time.Minute), nil},
		{"older than max age", testNow.Add(5*time.Minute + time.Millisecond), attestation.ErrStale},
		{"within clock skew", testNow.Add(-30 * time.Second), nil},
		{"from the future", testNow.Add(-31 * time.Second), attestation.ErrStale},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(doc, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify at %s = %v, want %v", tc.now, err, tc.want)
			}
			if err == nil && !got.NotAfter.Equal(testNow.Add(5*time.Minute)) {
				t.Errorf("NotAfter = %s, want timestamp + max age %s", got.NotAfter, testNow.Add(5*time.Minute))
			}
		})
	}
}

func TestVerifyChain(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	s := signer(t)
	cases := []struct {
		name string
		opts []Option
	}{
		// go-sev-guest's fake chain is not AMD's.
		{"AMD roots", nil},
		// An ARK without the ASK between it and the VCEK.
		{"root without ASK", []Option{WithTrustedRoots(map[string][]*trust.AMDRootCerts{"Milan": {{
			ProductLine:  "Milan",
			ProductCerts: &trust.ProductCerts{Ark: s.Ark, Ask: s.Ark},
		}}})}},
		{"roots for another product line", []Option{WithTrustedRoots(map[string][]*trust.AMDRootCerts{"Genoa": fakeRoots(s)["Milan"]})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(testPolicy(), tc.opts...)
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			_, err = v.Verify(doc, testNow)
			if !errors.Is(err, attestation.ErrChain) {
				t.Fatalf("Verify = %v, want ErrChain", err)
			}
		})
	}
}

func TestVerifyExpiredChain(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	v := newTestVerifier(t, testPolicy(), WithTrustedRoots(fakeRoots(signer(t))))
	// The fake ARK was made a month before testNow: before that, no certificate was valid.
	_, err := v.Verify(doc, testNow.Add(-60*24*time.Hour))
	if !errors.Is(err, attestation.ErrChain) && !errors.Is(err, attestation.ErrStale) {
		t.Fatalf("Verify before the chain existed = %v, want ErrChain (or ErrStale)", err)
	}
	if !errors.Is(err, attestation.ErrChain) {
		t.Fatalf("Verify before the chain existed = %v: the chain must be refused before freshness is looked at", err)
	}
}

func TestVerifyMissingVCEK(t *testing.T) {
	qp := newFake(t)
	qp.noCerts = true
	doc := genuineDoc(t, qp)

	v := newTestVerifier(t, testPolicy())
	_, err := v.Verify(doc, testNow)
	if !errors.Is(err, attestation.ErrChain) || !strings.Contains(err.Error(), "fetching") {
		t.Fatalf("Verify(no VCEK, fetching off) = %v, want ErrChain naming fetching", err)
	}

	// With fetching on, through go-sev-guest's fake Key Distribution Service (no network).
	kds, err := test.FakeKDSFromSigner(signer(t))
	if err != nil {
		t.Fatalf("FakeKDSFromSigner: %v", err)
	}
	v = newTestVerifier(t, testPolicy(), WithCertFetching(kds))
	if _, err := v.Verify(doc, testNow); err != nil {
		t.Fatalf("Verify(no VCEK, fetched from the fake KDS) = %v", err)
	}
}

func TestVerifyOtherVCEK(t *testing.T) {
	// A document whose table holds a certificate that is not a VCEK at all (the ASK), as the
	// VCEK: the report's signature cannot verify under it.
	s := signer(t)
	d := decodeForTest(t, genuineDoc(t, newFake(t)))
	other := *s
	other.Vcek = s.Ask
	certs, err := other.CertTableBytes()
	if err != nil {
		t.Fatalf("CertTableBytes: %v", err)
	}
	d.Certs = certs
	_, err = newTestVerifier(t, testPolicy()).Verify(encodeForTest(t, d), testNow)
	if !errors.Is(err, attestation.ErrSignature) && !errors.Is(err, attestation.ErrChain) {
		t.Fatalf("Verify(ASK in place of the VCEK) = %v, want ErrSignature or ErrChain", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	d := decodeForTest(t, doc)
	v := newTestVerifier(t, testPolicy())

	mapOf := func(m map[string]any) []byte {
		b, err := cbor.Marshal(m)
		if err != nil {
			t.Fatalf("cbor.Marshal: %v", err)
		}
		return b
	}
	fields := func() map[string]any {
		return map[string]any{
			keyReport: d.Report, keyCerts: d.Certs, keyPublicKey: d.PublicKey,
			keyUserData: d.UserData, keyNonce: d.Nonce, keyTimestamp: d.Timestamp,
		}
	}
	with := func(k string, val any) []byte {
		m := fields()
		m[k] = val
		return mapOf(m)
	}
	without := func(k string) []byte {
		m := fields()
		delete(m, k)
		return mapOf(m)
	}
	oversized := append(bytes.Clone(doc), make([]byte, attestation.MaxDocumentSize)...)

	cases := map[string][]byte{
		"empty":                         nil,
		"garbage":                       []byte("not an attestation document"),
		"CBOR array":                    mapOfArray(t),
		"CBOR null":                     {0xf6},
		"trailing bytes":                append(bytes.Clone(doc), 0x00),
		"oversized":                     oversized,
		"missing report":                without(keyReport),
		"missing timestamp":             without(keyTimestamp),
		"missing certs":                 without(keyCerts),
		"unknown field":                 with("extra", []byte{1}),
		"report as text":                with(keyReport, string(d.Report)),
		"report too short":              with(keyReport, d.Report[:abi.ReportSize-1]),
		"report too long":               with(keyReport, append(bytes.Clone(d.Report), 0)),
		"public key too long":           with(keyPublicKey, make([]byte, maxField+1)),
		"nonce as integer":              with(keyNonce, 7),
		"timestamp negative":            with(keyTimestamp, -1),
		"timestamp as bytes":            with(keyTimestamp, []byte{1}),
		"timestamp beyond int64":        with(keyTimestamp, uint64(1<<63)),
		"timestamp as float":            with(keyTimestamp, 1.5),
		"duplicate key":                 duplicateKey(t, doc),
		"indefinite-length map":         indefiniteMap(doc),
		"tagged":                        append([]byte{0xd8, 0x18}, doc...),
		"cert table without terminator": with(keyCerts, bytes.Repeat([]byte{0x11}, abi.CertTableEntrySize)),
		"cert table entry past the end": with(keyCerts, certTable(t, 0xffff_fff0, 0x20)),
		"cert table entry in header":    with(keyCerts, certTable(t, 0, 4)),
		"cert table too short":          with(keyCerts, []byte{1, 2, 3}),
	}
	for cut := 1; cut < len(doc); cut += len(doc) / 17 {
		cases["truncated at "+strconv.Itoa(cut)] = doc[:cut]
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := v.Verify(raw, testNow)
			if !errors.Is(err, attestation.ErrMalformed) {
				t.Fatalf("Verify(%s) = %v, %v; want ErrMalformed", name, got, err)
			}
		})
	}
}

// certTable is a one-entry VCEK table whose entry claims offset and length.
func certTable(t *testing.T, offset, length uint32) []byte {
	t.Helper()
	table := make([]byte, 3*abi.CertTableEntrySize)
	guid, _ := hex.DecodeString(strings.ReplaceAll(abi.VcekGUID, "-", ""))
	copy(table, guid)
	binary.LittleEndian.PutUint32(table[abi.GUIDSize:], offset)
	binary.LittleEndian.PutUint32(table[abi.GUIDSize+4:], length)
	return table
}

// mapOfArray is a CBOR array of the document's six values: right content, wrong shape.
func mapOfArray(t *testing.T) []byte {
	b, err := cbor.Marshal([]any{[]byte{1}, []byte{}, []byte{}, []byte{}, []byte{}, 1})
	if err != nil {
		t.Fatalf("cbor.Marshal: %v", err)
	}
	return b
}

// duplicateKey re-encodes doc with its "nonce" entry twice (the map header counts seven).
func duplicateKey(t *testing.T, doc []byte) []byte {
	t.Helper()
	if doc[0] != 0xa6 {
		t.Fatalf("document does not start with a 6-entry map header: %#x", doc[0])
	}
	extra, err := cbor.Marshal(keyNonce)
	if err != nil {
		t.Fatal(err)
	}
	val, _ := cbor.Marshal([]byte("x"))
	out := append([]byte{0xa7}, doc[1:]...)
	return append(append(out, extra...), val...)
}

// indefiniteMap re-encodes doc's map header as indefinite-length.
func indefiniteMap(doc []byte) []byte {
	out := append([]byte{0xbf}, doc[1:]...)
	return append(out, 0xff)
}

func TestNewVerifierPolicy(t *testing.T) {
	cases := map[string]attestation.Policy{
		"no measurement":        {},
		"only another register": {Measurements: map[int][]byte{1: testMeasurement}},
		"extra register":        {Measurements: map[int][]byte{0: testMeasurement, 1: testMeasurement}},
		"short measurement":     {Measurements: map[int][]byte{0: testMeasurement[:32]}},
		"negative max age":      {Measurements: map[int][]byte{0: testMeasurement}, MaxAge: -time.Second},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewVerifier(p); err == nil {
				t.Fatalf("NewVerifier(%s) succeeded", name)
			}
		})
	}
	v, err := NewVerifier(testPolicy())
	if err != nil {
		t.Fatalf("NewVerifier(good policy) = %v", err)
	}
	if v.Kind() != attestation.KindSEVSNP {
		t.Errorf("Kind() = %q, want %q", v.Kind(), attestation.KindSEVSNP)
	}
}

func TestAMDRoots(t *testing.T) {
	roots, err := amdRoots()
	if err != nil {
		t.Fatalf("amdRoots: %v", err)
	}
	for _, line := range []string{"Milan", "Genoa", "Turin"} {
		rs := roots[line]
		if len(rs) == 0 {
			t.Fatalf("no AMD roots for %s", line)
		}
		var ask, asvk bool
		for _, r := range rs {
			ask = ask || r.ProductCerts.Ask != nil
			asvk = asvk || r.ProductCerts.Asvk != nil
			if r.ProductCerts.Ark == nil {
				t.Errorf("%s root without an ARK", line)
			}
		}
		if !ask || !asvk {
			t.Errorf("%s roots: ASK %v, ASVK %v; want both, for VCEK- and VLEK-signed reports", line, ask, asvk)
		}
	}
}
