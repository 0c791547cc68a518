package sevsnp

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/client"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// Attester makes sevsnp documents inside an SEV-SNP guest. The zero value uses the guest's own
// device and clock.
type Attester struct {
	// QuoteProvider asks the AMD secure processor for reports. Nil means the guest's device,
	// found by go-sev-guest: the configfs-tsm report interface, else /dev/sev-guest. Tests put
	// go-sev-guest's fakes here.
	QuoteProvider client.QuoteProvider
	// Now is the clock that stamps documents; nil means time.Now.
	Now func() time.Time
}

var _ attestation.Attester = (*Attester)(nil)

// Kind returns attestation.KindSEVSNP.
func (*Attester) Kind() string { return attestation.KindSEVSNP }

// Attest returns a document whose report binds publicKey, userData, nonce and the current time.
// Without an SEV-SNP device the error wraps ErrNoDevice.
func (a *Attester) Attest(ctx context.Context, publicKey, userData, nonce []byte) ([]byte, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sevsnp: attest: %w", err)
		}
	}
	if err := attestation.CheckFields(publicKey, userData, nonce); err != nil {
		return nil, fmt.Errorf("sevsnp: attest: %w", err)
	}
	qp, err := a.provider()
	if err != nil {
		return nil, err
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	ms := now().UnixMilli()
	if ms < 0 {
		return nil, fmt.Errorf("sevsnp: attest: the clock reads %d ms before 1970: set the guest's clock", ms)
	}
	reportData := ReportData(publicKey, userData, nonce, uint64(ms))
	raw, err := qp.GetRawQuote(reportData)
	if err != nil {
		return nil, fmt.Errorf("sevsnp: get an attestation report from the secure processor: %w", err)
	}
	report, certs, err := splitQuote(raw, reportData)
	if err != nil {
		return nil, err
	}
	return encodeDocument(&document{
		Report:    report,
		Certs:     certs,
		PublicKey: publicKey,
		UserData:  userData,
		Nonce:     nonce,
		Timestamp: uint64(ms),
	})
}

// provider returns the configured QuoteProvider or the guest's own.
func (a *Attester) provider() (client.QuoteProvider, error) {
	if a.QuoteProvider != nil {
		return a.QuoteProvider, nil
	}
	qp, err := client.GetQuoteProvider()
	if err != nil {
		return nil, fmt.Errorf("sevsnp: neither /sys/kernel/config/tsm/report nor /dev/sev-guest is usable (%v): "+
			"run the enclave inside an SEV-SNP guest whose kernel has the sev-guest driver, or use attestation kind %q for development: %w",
			err, attestation.KindSim, ErrNoDevice)
	}
	return qp, nil
}

// splitQuote splits a raw quote into the report and the certificate table that follows it, and
// checks that the report carries the REPORT_DATA we asked for.
func splitQuote(raw []byte, reportData [abi.ReportDataSize]byte) (report, certs []byte, err error) {
	if len(raw) < abi.ReportSize {
		return nil, nil, fmt.Errorf("sevsnp: the secure processor returned %d bytes, less than a %d-byte report", len(raw), abi.ReportSize)
	}
	report, certs = raw[:abi.ReportSize], raw[abi.ReportSize:]
	const reportDataOffset = 0x50 // REPORT_DATA's offset in the SEV-SNP firmware ABI's ATTESTATION_REPORT
	if !bytes.Equal(report[reportDataOffset:reportDataOffset+abi.ReportDataSize], reportData[:]) {
		return nil, nil, fmt.Errorf("sevsnp: the secure processor returned a report for other REPORT_DATA than requested: refusing it")
	}
	return bytes.Clone(report), bytes.Clone(certs), nil
}
