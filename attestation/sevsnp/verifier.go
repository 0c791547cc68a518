package sevsnp

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// Policy defaults, as attestation.Policy documents them.
const (
	defaultMaxAge    = 10 * time.Minute
	defaultClockSkew = time.Minute
)

// measurementIndex is the one register an SEV-SNP document has: the launch MEASUREMENT.
const measurementIndex = 0

// Verifier checks sevsnp documents. Build it with NewVerifier; it is safe for concurrent use.
type Verifier struct {
	measurement []byte // nil when the policy pins ID or author keys instead
	platform    attestation.SEVSNPPolicy
	maxAge      time.Duration
	clockSkew   time.Duration
	roots       map[string][]*trust.AMDRootCerts
	fetch       bool
	getter      trust.HTTPSGetter
}

var _ attestation.Verifier = (*Verifier)(nil)

// Option adjusts a Verifier.
type Option func(*Verifier)

// WithTrustedRoots replaces AMD's roots with roots (product line, e.g. "Milan", to the ARK and
// ASK/ASVK certificates to trust). Tests use it with go-sev-guest's fake signer; production
// leaves the default.
func WithTrustedRoots(roots map[string][]*trust.AMDRootCerts) Option {
	return func(v *Verifier) { v.roots = roots }
}

// WithCertFetching lets the verifier download certificates a document lacks (its VCEK, and the
// ASK and ARK) from AMD's Key Distribution Service through getter, or through go-sev-guest's
// default HTTPS getter if getter is nil. Off by default: an SEV-SNP attester puts the VCEK in the
// document from the extended report, and a verifier that reaches the network at Verify time
// can be slowed or stalled by whoever controls that network. Downloaded ASK and ARK are not
// trusted: the chain must still end in the trusted roots.
func WithCertFetching(getter trust.HTTPSGetter) Option {
	return func(v *Verifier) {
		v.fetch = true
		v.getter = getter
	}
}

// NewVerifier returns a Verifier that accepts documents whose launch MEASUREMENT is
// policy.Measurements[0] (48 bytes), whose report satisfies policy.SEVSNP (TCB, ID and author
// keys, VMPL, guest policy), and whose timestamp is within policy.MaxAge (default 10 minutes) in
// the past and policy.ClockSkew (default 1 minute) in the future.
//
// The measurement may be left out when policy.SEVSNP pins ID or author keys: the secure
// processor launches a guest with an ID block only if its measurement is the one the ID key
// signed, so the key vouches for it (as PCR8 does on Nitro).
func NewVerifier(policy attestation.Policy, opts ...Option) (*Verifier, error) {
	m, ok := policy.Measurements[measurementIndex]
	switch {
	case !ok && len(policy.SEVSNP.IDKeyDigests)+len(policy.SEVSNP.AuthorKeyDigests) == 0:
		return nil, errors.New("sevsnp: the policy pins no launch measurement (register 0) and no ID or author key: " +
			"set the expected 48-byte MEASUREMENT, or the digest of the key that signs the images' ID blocks")
	case ok && len(m) != abi.MeasurementSize:
		return nil, fmt.Errorf("sevsnp: the policy's launch measurement is %d bytes, want %d", len(m), abi.MeasurementSize)
	}
	for i := range policy.Measurements {
		if i != measurementIndex {
			return nil, fmt.Errorf("sevsnp: the policy pins register %d, but an SEV-SNP report has only the launch measurement (register 0): remove it", i)
		}
	}
	if err := checkPlatformPolicy(policy.SEVSNP); err != nil {
		return nil, err
	}
	if policy.MaxAge < 0 || policy.ClockSkew < 0 {
		return nil, fmt.Errorf("sevsnp: policy max age %s and clock skew %s must not be negative", policy.MaxAge, policy.ClockSkew)
	}
	v := &Verifier{
		measurement: bytes.Clone(m),
		platform:    clonePlatformPolicy(policy.SEVSNP),
		maxAge:      cmp.Or(policy.MaxAge, defaultMaxAge),
		clockSkew:   cmp.Or(policy.ClockSkew, defaultClockSkew),
	}
	for _, opt := range opts {
		opt(v)
	}
	if v.roots == nil {
		roots, err := amdRoots()
		if err != nil {
			return nil, err
		}
		v.roots = roots
	}
	return v, nil
}

// Kind returns attestation.KindSEVSNP.
func (*Verifier) Kind() string { return attestation.KindSEVSNP }

