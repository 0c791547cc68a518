package sim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
)

const (
	// DefaultLeafLifetime is how long a document signing certificate is valid, as on Nitro.
	DefaultLeafLifetime = 3 * time.Hour
	// DefaultModuleID is the module_id of documents from an Attester without one.
	DefaultModuleID = "i-00000000000000000-sim00000000000000"
	// leafBackdate covers clocks slightly behind the attester's.
	leafBackdate = time.Minute
)

// Attester issues sim documents: Nitro-format documents signed by a fresh leaf certificate
// from CA. It attests whatever PCRs it is configured with, which is why it proves nothing.
type Attester struct {
	CA *CA
	// PCRs are the measurements to attest, e.g. MeasurementOf(executable).
	PCRs map[int][]byte
	// ModuleID defaults to DefaultModuleID.
	ModuleID string
	// LeafLifetime defaults to DefaultLeafLifetime.
	LeafLifetime time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

var _ attestation.Attester = (*Attester)(nil)

// Kind returns attestation.KindSim: configuration must name the simulator explicitly.
func (*Attester) Kind() string { return attestation.KindSim }

// Attest returns a genuine sim document over publicKey, userData and nonce.
func (a *Attester) Attest(ctx context.Context, publicKey, userData, nonce []byte) ([]byte, error) {
	return a.AttestWith(ctx, publicKey, userData, nonce, Tamper{})
}

// Tamper changes how AttestWith builds a document. It exists only so tests can make documents
// that a verifier must refuse; the zero value changes nothing. Each bad document stays
// correctly signed by its leaf key unless the tampering is of the signature itself, so the
// verifier is shown to refuse it for the intended reason.
type Tamper struct {
	// LeafKey replaces the fresh ECDSA P-384 leaf key (e.g. a P-521, P-256, RSA or Ed25519
	// key); the leaf certificate carries it and the document is signed with it (ECDSA as
	// r||s with the curve's scalar size, RSA as PSS, Ed25519 as pure Ed25519; always over
	// the Sig_structure, hashed with SHA-384 where the algorithm hashes).
	LeafKey crypto.Signer
	// LeafNotBefore and LeafNotAfter replace the leaf's validity period when non-zero.
	LeafNotBefore, LeafNotAfter time.Time
	// Timestamp replaces the document timestamp when non-zero.
	Timestamp time.Time
	// PCRs replaces the attester's PCRs when non-nil.
	PCRs map[int][]byte
	// Digest replaces "SHA384" when non-empty.
	Digest string
	// CABundle replaces [root, intermediate] when non-nil; [][]byte{} makes it empty.
	CABundle [][]byte
	// Protected replaces the protected header {1: -35} when non-nil.
	Protected []byte
	// EditPayload rewrites the encoded payload before it is signed.
	EditPayload func(payload []byte) []byte
	// EditSignature rewrites the signature after signing.
	EditSignature func(signature []byte) []byte
}

// AttestWith is Attest with t applied; for tests only.
func (a *Attester) AttestWith(ctx context.Context, publicKey, userData, nonce []byte, t Tamper) ([]byte, error) {
	if err := a.check(publicKey, userData, nonce); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim attest: %w", err)
	}
	now := a.now()
	key, err := leafKey(t.LeafKey)
	if err != nil {
		return nil, err
	}
	leaf, err := a.issueLeaf(key.Public(), now, &t)
	if err != nil {
		return nil, err
	}
	payload, err := a.payload(leaf, publicKey, userData, nonce, now, &t)
	if err != nil {
		return nil, err
	}
	if t.EditPayload != nil {
		payload = t.EditPayload(payload)
	}
	return sign(payload, key, &t)
}

func (a *Attester) check(publicKey, userData, nonce []byte) error {
	if a == nil || a.CA == nil || a.CA.intermediateKey == nil {
		return errors.New("sim attest: no CA")
	}
	if err := attestation.CheckFields(publicKey, userData, nonce); err != nil {
		return fmt.Errorf("sim attest: %w", err)
	}
	return nil
}

func (a *Attester) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// leafKey returns the tampered leaf key, or a fresh P-384 key: each document gets its own, as
// on Nitro.
func leafKey(tampered crypto.Signer) (crypto.Signer, error) {
	if tampered != nil {
		return tampered, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim attest: generate leaf key: %w", err)
	}
	return key, nil
}

