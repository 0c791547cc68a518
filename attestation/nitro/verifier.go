package nitro

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// Policy defaults, as documented on attestation.Policy.
const (
	DefaultMaxAge    = 10 * time.Minute
	DefaultClockSkew = time.Minute
)

// Verifier checks Nitro attestation documents against pinned roots and a policy. It is
// immutable once built and safe for concurrent use.
type Verifier struct {
	roots  []*x509.Certificate
	pool   *x509.CertPool
	policy attestation.Policy
}

var _ attestation.Verifier = (*Verifier)(nil)

// NewVerifier returns a Verifier that trusts only roots (LoadAWSRoot's in production, a sim CA's
// root in tests and the devnet) and accepts only documents matching policy. An empty root list
// or a policy pinning no measurement is refused: such a verifier would prove nothing. A zero
// MaxAge or ClockSkew takes the default (10 minutes, 1 minute).
func NewVerifier(roots []*x509.Certificate, policy attestation.Policy) (*Verifier, error) {
	if len(roots) == 0 {
		return nil, errors.New("nitro verifier: no trusted root certificate")
	}
	pool := x509.NewCertPool()
	pinned := make([]*x509.Certificate, 0, len(roots))
	for i, root := range roots {
		if root == nil || len(root.Raw) == 0 {
			return nil, fmt.Errorf("nitro verifier: root %d is empty", i)
		}
		pool.AddCert(root)
		pinned = append(pinned, root)
	}
	checked, err := checkPolicy(policy)
	if err != nil {
		return nil, err
	}
	return &Verifier{roots: pinned, pool: pool, policy: checked}, nil
}

// checkPolicy validates policy and returns a copy with defaults filled in, so later changes to
// the caller's maps cannot change what the Verifier accepts.
func checkPolicy(policy attestation.Policy) (attestation.Policy, error) {
	if len(policy.Measurements) == 0 {
		return attestation.Policy{}, errors.New("nitro verifier: policy pins no measurement; a verifier must pin at least PCR0")
	}
	measurements := make(map[int][]byte, len(policy.Measurements))
	for index, value := range policy.Measurements {
		if index < 0 || index > maxPCRIndex {
			return attestation.Policy{}, fmt.Errorf("nitro verifier: policy pins PCR%d, want an index in 0..%d", index, maxPCRIndex)
		}
		if !validPCRSize(len(value)) {
			return attestation.Policy{}, fmt.Errorf("nitro verifier: policy PCR%d is %d bytes, want 32, 48 or 64", index, len(value))
		}
		if index == 0 && allZero(value) {
			return attestation.Policy{}, errors.New("nitro verifier: policy pins an all-zero PCR0, which only a debug-mode enclave reports and which is always refused")
		}
		measurements[index] = bytes.Clone(value)
	}
	out := attestation.Policy{Measurements: measurements, MaxAge: policy.MaxAge, ClockSkew: policy.ClockSkew}
	if out.MaxAge < 0 || out.ClockSkew < 0 {
		return attestation.Policy{}, fmt.Errorf("nitro verifier: negative MaxAge (%v) or ClockSkew (%v)", out.MaxAge, out.ClockSkew)
	}
	if out.MaxAge == 0 {
		out.MaxAge = DefaultMaxAge
	}
	if out.ClockSkew == 0 {
		out.ClockSkew = DefaultClockSkew
	}
	return out, nil
}

// Kind returns attestation.KindNitro.
func (v *Verifier) Kind() string { return attestation.KindNitro }