// Verify checks doc completely at time now and returns what it attests. Errors wrap
// attestation.ErrMalformed, ErrSignature, ErrChain, ErrMeasurement, ErrBinding or ErrStale.
func (v *Verifier) Verify(doc []byte, now time.Time) (*attestation.Document, error) {
	d, err := decodeDocument(doc)
	if err != nil {
		return nil, err
	}
	report, chain, err := parseReport(d)
	if err != nil {
		return nil, err
	}
	if err := v.checkSigned(d.Report, report, chain, now); err != nil {
		return nil, err
	}
	if err := v.checkLaunch(report); err != nil {
		return nil, err
	}
	if err := v.checkPlatform(report); err != nil {
		return nil, err
	}
	if err := checkBinding(d, report); err != nil {
		return nil, err
	}
	ts := time.UnixMilli(int64(d.Timestamp))
	if err := v.checkFresh(ts, now); err != nil {
		return nil, err
	}
	return &attestation.Document{
		Kind:         attestation.KindSEVSNP,
		ModuleID:     hex.EncodeToString(report.GetReportId()),
		Timestamp:    ts,
		Measurements: map[int][]byte{measurementIndex: bytes.Clone(report.GetMeasurement())},
		PublicKey:    d.PublicKey,
		UserData:     d.UserData,
		Nonce:        d.Nonce,
		NotAfter:     ts.Add(v.maxAge),
	}, nil
}

// parseReport decodes the raw report and the certificate table.
func parseReport(d *document) (*spb.Report, *spb.CertificateChain, error) {
	var report *spb.Report
	err := guard(func() error {
		if err := abi.ValidateReportFormat(d.Report); err != nil {
			return err
		}
		var err error
		report, err = abi.ReportToProto(d.Report)
		return err
	})
	if err != nil {
		return nil, nil, malformed("attestation report: %s", short(err))
	}
	chain, err := parseCertTable(d.Certs)
	if err != nil {
		return nil, nil, err
	}
	return report, chain, nil
}

// checkSigned verifies the report's signature and its certificate chain to a trusted root,
// with go-sev-guest. On failure it tells a bad signature (ErrSignature) from a bad or missing
// chain (ErrChain).
func (v *Verifier) checkSigned(raw []byte, report *spb.Report, chain *spb.CertificateChain, now time.Time) error {
	att := &spb.Attestation{Report: report, CertificateChain: chain}
	opts := &verify.Options{
		Now:                 now,
		TrustedRoots:        v.roots,
		DisableCertFetching: !v.fetch,
		Getter:              v.getter,
	}
	err := guard(func() error { return verify.SnpAttestation(att, opts) })
	if err == nil {
		return nil
	}
	return classify(raw, report, att.GetCertificateChain(), err)
}

// classify decides whether a failed verification failed on the signature or on the chain: if
// the document's own endorsement key certificate does not verify the report, the signature is
// at fault; otherwise the certificate is not one we trust.
func classify(raw []byte, report *spb.Report, chain *spb.CertificateChain, err error) error {
	info, perr := abi.ParseSignerInfo(report.GetSignerInfo())
	if perr != nil {
		return fmt.Errorf("sevsnp: report signer info: %v: %w", perr, attestation.ErrMalformed)
	}
	der := chain.GetVcekCert()
	if info.SigningKey == abi.VlekReportSigner {
		der = chain.GetVlekCert()
	}
	if len(der) == 0 {
		return fmt.Errorf("sevsnp: the document carries no %v certificate and fetching it is off "+
			"(the attester puts it in from the extended report; or enable WithCertFetching): %s: %w",
			info.SigningKey, short(err), attestation.ErrChain)
	}
	cert, perr := x509.ParseCertificate(der)
	if perr != nil {
		return fmt.Errorf("sevsnp: %v certificate does not parse: %v: %w", info.SigningKey, perr, attestation.ErrChain)
	}
	if serr := guard(func() error { return verify.SnpReportSignature(raw, cert) }); serr != nil {
		return fmt.Errorf("sevsnp: report signature does not verify under its %v certificate: %s: %w",
			info.SigningKey, short(serr), attestation.ErrSignature)
	}
	return fmt.Errorf("sevsnp: %v certificate does not chain to a trusted AMD root: %s: %w",
		info.SigningKey, short(err), attestation.ErrChain)
}

