package sevsnp

import (
	"bytes"
	"testing"

	"github.com/google/go-sev-guest/abi"
)

// FuzzVerify feeds arbitrary bytes to the Verifier: it must never panic, and must accept only
// documents that verify completely. Seeds: a genuine document, one without certificates, and
// damaged copies.
func FuzzVerify(f *testing.F) {
	qp := newFake(f)
	doc := genuineDoc(f, qp)
	f.Add(doc)
	qp.noCerts = true
	f.Add(genuineDoc(f, qp))
	f.Add(doc[:len(doc)/2])
	f.Add([]byte{0xa0})
	f.Add([]byte("garbage"))
	v := newTestVerifier(f, testPolicy())
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := v.Verify(raw, testNow)
		if err != nil {
			return
		}
		if got.Kind != "sevsnp" || len(got.Measurements[0]) != 48 {
			t.Fatalf("Verify accepted a document with kind %q and measurement %x", got.Kind, got.Measurements[0])
		}
	})
}

// FuzzVerifyReport fuzzes the report and the certificate table inside a well-formed document, so
// that the inputs reach go-sev-guest and the table parser instead of stopping at CBOR.
func FuzzVerifyReport(f *testing.F) {
	d := decodeForTest(f, genuineDoc(f, newFake(f)))
	f.Add(d.Report, d.Certs)
	f.Add(d.Report, []byte{})
	f.Add(d.Report, d.Certs[:abi.CertTableEntrySize*2])
	v := newTestVerifier(f, testPolicy())
	f.Fuzz(func(t *testing.T, report, certs []byte) {
		fd := *d
		fd.Report, fd.Certs = report, certs
		raw, err := encodeDocument(&fd)
		if err != nil {
			return
		}
		// Only the genuine report's contents are signed; other contents verifying would be a
		// forgery. (The signature itself may differ: the seeds are made again in each fuzzing
		// worker, and ECDSA signatures are randomised.)
		_, err = v.Verify(raw, testNow)
		if err == nil && !bytes.Equal(abi.SignedComponent(report), abi.SignedComponent(d.Report)) {
			t.Fatalf("Verify accepted a report with changed contents")
		}
	})
}