// Verify checks doc completely at time now and returns what it attests. Each error wraps one
// of the attestation sentinels and says what exactly was wrong.
func (v *Verifier) Verify(doc []byte, now time.Time) (*attestation.Document, error) {
	if v == nil || v.pool == nil {
		return nil, fail(attestation.ErrChain, "nitro verifier not built with NewVerifier: no pinned root")
	}
	env, raw, err := decode(doc)
	if err != nil {
		return nil, err
	}
	leaf, err := v.verifyChain(raw, now)
	if err != nil {
		return nil, err
	}
	key, err := leafKey(leaf)
	if err != nil {
		return nil, err
	}
	if err := checkSignatureSize(env.Signature); err != nil {
		return nil, err
	}
	if err := verifySignature(env, key, leaf); err != nil {
		return nil, err
	}
	if err := refuseDebugMode(raw.PCRs); err != nil {
		return nil, err
	}
	if err := v.checkMeasurements(raw.PCRs); err != nil {
		return nil, err
	}
	timestamp := time.UnixMilli(int64(raw.Timestamp)).UTC()
	if err := v.checkFreshness(timestamp, now); err != nil {
		return nil, err
	}
	return &attestation.Document{
		Kind:         attestation.KindNitro,
		ModuleID:     raw.ModuleID,
		Timestamp:    timestamp,
		Measurements: raw.PCRs,
		PublicKey:    raw.PublicKey,
		UserData:     raw.UserData,
		Nonce:        raw.Nonce,
		NotAfter:     leaf.NotAfter,
	}, nil
}

func chainf(format string, args ...any) error {
	return fail(attestation.ErrChain, format, args...)
}

// namedCertificate is a parsed certificate with the name errors use for it.
type namedCertificate struct {
	name string
	cert *x509.Certificate
}

// verifyChain checks that cabundle[0] is a pinned root, that every certificate is valid at now,
// and that the leaf chains to the pinned root through the bundle. It returns the leaf.
func (v *Verifier) verifyChain(raw *RawDocument, now time.Time) (*x509.Certificate, error) {
	if !v.pinned(raw.CABundle[0]) {
		return nil, chainf("untrusted root: cabundle[0] (%s) is not one of the %d pinned root certificates", describeDER(raw.CABundle[0]), len(v.roots))
	}
	certs, err := parseCertificates(raw)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		if err := checkValidity(c, now); err != nil {
			return nil, err
		}
	}
	leaf := certs[0].cert
	intermediates := x509.NewCertPool()
	for _, c := range certs[2:] {
		intermediates.AddCert(c.cert)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:         v.pool,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, chainf("leaf certificate (%s) does not chain to a pinned root through the cabundle: %v", subjectName(leaf), err)
	}
	return leaf, nil
}

// describeDER names an unpinned root for the error message, if it parses at all.
func describeDER(der []byte) string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "not a certificate"
	}
	return subjectName(cert)
}

func (v *Verifier) pinned(der []byte) bool {
	for _, root := range v.roots {
		if bytes.Equal(root.Raw, der) {
			return true
		}
	}
	return false
}

// parseCertificates returns the leaf, then cabundle[0] (the root), then the rest of the bundle.
func parseCertificates(raw *RawDocument) ([]namedCertificate, error) {
	certs := make([]namedCertificate, 0, 1+len(raw.CABundle))
	leaf, err := x509.ParseCertificate(raw.Certificate)
	if err != nil {
		return nil, malformedf("leaf certificate does not parse: %v", err)
	}
	certs = append(certs, namedCertificate{name: "leaf certificate", cert: leaf})
	for i, der := range raw.CABundle {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, malformedf("cabundle[%d] certificate does not parse: %v", i, err)
		}
		name := fmt.Sprintf("cabundle[%d] certificate", i)
		if i == 0 {
			name = "root certificate (cabundle[0])"
		}
		certs = append(certs, namedCertificate{name: name, cert: cert})
	}
	return certs, nil
}

