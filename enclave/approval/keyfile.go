package approval

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// MaxKeyFileBytes bounds an operator key file (a valid one is about 420 bytes).
const MaxKeyFileBytes = 4096

const (
	keyFileWarning    = "# mpcsigner operator key: keep this file secret; whoever holds it can approve as this operator.\n"
	keyFileCertPrefix = "# certificate: "
	pemPrivateKey     = "PRIVATE KEY"
)

// MarshalKeyFile is the text of an operator key file: two comment lines, the second holding the
// operator's certificate (so the file alone can print it again), then the key as a PKCS#8 PEM
// block, which OpenSSL and other tools read as they are. The caller wipes the result after
// writing it.
func MarshalKeyFile(key ed25519.PrivateKey, cert Certificate) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize || !bytes.Equal(key.Public().(ed25519.PublicKey), cert.PublicKey) {
		return nil, fmt.Errorf("the certificate of %s is not for this key", cert.Name)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the operator key: %w", err)
	}
	defer clear(der)
	var b bytes.Buffer
	b.Grow(MaxKeyFileBytes) // one allocation, so no stale copy of the key is left behind
	b.WriteString(keyFileWarning)
	b.WriteString(keyFileCertPrefix + cert.String() + "\n")
	if err := pem.Encode(&b, &pem.Block{Type: pemPrivateKey, Bytes: der}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParseKeyFile reads an operator key file: exactly one certificate comment, one PKCS#8 Ed25519
// PEM block without headers, and the certificate must be the key's. Errors wrap ErrMalformed and
// never include key material. The caller wipes the returned key when done.
func ParseKeyFile(data []byte) (ed25519.PrivateKey, Certificate, error) {
	if len(data) > MaxKeyFileBytes {
		return nil, Certificate{}, fmt.Errorf("key file of %d bytes exceeds %d: %w", len(data), MaxKeyFileBytes, ErrMalformed)
	}
	begin := bytes.Index(data, []byte("-----BEGIN "))
	if begin < 0 {
		return nil, Certificate{}, fmt.Errorf("key file has no PEM block: %w", ErrMalformed)
	}
	cert, err := keyFileCertificate(string(data[:begin]))
	if err != nil {
		return nil, Certificate{}, err
	}
	block, rest := pem.Decode(data[begin:])
	if block == nil || block.Type != pemPrivateKey || len(block.Headers) != 0 {
		return nil, Certificate{}, fmt.Errorf("key file: want one %q PEM block without headers: %w", pemPrivateKey, ErrMalformed)
	}
	defer clear(block.Bytes)
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, Certificate{}, fmt.Errorf("key file: unexpected text after the PEM block: %w", ErrMalformed)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, Certificate{}, fmt.Errorf("key file: the PEM block is not a PKCS#8 private key: %w", ErrMalformed)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, Certificate{}, fmt.Errorf("key file: the key is a %T, not Ed25519: %w", parsed, ErrMalformed)
	}
	if !bytes.Equal(key.Public().(ed25519.PublicKey), cert.PublicKey) {
		clear(key)
		return nil, Certificate{}, fmt.Errorf("key file: its certificate (%s) is not for its key: %w", cert.Name, ErrMalformed)
	}
	return key, cert, nil
}

// keyFileCertificate finds the one certificate comment before the PEM block; other lines there
// must be comments or blank.
func keyFileCertificate(preamble string) (Certificate, error) {
	var found []string
	for _, line := range strings.Split(preamble, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, keyFileCertPrefix):
			found = append(found, strings.TrimPrefix(line, keyFileCertPrefix))
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			return Certificate{}, fmt.Errorf("key file: unexpected text before the PEM block: %w", ErrMalformed)
		}
	}
	if len(found) != 1 {
		return Certificate{}, fmt.Errorf("key file: want one %q line, found %d: %w", strings.TrimSpace(keyFileCertPrefix), len(found), ErrMalformed)
	}
	cert, err := ParseCertificate(found[0])
	if err != nil {
		return Certificate{}, fmt.Errorf("key file: %w", err)
	}
	return cert, nil
}
