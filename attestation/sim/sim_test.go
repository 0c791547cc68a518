package sim_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

func newCA(t *testing.T) *sim.CA {
	t.Helper()
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

// caDir returns a directory for Save to create: t.TempDir itself is 0755, which Save refuses.
func caDir(t *testing.T) string { return filepath.Join(t.TempDir(), "ca") }

func TestNewCAShape(t *testing.T) {
	ca := newCA(t)
	root, intermediate := ca.Root(), ca.Intermediate()
	for name, cert := range map[string]*x509.Certificate{"root": root, "intermediate": intermediate} {
		key, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || key.Curve != elliptic.P384() {
			t.Errorf("%s key is %T, want ECDSA P-384", name, cert.PublicKey)
		}
		if !cert.IsCA {
			t.Errorf("%s is not a CA", name)
		}
		if !strings.Contains(cert.Subject.CommonName, "NOT A NITRO ENCLAVE") {
			t.Errorf("%s subject %q does not say it is a simulation", name, cert.Subject)
		}
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	if err := intermediate.CheckSignatureFrom(root); err != nil {
		t.Errorf("intermediate is not signed by the root: %v", err)
	}
	if !intermediate.MaxPathLenZero {
		t.Error("intermediate may issue further CAs")
	}
}

func TestMeasurementOf(t *testing.T) {
	binary := []byte("some executable")
	got := sim.MeasurementOf(binary)
	want := map[int][32 + 16]byte{
		0: sha512.Sum384(binary),
		1: sha512.Sum384([]byte("mpcsigner sim kernel")),
		2: sha512.Sum384([]byte("mpcsigner sim application")),
	}
	if len(got) != len(want) {
		t.Fatalf("MeasurementOf returned %d registers, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !bytes.Equal(got[i], w[:]) {
			t.Errorf("PCR%d = %x, want %x", i, got[i], w)
		}
	}
}

func TestAttestVerifiesWithNitroVerifier(t *testing.T) {
	ca := newCA(t)
	pcrs := sim.MeasurementOf([]byte("binary"))
	a := &sim.Attester{CA: ca, PCRs: pcrs}
	if a.Kind() != attestation.KindSim {
		t.Fatalf("Kind = %q", a.Kind())
	}
	doc, err := a.Attest(context.Background(), []byte("pk"), []byte("ud"), []byte("nonce"))
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	v, err := nitro.NewVerifier([]*x509.Certificate{ca.Root()}, attestation.Policy{Measurements: pcrs})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(doc, time.Now())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.ModuleID != sim.DefaultModuleID || string(got.PublicKey) != "pk" {
		t.Fatalf("Verify returned %+v", got)
	}
	// Default leaf: valid from a minute before to three hours after the document.
	_, raw, err := nitro.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(raw.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if lifetime := leaf.NotAfter.Sub(leaf.NotBefore); lifetime != sim.DefaultLeafLifetime+time.Minute {
		t.Errorf("leaf valid for %v, want %v plus a minute's backdating", lifetime, sim.DefaultLeafLifetime)
	}
	if len(raw.CABundle) != 2 || !bytes.Equal(raw.CABundle[0], ca.Root().Raw) || !bytes.Equal(raw.CABundle[1], ca.Intermediate().Raw) {
		t.Error("cabundle is not [root, intermediate]")
	}
	// Each document has its own leaf key.
	doc2, err := a.Attest(context.Background(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, raw2, err := nitro.Decode(doc2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(raw.Certificate, raw2.Certificate) {
		t.Error("two documents share a leaf certificate")
	}
}

func TestAttestRefuses(t *testing.T) {
	ca := newCA(t)
	pcrs := sim.MeasurementOf(nil)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name     string
		attester *sim.Attester
		ctx      context.Context
		key      []byte
		msg      string
	}{
		{"no CA", &sim.Attester{PCRs: pcrs}, context.Background(), nil, "no CA"},
		{"no PCRs", &sim.Attester{CA: ca}, context.Background(), nil, "no PCRs"},
		{"key too long", &sim.Attester{CA: ca, PCRs: pcrs}, context.Background(), make([]byte, 1025), "public_key is 1025 bytes"},
		{"canceled", &sim.Attester{CA: ca, PCRs: pcrs}, canceled, nil, "context canceled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.attester.Attest(tc.ctx, tc.key, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Attest: %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ca := newCA(t)
	dir := caDir(t)
	if err := ca.Save(dir); err != nil {
		t.Fatalf("Save: %v", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %04o, want 0700", perm)
	}
	for _, name := range []string{sim.RootFile, sim.IntermediateFile, sim.IntermediateKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %04o, want 0600", name, perm)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("directory holds %d entries, want 3 (temporary files left behind?)", len(entries))
	}

	loaded, err := sim.LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if !bytes.Equal(loaded.Root().Raw, ca.Root().Raw) || !bytes.Equal(loaded.Intermediate().Raw, ca.Intermediate().Raw) {
		t.Fatal("loaded CA differs from the saved one")
	}
	root, err := sim.LoadRoot(dir)
	if err != nil {
		t.Fatalf("LoadRoot: %v", err)
	}
	if !bytes.Equal(root.Raw, ca.Root().Raw) {
		t.Fatal("LoadRoot returned another root")
	}

	// A document from the loaded CA verifies against the root loaded on its own, as in the
	// devnet where enclaves and verifiers are separate processes.
	pcrs := sim.MeasurementOf([]byte("binary"))
	doc, err := (&sim.Attester{CA: loaded, PCRs: pcrs}).Attest(context.Background(), []byte("pk"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := nitro.NewVerifier([]*x509.Certificate{root}, attestation.Policy{Measurements: pcrs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(doc, time.Now()); err != nil {
		t.Fatalf("Verify with the loaded root: %v", err)
	}

	// Saving again replaces the files atomically.
	if err := newCA(t).Save(dir); err != nil {
		t.Fatalf("Save over an existing CA: %v", err)
	}
	again, err := sim.LoadRoot(dir)
	if err != nil || bytes.Equal(again.Raw, ca.Root().Raw) {
		t.Fatalf("after saving another CA, LoadRoot = %v, %v", again, err)
	}
}

func TestLoadRefusesExposedKey(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := caDir(t)
			if err := newCA(t).Save(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, sim.IntermediateKeyFile), mode); err != nil {
				t.Fatal(err)
			}
			_, err := sim.LoadCA(dir)
			if err == nil || !strings.Contains(err.Error(), "refusing a key that group or others can access") {
				t.Fatalf("LoadCA with key mode %04o: %v", mode, err)
			}
			// The root alone is public and still loads.
			if _, err := sim.LoadRoot(dir); err != nil {
				t.Fatalf("LoadRoot: %v", err)
			}
		})
	}
}

func TestSaveRefusesOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := newCA(t).Save(dir)
	if err == nil || !strings.Contains(err.Error(), "has mode 0755, want 0700") {
		t.Fatalf("Save into a 0755 directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, sim.IntermediateKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("Save wrote the key anyway: %v", err)
	}
}

func TestLoadRefusesMismatchedFiles(t *testing.T) {
	dirA, dirB := caDir(t), caDir(t)
	if err := newCA(t).Save(dirA); err != nil {
		t.Fatal(err)
	}
	if err := newCA(t).Save(dirB); err != nil {
		t.Fatal(err)
	}
	copyFile := func(name string) {
		data, err := os.ReadFile(filepath.Join(dirB, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirA, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(sim.IntermediateKeyFile)
	if _, err := sim.LoadCA(dirA); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("LoadCA with another CA's key: %v", err)
	}
	copyFile(sim.IntermediateFile)
	if _, err := sim.LoadCA(dirA); err == nil || !strings.Contains(err.Error(), "not signed by the root") {
		t.Fatalf("LoadCA with another CA's intermediate: %v", err)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		content string
		msg     string
	}{
		{"root missing PEM", sim.RootFile, "garbage", "no PEM block"},
		{"root is a key", sim.RootFile, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", `PEM block is "PRIVATE KEY", want "CERTIFICATE"`},
		{"root with trailing data", sim.RootFile, "", "data after the CERTIFICATE PEM block"},
		{"key not PKCS8", sim.IntermediateKeyFile, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "sim CA load"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := caDir(t)
			if err := newCA(t).Save(dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.file)
			content := []byte(tc.content)
			if len(content) == 0 {
				old, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				content = append(old, "trailing"...)
			}
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := sim.LoadCA(dir)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("LoadCA: %v, want %q", err, tc.msg)
			}
		})
	}
	if _, err := sim.LoadCA(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("LoadCA of a missing directory succeeded")
	}
}