// checkLaunch refuses a debuggable guest and a measurement other than the policy's (if it pins
// one; otherwise checkIDBlock requires an allowed ID or author key).
func (v *Verifier) checkLaunch(report *spb.Report) error {
	policy, err := abi.ParseSnpPolicy(report.GetPolicy())
	if err != nil {
		return malformed("guest policy: %v", err)
	}
	if policy.Debug {
		// The hypervisor can read and change a debuggable guest's memory: its measurement
		// proves nothing about what runs in it.
		return fmt.Errorf("sevsnp: the guest policy allows debugging (policy %#x): launch it with DEBUG off: %w",
			report.GetPolicy(), attestation.ErrMeasurement)
	}
	if v.measurement != nil && !bytes.Equal(report.GetMeasurement(), v.measurement) {
		return fmt.Errorf("sevsnp: launch measurement %x is not the policy's %x: %w",
			report.GetMeasurement(), v.measurement, attestation.ErrMeasurement)
	}
	return nil
}

// checkBinding recomputes REPORT_DATA from the document's fields.
func checkBinding(d *document, report *spb.Report) error {
	want := ReportData(d.PublicKey, d.UserData, d.Nonce, d.Timestamp)
	if !bytes.Equal(report.GetReportData(), want[:]) {
		return fmt.Errorf("sevsnp: the report's REPORT_DATA does not match the document's public key, user data, nonce and timestamp: %w",
			attestation.ErrBinding)
	}
	return nil
}

// checkFresh refuses a timestamp older than maxAge or further than clockSkew in the future.
func (v *Verifier) checkFresh(ts, now time.Time) error {
	if ts.After(now.Add(v.clockSkew)) {
		return fmt.Errorf("sevsnp: document timestamp %s is more than %s after now (%s): %w",
			ts.UTC().Format(time.RFC3339Nano), v.clockSkew, now.UTC().Format(time.RFC3339Nano), attestation.ErrStale)
	}
	if now.Sub(ts) > v.maxAge {
		return fmt.Errorf("sevsnp: document timestamp %s is more than %s before now (%s): %w",
			ts.UTC().Format(time.RFC3339Nano), v.maxAge, now.UTC().Format(time.RFC3339Nano), attestation.ErrStale)
	}
	return nil
}

// amdRoots returns AMD's roots for every product line go-sev-guest embeds, with both the ASK
// (for VCEK-signed reports) and the ASVK (for VLEK-signed reports, which some cloud providers
// use). go-sev-guest's own default holds only the ASK.
var amdRoots = sync.OnceValues(func() (map[string][]*trust.AMDRootCerts, error) {
	bundles := []struct {
		line       string
		vcek, vlek []byte
	}{
		{"Milan", trust.AskArkMilanVcekBytes, trust.AskArkMilanVlekBytes},
		{"Genoa", trust.AskArkGenoaVcekBytes, trust.AskArkGenoaVlekBytes},
		{"Turin", trust.AskArkTurinVcekBytes, trust.AskArkTurinVlekBytes},
	}
	out := map[string][]*trust.AMDRootCerts{}
	for _, b := range bundles {
		vcek, vlek := trust.AMDRootCertsProduct(b.line), trust.AMDRootCertsProduct(b.line)
		// Trim: some embedded bundles end in a blank line, which the bundle parser refuses.
		if err := vcek.FromKDSCertBytes(bytes.TrimSpace(b.vcek)); err != nil {
			return nil, fmt.Errorf("sevsnp: embedded AMD %s VCEK roots: %w", b.line, err)
		}
		if err := vlek.FromKDSCertBytes(bytes.TrimSpace(b.vlek)); err != nil {
			return nil, fmt.Errorf("sevsnp: embedded AMD %s VLEK roots: %w", b.line, err)
		}
		if vcek.ProductCerts.Ark == nil || vlek.ProductCerts.Ark == nil || !vcek.ProductCerts.Ark.Equal(vlek.ProductCerts.Ark) {
			// Different ARKs: keep them as two roots; go-sev-guest tries each.
			out[b.line] = []*trust.AMDRootCerts{vcek, vlek}
			continue
		}
		vcek.ProductCerts.Asvk = vlek.ProductCerts.Asvk
		out[b.line] = []*trust.AMDRootCerts{vcek}
	}
	return out, nil
})

// guard runs f, turning a panic into an error. go-sev-guest parses attacker-chosen bytes (the
// report, the certificates) and was not written with a no-panic guarantee; a verifier must
// refuse such input, not crash the process.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-sev-guest failed on this input: %v", r)
		}
	}()
	return f()
}

// short bounds a library error's text: go-sev-guest sometimes prints whole certificates.
func short(err error) string {
	return truncateText(err.Error(), 300)
}
