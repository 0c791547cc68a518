package sevsnp

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	test "github.com/google/go-sev-guest/testing"
	"github.com/google/go-sev-guest/verify/trust"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// Report field offsets in the SEV-SNP ABI's ATTESTATION_REPORT, for building and tampering.
const (
	offPolicy      = 0x08
	offReportData  = 0x50
	offMeasurement = 0x90
	offReportID    = 0x140
	offSignature   = 0x2A0
)

// milanFMS is CPUID_1_EAX of a Milan B1 part, which version 3 reports carry.
const milanFMS = 0x00a00f11

var (
	testMeasurement  = bytes.Repeat([]byte{0x5a}, abi.MeasurementSize)
	otherMeasurement = bytes.Repeat([]byte{0xa5}, abi.MeasurementSize)
	testReportID     = bytes.Repeat([]byte{0x17}, abi.ReportIDSize)
	// testNow is the fixed clock of these tests.
	testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// goodPolicy is a guest policy with debugging off: ABI 1.55, SMT allowed.
var goodPolicy = abi.SnpPolicyToBytes(abi.SnpPolicy{ABIMajor: 1, ABIMinor: 55, SMT: true})

// debugPolicy is goodPolicy with the DEBUG bit set.
var debugPolicy = abi.SnpPolicyToBytes(abi.SnpPolicy{ABIMajor: 1, ABIMinor: 55, SMT: true, Debug: true})

// fakeSigner is go-sev-guest's test-only ARK → ASK → VCEK chain, built once: certifying takes
// RSA-4096 signatures.
var fakeSigner = sync.OnceValues(func() (*test.AmdSigner, error) {
	s, err := test.DefaultTestOnlyCertChain("Milan-B1", testNow.Add(-30*24*time.Hour))
	if err != nil {
		return nil, err
	}
	s.Product = abi.DefaultSevProduct()
	return s, nil
})

// signer returns the fake AMD signer or stops the test.
func signer(t testing.TB) *test.AmdSigner {
	t.Helper()
	s, err := fakeSigner()
	if err != nil {
		t.Fatalf("fake AMD certificate chain: %v", err)
	}
	return s
}

// fakeRoots trusts the fake signer's ARK and ASK for Milan.
func fakeRoots(s *test.AmdSigner) map[string][]*trust.AMDRootCerts {
	return map[string][]*trust.AMDRootCerts{"Milan": {{
		ProductLine:  "Milan",
		ProductCerts: &trust.ProductCerts{Ark: s.Ark, Ask: s.Ask, Asvk: s.Asvk},
	}}}
}

// fakeSNP is an AMD secure processor that signs whatever REPORT_DATA it is asked for with the
// fake VCEK, as go-sev-guest's testing package does for a fixed table of inputs.
type fakeSNP struct {
	signer      *test.AmdSigner
	measurement []byte
	policy      uint64
	version     uint32
	// noCerts leaves the certificate table out, as a guest without an extended report would.
	noCerts bool
	// wrongData answers with a report for other REPORT_DATA than asked.
	wrongData bool
	// edit changes the report (TCB, VMPL, ID block, ...) before it is signed.
	edit func(*spb.Report)
}

func (f *fakeSNP) IsSupported() bool        { return true }
func (f *fakeSNP) Product() *spb.SevProduct { return abi.DefaultSevProduct() }
func (f *fakeSNP) GetRawQuote(rd [64]byte) ([]uint8, error) {
	if f.wrongData {
		rd[0] ^= 1
	}
	version := f.version
	if version == 0 {
		version = 3
	}
	raw := test.CreateRawReport(&test.TestReportOptions{ReportData: rd[:], Version: version, FMS: milanFMS})
	// Build the report as a structure and serialise it with go-sev-guest's abi package, as
	// the secure processor would lay it out.
	r, err := abi.ReportToProto(raw[:abi.ReportSize])
	if err != nil {
		return nil, err
	}
	r.Policy = f.policy
	r.Measurement = bytes.Clone(f.measurement)
	r.ReportId = bytes.Clone(testReportID)
	if f.edit != nil {
		f.edit(r)
	}
	report, err := abi.ReportToAbiBytes(r)
	if err != nil {
		return nil, err
	}
	if err := signReport(f.signer, report); err != nil {
		return nil, err
	}
	if f.noCerts {
		return report, nil
	}
	certs, err := f.signer.CertTableBytes()
	if err != nil {
		return nil, err
	}
	return append(report, certs...), nil
}

// signReport (re)signs report with the fake VCEK.
func signReport(s *test.AmdSigner, report []byte) error {
	r, sig, err := s.Sign(abi.SignedComponent(report))
	if err != nil {
		return err
	}
	return abi.SetSignature(r, sig, report)
}

// newFake returns a fake secure processor with the test measurement and a non-debug policy.
func newFake(t testing.TB) *fakeSNP {
	return &fakeSNP{signer: signer(t), measurement: testMeasurement, policy: goodPolicy}
}

// attester returns an Attester on qp whose clock reads at.
func attester(qp *fakeSNP, at time.Time) *Attester {
	return &Attester{QuoteProvider: qp, Now: func() time.Time { return at }}
}

// testPolicy pins the test measurement.
func testPolicy() attestation.Policy {
	return attestation.Policy{Measurements: map[int][]byte{0: testMeasurement}}
}

// newTestVerifier returns a verifier trusting the fake AMD roots.
func newTestVerifier(t testing.TB, policy attestation.Policy, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(policy, append([]Option{WithTrustedRoots(fakeRoots(signer(t)))}, opts...)...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// testKey, testUserData and testNonce are what the tests attest to.
var (
	testKey      = bytes.Repeat([]byte{0x01}, 32)
	testUserData = []byte("user data")
	testNonce    = []byte("nonce-0001")
)

// genuineDoc attests the test fields with qp at testNow.
func genuineDoc(t testing.TB, qp *fakeSNP) []byte {
	t.Helper()
	doc, err := attester(qp, testNow).Attest(context.Background(), testKey, testUserData, testNonce)
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	return doc
}

// decodeForTest decodes a document the tests made, or stops the test.
func decodeForTest(t testing.TB, doc []byte) *document {
	t.Helper()
	d, err := decodeDocument(doc)
	if err != nil {
		t.Fatalf("decodeDocument: %v", err)
	}
	return d
}

// encodeForTest encodes d, or stops the test.
func encodeForTest(t testing.TB, d *document) []byte {
	t.Helper()
	doc, err := encodeDocument(d)
	if err != nil {
		t.Fatalf("encodeDocument: %v", err)
	}
	return doc
}
