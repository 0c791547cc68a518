package sevsnp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// TestAttesterNoDevice runs the zero Attester on this machine, which has no SEV-SNP device: it
// must fail with ErrNoDevice and say what to do. On an SEV-SNP guest the test is skipped rather
// than ask the real secure processor for a report.
func TestAttesterNoDevice(t *testing.T) {
	for _, p := range []string{"/dev/sev-guest", "/sys/kernel/config/tsm/report"} {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("%s exists: this is an SEV-SNP guest, and tests must not use its device", p)
		}
	}
	var a Attester
	if a.Kind() != attestation.KindSEVSNP {
		t.Errorf("Kind() = %q, want %q", a.Kind(), attestation.KindSEVSNP)
	}
	doc, err := a.Attest(t.Context(), testKey, nil, nil)
	if !errors.Is(err, ErrNoDevice) {
		t.Fatalf("Attest without a device = %x, %v; want ErrNoDevice", doc, err)
	}
	if !strings.Contains(err.Error(), attestation.KindSim) {
		t.Errorf("error %q does not point at the sim attester for development", err)
	}
}

func TestAttesterErrors(t *testing.T) {
	fake := newFake(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	long := make([]byte, maxField+1)
	cases := []struct {
		name                 string
		qp                   *fakeSNP
		ctx                  context.Context
		key, userData, nonce []byte
	}{
		{name: "cancelled", qp: fake, ctx: cancelled},
		{name: "public key too long", qp: fake, ctx: t.Context(), key: long},
		{name: "user data too long", qp: fake, ctx: t.Context(), userData: long},
		{name: "nonce too long", qp: fake, ctx: t.Context(), nonce: long},
		{name: "report for other data", qp: &fakeSNP{signer: fake.signer, measurement: testMeasurement, policy: goodPolicy, wrongData: true}, ctx: t.Context()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := attester(tc.qp, testNow).Attest(tc.ctx, tc.key, tc.userData, tc.nonce)
			if err == nil {
				t.Fatalf("Attest(%s) = %x, want an error", tc.name, doc)
			}
		})
	}
}

// shortQuote answers with fewer bytes than a report.
type shortQuote struct{ fakeSNP }

func (*shortQuote) GetRawQuote([64]byte) ([]uint8, error) { return make([]byte, 100), nil }

// failingQuote answers with an error, as a firmware failure does.
type failingQuote struct{ fakeSNP }

func (*failingQuote) GetRawQuote([64]byte) ([]uint8, error) {
	return nil, errors.New("input/output error")
}

func TestAttesterDeviceFailures(t *testing.T) {
	for name, a := range map[string]*Attester{
		"short answer":   {QuoteProvider: &shortQuote{}},
		"firmware error": {QuoteProvider: &failingQuote{}},
	} {
		t.Run(name, func(t *testing.T) {
			if doc, err := a.Attest(t.Context(), testKey, nil, nil); err == nil {
				t.Fatalf("Attest = %x, want an error", doc)
			}
		})
	}
}

// TestAttesterDocument checks the document's fields and REPORT_DATA directly, independent of
// the Verifier.
func TestAttesterDocument(t *testing.T) {
	doc := genuineDoc(t, newFake(t))
	d := decodeForTest(t, doc)
	if !bytes.Equal(d.PublicKey, testKey) || !bytes.Equal(d.UserData, testUserData) || !bytes.Equal(d.Nonce, testNonce) {
		t.Errorf("document fields %x %q %q, want %x %q %q", d.PublicKey, d.UserData, d.Nonce, testKey, testUserData, testNonce)
	}
	if d.Timestamp != uint64(testNow.UnixMilli()) {
		t.Errorf("timestamp %d, want %d", d.Timestamp, testNow.UnixMilli())
	}
	rd := ReportData(testKey, testUserData, testNonce, d.Timestamp)
	if !bytes.Equal(d.Report[offReportData:offReportData+64], rd[:]) {
		t.Errorf("REPORT_DATA %x, want %x", d.Report[offReportData:offReportData+64], rd)
	}
	if len(d.Certs) == 0 {
		t.Error("document has no certificate table")
	}
}

func TestReportDataSeparatesFields(t *testing.T) {
	base := ReportData([]byte("ab"), []byte("c"), nil, 1)
	for name, rd := range map[string][64]byte{
		"byte moved between fields": ReportData([]byte("a"), []byte("bc"), nil, 1),
		"byte moved into nonce":     ReportData([]byte("ab"), nil, []byte("c"), 1),
		"other timestamp":           ReportData([]byte("ab"), []byte("c"), nil, 2),
	} {
		if rd == base {
			t.Errorf("%s: same REPORT_DATA", name)
		}
	}
	if ReportData([]byte("ab"), []byte("c"), nil, 1) != base {
		t.Error("ReportData is not deterministic")
	}
}
