package nitro

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// AWSRootFingerprint is the SHA-256 of the AWS Nitro Enclaves root certificate (G1,
// CN=aws.nitro-enclaves, valid 2019-10-28 to 2049-10-28), as AWS documents it for verifying
// attestation documents. The certificate itself is not shipped here: operators download it from
// AWS (AWS_NitroEnclaves_Root-G1.zip, see deploy/nitro/README.md) and LoadAWSRoot refuses any
// other.
const AWSRootFingerprint = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

// ErrNotAWSRoot means a file offered as the AWS Nitro root is some other certificate.
var ErrNotAWSRoot = errors.New("not the AWS Nitro Enclaves root certificate")

// LoadAWSRoot reads the AWS Nitro root from a PEM file and checks its fingerprint.
func LoadAWSRoot(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the AWS Nitro root: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate: %w", path, ErrNotAWSRoot)
	}
	sum := sha256.Sum256(block.Bytes)
	if got := hex.EncodeToString(sum[:]); got != AWSRootFingerprint {
		return nil, fmt.Errorf("%s has SHA-256 %s, want %s: %w", path, got, AWSRootFingerprint, ErrNotAWSRoot)
	}
	return x509.ParseCertificate(block.Bytes)
}
