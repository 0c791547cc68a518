package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

const testKeyID = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001"

// kmsFixture is a sim CA, an enclave attester with the allowed measurement, and a fake KMS
// whose key policy (a Nitro verifier with the CA's root) allows exactly that measurement.
type kmsFixture struct {
	ca       *sim.CA
	allowed  map[int][]byte
	attester *sim.Attester
	kms      *FakeKMS
	dir      string
}

var (
	fixtureCA     *sim.CA
	fixtureCAErr  error
	fixtureCAOnce sync.Once
)

func newKMSFixture(t testing.TB) *kmsFixture {
	t.Helper()
	fixtureCAOnce.Do(func() { fixtureCA, fixtureCAErr = sim.NewCA() })
	if fixtureCAErr != nil {
		t.Fatalf("sim.NewCA: %v", fixtureCAErr)
	}
	allowed := sim.MeasurementOf([]byte("the enclave image"))
	v, err := nitro.NewVerifier([]*x509.Certificate{fixtureCA.Root()}, attestation.Policy{Measurements: map[int][]byte{0: allowed[0]}})
	if err != nil {
		t.Fatalf("nitro.NewVerifier: %v", err)
	}
	return &kmsFixture{
		ca:       fixtureCA,
		allowed:  allowed,
		attester: &sim.Attester{CA: fixtureCA, PCRs: allowed},
		kms:      NewFakeKMS(testKeyID, v),
		dir:      filepath.Join(t.TempDir(), "sealed"),
	}
}

// sealer is an enclave start: a KMS sealer on the fixture's KMS and blob path.
func (f *kmsFixture) sealer(a attestation.Attester) KMS {
	return KMS{Client: f.kms, KeyID: testKeyID, BlobPath: filepath.Join(f.dir, "data-key.kms"), Attester: a}
}

