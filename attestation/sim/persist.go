package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// Files a saved CA consists of.
const (
	RootFile            = "root.pem"
	IntermediateFile    = "intermediate.pem"
	IntermediateKeyFile = "intermediate.key"
)

const (
	dirMode  os.FileMode = 0o700
	fileMode os.FileMode = 0o600
	// groupOrWorld are the permission bits a directory or key file must not have.
	groupOrWorld os.FileMode = 0o077
	// maxPEMFile bounds what Load reads from each file.
	maxPEMFile = 64 << 10

	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
)

// Save writes the CA to dir for the devnet: root.pem, intermediate.pem and intermediate.key
// (PKCS #8), each 0600 and written atomically. dir is created 0700; an existing dir that group
// or others can access is refused rather than changed, since it is about to hold a key.
func (ca *CA) Save(dir string) error {
	if ca == nil || ca.root == nil || ca.intermediate == nil || ca.intermediateKey == nil {
		return errors.New("sim CA save: incomplete CA")
	}
	if err := prepareDir(dir); err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.intermediateKey)
	if err != nil {
		return fmt.Errorf("sim CA save: encode intermediate key: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{RootFile, pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: ca.root.Raw})},
		{IntermediateFile, pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: ca.intermediate.Raw})},
		{IntermediateKeyFile, pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: keyDER})},
	}
	for _, f := range files {
		if err := writeFileAtomic(dir, f.name, f.data); err != nil {
			return err
		}
	}
	return nil
}

func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("sim CA save: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("sim CA save: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("sim CA save: %s is not a directory", dir)
	}
	if perm := info.Mode().Perm(); perm&groupOrWorld != 0 {
		return fmt.Errorf("sim CA save: directory %s has mode %04o, want 0700: it would expose the intermediate key", dir, perm)
	}
	return nil
}

// writeFileAtomic writes data to dir/name so that a crash leaves either the old file or the
// new one, never a torn one.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := durable.WriteFile(filepath.Join(dir, name), data, fileMode); err != nil {
		return fmt.Errorf("sim CA save: %w", err)
	}
	return nil
}

// LoadCA reads a CA written by Save. It refuses an intermediate.key that group or others can
// read, and a CA whose files do not belong together.
func LoadCA(dir string) (*CA, error) {
	root, err := LoadRoot(dir)
	if err != nil {
		return nil, err
	}
	intermediate, err := loadCertificate(filepath.Join(dir, IntermediateFile))
	if err != nil {
		return nil, err
	}
	key, err := loadKey(filepath.Join(dir, IntermediateKeyFile))
	if err != nil {
		return nil, err
	}
	if err := checkCA(root, intermediate, key); err != nil {
		return nil, err
	}
	return &CA{root: root, intermediate: intermediate, intermediateKey: key}, nil
}

// LoadRoot reads only the root certificate of a CA written by Save: what a verifier pins.
func LoadRoot(dir string) (*x509.Certificate, error) {
	root, err := loadCertificate(filepath.Join(dir, RootFile))
	if err != nil {
		return nil, err
	}
	if !root.IsCA {
		return nil, fmt.Errorf("sim CA load %s: not a CA certificate", RootFile)
	}
	return root, nil
}

func loadCertificate(path string) (*x509.Certificate, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	der, err := decodePEM(data, pemCertificate)
	if err != nil {
		return nil, fmt.Errorf("sim CA load %s: %w", path, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sim CA load %s: %w", path, err)
	}
	return cert, nil
}

// loadKey reads the intermediate key, checking the permissions of the file it actually opened
// so the check cannot be raced by swapping the file.
func loadKey(path string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sim CA load: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sim CA load: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("sim CA load: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&groupOrWorld != 0 {
		return nil, fmt.Errorf("sim CA load: %s has mode %04o, refusing a key that group or others can access (want 0600)", path, perm)
	}
	data, err := readAllLimited(f, path)
	if err != nil {
		return nil, err
	}
	der, err := decodePEM(data, pemPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("sim CA load %s: %w", path, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("sim CA load %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P384() {
		return nil, fmt.Errorf("sim CA load %s: key is %T, want ECDSA P-384", path, parsed)
	}
	return key, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sim CA load: %w", err)
	}
	defer f.Close()
	return readAllLimited(f, path)
}

// readAllLimited reads at most maxPEMFile bytes: a CA file is a few hundred bytes, and a huge
// one is refused rather than read into memory.
func readAllLimited(r io.Reader, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("sim CA load: %w", err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("sim CA load: %s is larger than %d bytes", path, maxPEMFile)
	}
	return data, nil
}

// decodePEM returns the DER of the one PEM block of type want in data.
func decodePEM(data []byte, want string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != want {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, want)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("data after the %s PEM block", want)
	}
	return block.Bytes, nil
}