// issueLeaf issues the document signing certificate from the intermediate.
func (a *Attester) issueLeaf(pub crypto.PublicKey, now time.Time, t *Tamper) (*x509.Certificate, error) {
	lifetime := a.LeafLifetime
	if lifetime <= 0 {
		lifetime = DefaultLeafLifetime
	}
	notBefore, notAfter := now.Add(-leafBackdate), now.Add(lifetime)
	if !t.LeafNotBefore.IsZero() {
		notBefore = t.LeafNotBefore
	}
	if !t.LeafNotAfter.IsZero() {
		notAfter = t.LeafNotAfter
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: leafCommonName, Organization: []string{organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	leaf, err := issue(template, a.CA.intermediate, pub, a.CA.intermediateKey)
	if err != nil {
		return nil, fmt.Errorf("sim attest: issue leaf certificate: %w", err)
	}
	return leaf, nil
}

// payload encodes the Nitro payload for leaf.
func (a *Attester) payload(leaf *x509.Certificate, publicKey, userData, nonce []byte, now time.Time, t *Tamper) ([]byte, error) {
	doc := nitro.RawDocument{
		ModuleID:    a.ModuleID,
		Digest:      "SHA384",
		Timestamp:   uint64(now.UnixMilli()),
		PCRs:        a.PCRs,
		Certificate: leaf.Raw,
		CABundle:    [][]byte{a.CA.root.Raw, a.CA.intermediate.Raw},
		PublicKey:   emptyAsNil(publicKey),
		UserData:    emptyAsNil(userData),
		Nonce:       emptyAsNil(nonce),
	}
	if doc.ModuleID == "" {
		doc.ModuleID = DefaultModuleID
	}
	if t.Digest != "" {
		doc.Digest = t.Digest
	}
	if !t.Timestamp.IsZero() {
		doc.Timestamp = uint64(t.Timestamp.UnixMilli())
	}
	if t.PCRs != nil {
		doc.PCRs = t.PCRs
	} else if len(doc.PCRs) == 0 {
		return nil, errors.New("sim attest: no PCRs configured (see MeasurementOf)")
	}
	if t.CABundle != nil {
		doc.CABundle = t.CABundle
	}
	payload, err := doc.MarshalPayload()
	if err != nil {
		return nil, fmt.Errorf("sim attest: %w", err)
	}
	return payload, nil
}

// emptyAsNil attests an empty argument as null, as the NSM does.
func emptyAsNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// sign signs payload as a COSE_Sign1. An untampered document goes through nitro.Sign1, the
// same encoder production code would use; tampered ones are assembled piece by piece.
func sign(payload []byte, key crypto.Signer, t *Tamper) ([]byte, error) {
	if k, ok := key.(*ecdsa.PrivateKey); ok && k.Curve == elliptic.P384() && t.Protected == nil && t.EditSignature == nil {
		doc, err := nitro.Sign1(payload, k)
		if err != nil {
			return nil, fmt.Errorf("sim attest: %w", err)
		}
		return doc, nil
	}
	protected := nitro.ProtectedHeader()
	if t.Protected != nil {
		protected = t.Protected
	}
	tbs, err := nitro.SigStructure(protected, payload)
	if err != nil {
		return nil, fmt.Errorf("sim attest: %w", err)
	}
	sig, err := rawSignature(key, tbs)
	if err != nil {
		return nil, err
	}
	if t.EditSignature != nil {
		sig = t.EditSignature(sig)
	}
	env := &nitro.Envelope{Protected: protected, Payload: payload, Signature: sig}
	doc, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sim attest: %w", err)
	}
	return doc, nil
}

// rawSignature signs tbs with any of the leaf keys Tamper allows, in the encoding COSE uses
// for that algorithm.
func rawSignature(key crypto.Signer, tbs []byte) ([]byte, error) {
	digest := sha512.Sum384(tbs)
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			return nil, fmt.Errorf("sim attest: sign: %w", err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	case *rsa.PrivateKey:
		sig, err := rsa.SignPSS(rand.Reader, k, crypto.SHA384, digest[:], nil)
		if err != nil {
			return nil, fmt.Errorf("sim attest: sign: %w", err)
		}
		return sig, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(k, tbs), nil
	default:
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA384)
		if err != nil {
			return nil, fmt.Errorf("sim attest: sign with %T: %w", key, err)
		}
		return sig, nil
	}
}