// checkValidity checks one certificate's validity period itself, so the error can name the
// certificate; crypto/x509 only says that some certificate in the chain is out of date.
func checkValidity(c namedCertificate, now time.Time) error {
	if now.Before(c.cert.NotBefore) {
		return chainf("%s (%s) is not valid until %s (now %s)", c.name, subjectName(c.cert),
			c.cert.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if now.After(c.cert.NotAfter) {
		return chainf("%s (%s) expired at %s (now %s)", c.name, subjectName(c.cert),
			c.cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func subjectName(cert *x509.Certificate) string {
	if cert.Subject.CommonName != "" {
		return "CN=" + cert.Subject.CommonName
	}
	return cert.Subject.String()
}

// leafKey requires the leaf's key to be ECDSA P-384, the only key ES384 can use. The type
// switch is what keeps a P-521, P-256, RSA or Ed25519 leaf from reaching code that assumes
// 48-byte scalars.
func leafKey(leaf *x509.Certificate) (*ecdsa.PublicKey, error) {
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key == nil || key.Curve != elliptic.P384() {
		return nil, chainf("leaf key is %s, want ECDSA P-384", describeKey(leaf.PublicKey))
	}
	return key, nil
}

// describeKey names a public key's algorithm and size for error messages.
func describeKey(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil || k.Curve.Params() == nil {
			return "ECDSA on an unknown curve"
		}
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "RSA"
		}
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	case nil:
		return "missing"
	default:
		return fmt.Sprintf("%T", pub)
	}
}

// verifySignature checks the ES384 signature over the Sig_structure built from the protected
// header and payload exactly as received.
func verifySignature(env *Envelope, key *ecdsa.PublicKey, leaf *x509.Certificate) error {
	tbs, err := SigStructure(env.Protected, env.Payload)
	if err != nil {
		return fail(attestation.ErrSignature, "%v", err)
	}
	digest := sha512.Sum384(tbs)
	r := new(big.Int).SetBytes(env.Signature[:scalarSizeP384])
	s := new(big.Int).SetBytes(env.Signature[scalarSizeP384:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		return fail(attestation.ErrSignature, "COSE_Sign1 signature does not verify under the leaf certificate's key (%s)", subjectName(leaf))
	}
	return nil
}

func allZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}

// refuseDebugMode refuses documents from debug-mode enclaves, whatever the policy pins: a
// debug-mode enclave reports PCR0, PCR1 and PCR2 as zeros and its memory is readable from
// the parent instance, so it can hold no secret.
func refuseDebugMode(pcrs map[int][]byte) error {
	pcr0, ok := pcrs[0]
	if !ok {
		return fail(attestation.ErrMeasurement, "document has no PCR0, so a debug-mode enclave cannot be ruled out")
	}
	if allZero(pcr0) {
		return fail(attestation.ErrMeasurement, "PCR0 is all zeros: debug-mode enclave")
	}
	return nil
}

// checkMeasurements requires every register the policy pins to be present and equal. The
// comparison is constant-time, so timing reveals nothing about how close a forgery came.
func (v *Verifier) checkMeasurements(pcrs map[int][]byte) error {
	for _, index := range slices.Sorted(maps.Keys(v.policy.Measurements)) {
		want := v.policy.Measurements[index]
		got, ok := pcrs[index]
		if !ok {
			return fail(attestation.ErrMeasurement, "PCR%d required by policy is not in the document", index)
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return fail(attestation.ErrMeasurement, "PCR%d is %s, want %s", index, hex.EncodeToString(got), hex.EncodeToString(want))
		}
	}
	return nil
}

// checkFreshness refuses documents older than MaxAge or further than ClockSkew in the future.
func (v *Verifier) checkFreshness(timestamp, now time.Time) error {
	if age := now.Sub(timestamp); age > v.policy.MaxAge {
		return fail(attestation.ErrStale, "document timestamp %s is %v old at %s, more than MaxAge %v",
			timestamp.Format(time.RFC3339Nano), age, now.UTC().Format(time.RFC3339Nano), v.policy.MaxAge)
	}
	if ahead := timestamp.Sub(now); ahead > v.policy.ClockSkew {
		return fail(attestation.ErrStale, "document timestamp %s is %v in the future at %s, more than ClockSkew %v",
			timestamp.Format(time.RFC3339Nano), ahead, now.UTC().Format(time.RFC3339Nano), v.policy.ClockSkew)
	}
	return nil
}
