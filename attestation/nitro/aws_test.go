package nitro_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
)

// awsVectors returns the AWS Nitro root and a document a production Nitro Enclave emitted
// (ap-southeast-2, 2026-02-06), from $MPCSIGNER_VECTORS/nitro/. They are public, third-party
// test material, kept outside the project like every shared vector; without them these tests
// skip and say so.
func awsVectors(t testing.TB) (*x509.Certificate, []byte) {
	t.Helper()
	dir := os.Getenv("MPCSIGNER_VECTORS")
	if dir == "" {
		t.Skip("MPCSIGNER_VECTORS is not set: not verifying a real AWS Nitro document against the AWS root")
	}
	rootPath := filepath.Join(dir, "nitro", "aws-nitro-root-g1.pem")
	docPath := filepath.Join(dir, "nitro", "aws_nitro_document_2026-02-06.b64")
	if _, err := os.Stat(rootPath); err != nil {
		t.Skipf("no %s: not verifying a real AWS Nitro document against the AWS root", rootPath)
	}
	root, err := nitro.LoadAWSRoot(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	b64, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b64)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return root, doc
}

func TestLoadAWSRootChecksTheFingerprint(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Root().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := nitro.LoadAWSRoot(path); !errors.Is(err, nitro.ErrNotAWSRoot) {
		t.Fatalf("a sim root offered as the AWS root: %v, want ErrNotAWSRoot", err)
	}
	if err := os.WriteFile(path, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := nitro.LoadAWSRoot(path); !errors.Is(err, nitro.ErrNotAWSRoot) {
		t.Fatalf("garbage offered as the AWS root: %v, want ErrNotAWSRoot", err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyRealAWSDocument(t *testing.T) {
	root, doc := awsVectors(t)
	pcr0 := mustHex(t, "6165855369654a587bdad59fa532f430d7defa38ecf57eeac6d29c7e87a32b621891862d04fb64423f6bb1e1626fc026")
	pcr1 := mustHex(t, "4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493")
	pcr2 := mustHex(t, "a50f214952d1cc168b04da54db1b163a86e5ffefec223b7b640df88b665c3db745e9a6865a7db265374239fd264a5522")
	policy := attestation.Policy{Measurements: map[int][]byte{0: pcr0, 1: pcr1, 2: pcr2}}
	aws := verifierWith(t, []*x509.Certificate{root}, policy)
	issued := time.UnixMilli(1770366258452) // the document's timestamp

	got, err := aws.Verify(doc, issued.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify(real AWS document): %v", err)
	}
	if got.ModuleID != "i-0761a4cbcc7632aef-enc019c320cb32f6b7a" || !got.Timestamp.Equal(issued) ||
		got.PublicKey != nil || len(got.Nonce) != 32 || len(got.UserData) != 289 || len(got.Measurements) != 16 {
		t.Fatalf("Verify returned %+v", got)
	}
	if want := time.Date(2026, 2, 6, 11, 24, 18, 0, time.UTC); !got.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", got.NotAfter, want)
	}

	t.Run("after the leaf expired", func(t *testing.T) {
		_, err := aws.Verify(doc, time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC))
		checkRejected(t, err, attestation.ErrChain, "leaf certificate (CN=i-0761a4cbcc7632aef-enc019c320cb32f6b7a.ap-southeast-2.aws) expired at 2026-02-06T11:24:18Z")
	})
	t.Run("stale", func(t *testing.T) {
		_, err := aws.Verify(doc, issued.Add(11*time.Minute))
		checkRejected(t, err, attestation.ErrStale, "old at")
	})
	t.Run("other PCR0 pinned", func(t *testing.T) {
		other := attestation.Policy{Measurements: map[int][]byte{0: pcr1}}
		_, err := verifierWith(t, []*x509.Certificate{root}, other).Verify(doc, issued.Add(time.Minute))
		checkRejected(t, err, attestation.ErrMeasurement, "PCR0 is 6165855369654a58")
	})
	t.Run("sim root pinned", func(t *testing.T) {
		f := newFixture(t)
		_, err := verifierWith(t, []*x509.Certificate{f.ca.Root()}, policy).Verify(doc, issued.Add(time.Minute))
		checkRejected(t, err, attestation.ErrChain, "untrusted root: cabundle[0] (CN=aws.nitro-enclaves) is not one of the 1 pinned root certificates")
	})
	t.Run("user_data byte flipped", func(t *testing.T) {
		tampered := []byte(string(doc))
		i := strings.Index(string(doc), `"output_hash"`)
		tampered[i+3] ^= 0x01
		_, err := aws.Verify(tampered, issued.Add(time.Minute))
		checkRejected(t, err, attestation.ErrSignature, "does not verify")
	})
}