func TestKMSFirstAndLaterStarts(t *testing.T) {
	f := newKMSFixture(t)
	s := f.sealer(f.attester)

	first, err := s.DataKey(t.Context())
	if err != nil {
		t.Fatalf("first start: DataKey = %v", err)
	}
	if len(first) != KeySize {
		t.Fatalf("first start: key is %d bytes, want %d", len(first), KeySize)
	}
	fi, err := os.Stat(s.BlobPath)
	if err != nil {
		t.Fatalf("first start saved no blob: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("blob mode %04o, want 0600", fi.Mode().Perm())
	}
	if g, d := f.kms.Calls(); g != 1 || d != 0 {
		t.Errorf("after the first start KMS saw %d GenerateDataKey and %d Decrypt, want 1 and 0", g, d)
	}

	for i := range 2 {
		again, err := f.sealer(f.attester).DataKey(t.Context())
		if err != nil {
			t.Fatalf("start %d: DataKey = %v", i+2, err)
		}
		if !bytes.Equal(again, first) {
			t.Fatalf("start %d: a different data key: the sealed store would be unreadable", i+2)
		}
	}
	if g, d := f.kms.Calls(); g != 1 || d != 2 {
		t.Errorf("after three starts KMS saw %d GenerateDataKey and %d Decrypt, want 1 and 2", g, d)
	}
}

func TestKMSMeasurementNotAllowed(t *testing.T) {
	f := newKMSFixture(t)
	other := &sim.Attester{CA: f.ca, PCRs: sim.MeasurementOf([]byte("another image"))}
	key, err := f.sealer(other).DataKey(t.Context())
	if !errors.Is(err, attestation.ErrMeasurement) || key != nil {
		t.Fatalf("DataKey with a measurement the key policy does not allow = %d bytes, %v; want no key and ErrMeasurement", len(key), err)
	}
	assertNoBlob(t, f)

	// An enclave that was allowed once and is now changed gets nothing either.
	if _, err := f.sealer(f.attester).DataKey(t.Context()); err != nil {
		t.Fatalf("allowed enclave: DataKey = %v", err)
	}
	if key, err := f.sealer(other).DataKey(t.Context()); !errors.Is(err, attestation.ErrMeasurement) || key != nil {
		t.Fatalf("changed enclave on an existing blob: DataKey = %d bytes, %v; want no key and ErrMeasurement", len(key), err)
	}
}

// otherKeyAttester attests a different RSA key than the one it is given, as a confused or
// replaying attester would: KMS encrypts to the attested key, which the enclave does not hold.
type otherKeyAttester struct {
	attestation.Attester
	spki []byte
}

func (a otherKeyAttester) Attest(ctx context.Context, _, userData, nonce []byte) ([]byte, error) {
	return a.Attester.Attest(ctx, a.spki, userData, nonce)
}

func TestKMSDocumentForAnotherKey(t *testing.T) {
	f := newKMSFixture(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.sealer(otherKeyAttester{f.attester, spki}).DataKey(t.Context())
	if !errors.Is(err, ErrEnvelope) || key != nil {
		t.Fatalf("DataKey with a document for another key = %d bytes, %v; want no key and ErrEnvelope", len(key), err)
	}
	assertNoBlob(t, f)
}

func TestKMSTamperedBlob(t *testing.T) {
	f := newKMSFixture(t)
	s := f.sealer(f.attester)
	if _, err := s.DataKey(t.Context()); err != nil {
		t.Fatalf("first start: %v", err)
	}
	good, err := os.ReadFile(s.BlobPath)
	if err != nil {
		t.Fatal(err)
	}
	var invalid *types.InvalidCiphertextException
	cases := []struct {
		name string
		blob []byte
		want func(error) bool
	}{
		{"flipped byte", flip(good, len(good)/2), func(err error) bool { return errors.As(err, &invalid) }},
		{"truncated", good[:len(good)-1], func(err error) bool { return errors.As(err, &invalid) }},
		{"empty", nil, func(err error) bool { return errors.Is(err, ErrBlob) }},
		{"oversized", make([]byte, maxBlobSize+1), func(err error) bool { return errors.Is(err, ErrBlob) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(s.BlobPath, tc.blob, 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := s.DataKey(t.Context())
			if key != nil || !tc.want(err) {
				t.Fatalf("DataKey on a %s blob = %d bytes, %v", tc.name, len(key), err)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if err := os.Remove(s.BlobPath); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(s.BlobPath, 0o700); err != nil {
			t.Fatal(err)
		}
		if key, err := s.DataKey(t.Context()); key != nil || !errors.Is(err, ErrBlob) {
			t.Fatalf("DataKey with a directory at the blob path = %d bytes, %v; want ErrBlob", len(key), err)
		}
	})
}

func TestKMSEncryptionContext(t *testing.T) {
	f := newKMSFixture(t)
	s := f.sealer(f.attester)
	if _, err := s.DataKey(t.Context()); err != nil {
		t.Fatalf("first start: %v", err)
	}
	blob, err := os.ReadFile(s.BlobPath)
	if err != nil {
		t.Fatal(err)
	}
	// The blob opens only with the sealer's encryption context (KMS behaves the same way).
	_, err = f.kms.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: blob, KeyId: ptr(testKeyID)})
	var invalid *types.InvalidCiphertextException
	if !errors.As(err, &invalid) {
		t.Fatalf("Decrypt without the encryption context = %v, want InvalidCiphertextException", err)
	}
}

func TestKMSPlaintextRefused(t *testing.T) {
	f := newKMSFixture(t)
	f.kms.ReturnPlaintext = true
	s := f.sealer(f.attester)
	if key, err := s.DataKey(t.Context()); !errors.Is(err, ErrKMSPlaintext) || key != nil {
		t.Fatalf("first start, KMS answering with Plaintext: DataKey = %d bytes, %v; want ErrKMSPlaintext", len(key), err)
	}
	assertNoBlob(t, f)

	f.kms.ReturnPlaintext = false
	if _, err := s.DataKey(t.Context()); err != nil {
		t.Fatalf("first start: %v", err)
	}
	f.kms.ReturnPlaintext = true
	if key, err := s.DataKey(t.Context()); !errors.Is(err, ErrKMSPlaintext) || key != nil {
		t.Fatalf("later start, KMS answering with Plaintext: DataKey = %d bytes, %v; want ErrKMSPlaintext", len(key), err)
	}
}

// strippingKMS drops fields from a good KMS's answers.
type strippingKMS struct {
	KMSClient
	noBlob, noEnvelope bool
}

func (s strippingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	out, err := s.KMSClient.GenerateDataKey(ctx, in, o...)
	if err == nil && s.noBlob {
		out.CiphertextBlob = nil
	}
	if err == nil && s.noEnvelope {
		out.CiphertextForRecipient = nil
	}
	return out, err
}

func (s strippingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	out, err := s.KMSClient.Decrypt(ctx, in, o...)
	if err == nil && s.noEnvelope {
		out.CiphertextForRecipient = nil
	}
	return out, err
}

func TestKMSIncompleteResponse(t *testing.T) {
	for name, client := range map[string]strippingKMS{
		"no CiphertextBlob":         {noBlob: true},
		"no CiphertextForRecipient": {noEnvelope: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := newKMSFixture(t)
			s := f.sealer(f.attester)
			client.KMSClient = f.kms
			s.Client = client
			if key, err := s.DataKey(t.Context()); !errors.Is(err, ErrKMSResponse) || key != nil {
				t.Fatalf("DataKey = %d bytes, %v; want ErrKMSResponse", len(key), err)
			}
			assertNoBlob(t, f)
		})
	}
}

func TestKMSConfiguration(t *testing.T) {
	f := newKMSFixture(t)
	good := f.sealer(f.attester)
	cases := map[string]KMS{
		"no client":    {KeyID: good.KeyID, BlobPath: good.BlobPath, Attester: good.Attester},
		"no key id":    {Client: good.Client, BlobPath: good.BlobPath, Attester: good.Attester},
		"no blob path": {Client: good.Client, KeyID: good.KeyID, Attester: good.Attester},
		"no attester":  {Client: good.Client, KeyID: good.KeyID, BlobPath: good.BlobPath},
		"other key id": {Client: good.Client, KeyID: "alias/other", BlobPath: good.BlobPath, Attester: good.Attester},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if key, err := s.DataKey(t.Context()); err == nil || key != nil {
				t.Fatalf("DataKey = %d bytes, %v; want an error", len(key), err)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := good.DataKey(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("DataKey(cancelled) = %v, want context.Canceled", err)
		}
	})
}

// TestKMSConcurrentFirstStart starts two enclaves on one empty blob path at once: both must end
// with the same key, the one whose blob was saved.
func TestKMSConcurrentFirstStart(t *testing.T) {
	f := newKMSFixture(t)
	keys := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = f.sealer(f.attester).DataKey(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	if !bytes.Equal(keys[0], keys[1]) {
		t.Fatal("two concurrent first starts ended with different keys")
	}
	later, err := f.sealer(f.attester).DataKey(t.Context())
	if err != nil || !bytes.Equal(later, keys[0]) {
		t.Fatalf("a later start: %v, same key %v", err, bytes.Equal(later, keys[0]))
	}
}

// assertNoBlob fails if a refused start left a blob behind.
func assertNoBlob(t *testing.T, f *kmsFixture) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(f.dir, "data-key.kms")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused start left a blob (stat: %v)", err)
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}
