// Package sim issues attestation documents in exactly the AWS Nitro format from a local test
// CA, so tests and the devnet run the production nitro.Verifier with only the pinned root
// changed.
//
// A sim document proves nothing: anyone holding the intermediate key (it sits on disk for the
// devnet) can attest to any measurement, key or data. This package must never be trusted in
// production, and must never be selected silently: configuration names it as
// attestation.KindSim, and every certificate it issues says "NOT A NITRO ENCLAVE" in its
// subject, so a sim root pinned by mistake is visible wherever it is logged.
package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Subjects of the sim CA's certificates.
const (
	rootCommonName         = "mpcsigner sim attestation root - NOT A NITRO ENCLAVE"
	intermediateCommonName = "mpcsigner sim attestation intermediate - NOT A NITRO ENCLAVE"
	leafCommonName         = "mpcsigner sim enclave - NOT A NITRO ENCLAVE"
	organization           = "mpcsigner sim (proves nothing)"
)

// caLifetime is how long a sim root and intermediate are valid: long enough for a devnet's
// saved CA to outlive the devnet.
const caLifetime = 10 * 365 * 24 * time.Hour

// CA is a sim certificate authority: a self-signed ECDSA P-384 root and an ECDSA P-384
// intermediate that issues document signing certificates, mirroring the Nitro chain shape.
// The root key is discarded once the intermediate is signed: nothing else needs it.
type CA struct {
	root            *x509.Certificate
	intermediate    *x509.Certificate
	intermediateKey *ecdsa.PrivateKey
}

// NewCA creates a fresh sim CA.
func NewCA() (*CA, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim CA: generate root key: %w", err)
	}
	rootTemplate, err := caTemplate(rootCommonName, now, -1)
	if err != nil {
		return nil, err
	}
	root, err := issue(rootTemplate, rootTemplate, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("sim CA: self-sign root: %w", err)
	}
	intermediateKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim CA: generate intermediate key: %w", err)
	}
	// The intermediate may only issue leaves, as Nitro's last CA does.
	intermediateTemplate, err := caTemplate(intermediateCommonName, now, 0)
	if err != nil {
		return nil, err
	}
	intermediate, err := issue(intermediateTemplate, root, &intermediateKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("sim CA: sign intermediate: %w", err)
	}
	return &CA{root: root, intermediate: intermediate, intermediateKey: intermediateKey}, nil
}

// Root returns the CA's root certificate: what a verifier pins to accept this CA's documents.
func (ca *CA) Root() *x509.Certificate {
	if ca == nil {
		return nil
	}
	return ca.root
}

// Intermediate returns the certificate that issues the document signing certificates.
func (ca *CA) Intermediate() *x509.Certificate {
	if ca == nil {
		return nil
	}
	return ca.intermediate
}

// caTemplate returns a CA certificate template; maxPathLen < 0 leaves the path length open.
func caTemplate(commonName string, now time.Time, maxPathLen int) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{organization}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if maxPathLen >= 0 {
		t.MaxPathLen = maxPathLen
		t.MaxPathLenZero = maxPathLen == 0
	}
	return t, nil
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("sim CA: serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil
}

// issue signs template with the parent's key and parses the result.
func issue(template, parent *x509.Certificate, pub any, signer any) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// checkCA checks that the intermediate is signed by the root and that key is its key, so a
// loaded CA is known to be coherent before it issues anything.
func checkCA(root, intermediate *x509.Certificate, key *ecdsa.PrivateKey) error {
	if err := root.CheckSignature(root.SignatureAlgorithm, root.RawTBSCertificate, root.Signature); err != nil {
		return fmt.Errorf("sim CA: root is not self-signed: %w", err)
	}
	if err := intermediate.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("sim CA: intermediate is not signed by the root: %w", err)
	}
	if key == nil || !key.PublicKey.Equal(intermediate.PublicKey) {
		return errors.New("sim CA: intermediate key does not match the intermediate certificate")
	}
	return nil
}
