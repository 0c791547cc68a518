package approval

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"filippo.io/edwards25519"
)

// ErrMalformed means a certificate, statement, approval or key file does not have the syntax
// this package defines (see the package documentation). Errors wrap it and say what was wrong.
var ErrMalformed = errors.New("malformed input")

const (
	// certificateTag starts every certificate text; the version in it changes with the format.
	certificateTag = "mpcsigner-operator-v1"
	// certificateDomain separates certificate self-signatures from every other use of the key.
	certificateDomain = "mpcsigner operator certificate v1\n"
	// MaxCertificateBytes bounds a certificate text (a valid one is about 210 bytes).
	MaxCertificateBytes = 512
)

// namePattern is an operator's name: short, lowercase and free of anything a terminal or a YAML
// file could interpret, so that names compare simply and display safely.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// Certificate is an operator's self-signed personal key certificate. It carries no secret.
type Certificate struct {
	Name      string
	PublicKey ed25519.PublicKey
	// Created is when the key was made (UTC, whole seconds); it is informational.
	Created time.Time
	// Signature is the self-signature over the other fields (see the package documentation).
	Signature []byte
}

// NewCertificate makes the self-signed certificate of key under name, dated created (truncated to
// whole seconds, in UTC).
func NewCertificate(key ed25519.PrivateKey, name string, created time.Time) (Certificate, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Certificate{}, fmt.Errorf("operator key is %d bytes, want an Ed25519 private key of %d", len(key), ed25519.PrivateKeySize)
	}
	if err := CheckName(name); err != nil {
		return Certificate{}, err
	}
	c := Certificate{
		Name:      name,
		PublicKey: key.Public().(ed25519.PublicKey),
		Created:   created.UTC().Truncate(time.Second),
	}
	if err := checkPublicKey(c.PublicKey); err != nil {
		return Certificate{}, err
	}
	c.Signature = ed25519.Sign(key, c.signedBytes())
	return c, nil
}

// CheckName returns nil if name is a valid operator name, else an error wrapping ErrMalformed.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("operator name %q: use 1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit: %w", truncate(name), ErrMalformed)
	}
	return nil
}

// body is the certificate text without its tag and signature.
func (c Certificate) body() string {
	return c.Name + " " + c.Created.UTC().Format(time.RFC3339) + " " + base64.StdEncoding.EncodeToString(c.PublicKey)
}

// signedBytes is what the self-signature covers.
func (c Certificate) signedBytes() []byte {
	return []byte(certificateDomain + c.body())
}

// String is the certificate text, one line without a newline.
func (c Certificate) String() string {
	return certificateTag + " " + c.body() + " " + base64.StdEncoding.EncodeToString(c.Signature)
}

// Fingerprint is a short, stable name for the public key ("SHA256:" and the unpadded base64 of
// its SHA-256, as ssh-keygen prints), for people to compare keys and for logs.
func (c Certificate) Fingerprint() string { return fingerprint(c.PublicKey) }

func fingerprint(pub []byte) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ParseCertificate parses a certificate text (surrounding white space is ignored) and checks its
// syntax and self-signature. Errors wrap ErrMalformed.
func ParseCertificate(text string) (Certificate, error) {
	if len(text) > MaxCertificateBytes {
		return Certificate{}, fmt.Errorf("certificate of %d bytes exceeds %d: %w", len(text), MaxCertificateBytes, ErrMalformed)
	}
	fields := strings.Split(strings.TrimSpace(text), " ")
	if len(fields) != 5 || fields[0] != certificateTag {
		return Certificate{}, fmt.Errorf("not an operator certificate: want %q and four more fields separated by single spaces (the line 'mpcsigner operator cert' prints): %w", certificateTag, ErrMalformed)
	}
	if err := CheckName(fields[1]); err != nil {
		return Certificate{}, fmt.Errorf("certificate: %w", err)
	}
	c := Certificate{Name: fields[1]}
	var err error
	if c.Created, err = time.Parse(time.RFC3339, fields[2]); err != nil || c.Created.UTC().Format(time.RFC3339) != fields[2] {
		return Certificate{}, fmt.Errorf("certificate of %s: created %q is not an RFC 3339 UTC time in whole seconds: %w", c.Name, truncate(fields[2]), ErrMalformed)
	}
	if c.PublicKey, err = decodeBase64("public key", fields[3], ed25519.PublicKeySize); err != nil {
		return Certificate{}, fmt.Errorf("certificate of %s: %w", c.Name, err)
	}
	if c.Signature, err = decodeBase64("signature", fields[4], ed25519.SignatureSize); err != nil {
		return Certificate{}, fmt.Errorf("certificate of %s: %w", c.Name, err)
	}
	if err := checkPublicKey(c.PublicKey); err != nil {
		return Certificate{}, fmt.Errorf("certificate of %s: %w", c.Name, err)
	}
	if !ed25519.Verify(c.PublicKey, c.signedBytes(), c.Signature) {
		return Certificate{}, fmt.Errorf("certificate of %s: the self-signature does not verify (the text was altered, or not made by 'mpcsigner operator'): %w", c.Name, ErrMalformed)
	}
	return c, nil
}

// decodeBase64 decodes standard padded base64 of exactly size bytes. Strict decoding refuses
// non-zero padding bits, so each value has one text.
func decodeBase64(what, s string, size int) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not standard base64: %w", what, ErrMalformed)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%s is %d bytes, want %d: %w", what, len(b), size, ErrMalformed)
	}
	return b, nil
}

// checkPublicKey refuses keys that are not canonically encoded points and keys of small order: for those, made-up
// signatures verify over any message, so such a key would approve everything.
func checkPublicKey(pub []byte) error {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return fmt.Errorf("public key is not an Ed25519 point: %w", ErrMalformed)
	}
	// One encoding per key, so comparing keys as bytes (duplicates, look-ups) compares points.
	if !bytes.Equal(p.Bytes(), pub) {
		return fmt.Errorf("public key is not canonically encoded: %w", ErrMalformed)
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return fmt.Errorf("public key has small order and would verify forged signatures: %w", ErrMalformed)
	}
	return nil
}

// Equal reports whether c and o are the same certificate.
func (c Certificate) Equal(o Certificate) bool {
	return c.Name == o.Name && c.Created.Equal(o.Created) &&
		bytes.Equal(c.PublicKey, o.PublicKey) && bytes.Equal(c.Signature, o.Signature)
}
