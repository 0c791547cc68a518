package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mpcsigner/mpcsigner/attestation"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// KMSClient is the part of the AWS KMS API the KMS sealer uses; *kms.Client satisfies it.
type KMSClient interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMSClient = (*kms.Client)(nil)

// Errors of the KMS sealer, besides ErrEnvelope (kms_cms.go) and ErrKeySize.
var (
	// ErrKMSPlaintext means KMS returned the data key in Plaintext, where the host could read
	// it. KMS leaves Plaintext empty when a request carries a Recipient; a response that has it
	// comes from a misconfigured or fake KMS, and the key it names must be considered exposed.
	ErrKMSPlaintext = errors.New("KMS returned the data key in plaintext")

	// ErrKMSResponse means a KMS response lacks what an attested request must get back (the
	// encrypted blob, or the envelope for the enclave).
	ErrKMSResponse = errors.New("KMS response incomplete")

	// ErrBlob means the file that should hold the encrypted data key is not one: not a regular
	// file, empty, or larger than any KMS ciphertext.
	ErrBlob = errors.New("not a KMS data key blob")
)

// Limits and fixed parameters of the KMS sealer.
const (
	// recipientKeyBits is the size of the enclave's throw-away RSA key; KMS accepts 2048 and up.
	recipientKeyBits = 2048
	// maxBlobSize is the largest CiphertextBlob KMS produces (6144 bytes, per its API reference).
	maxBlobSize = 6144
	// kmsUserData labels the attestation document the enclave sends KMS, so that it cannot be
	// taken for an attestation of the enclave's Noise key.
	kmsUserData = "mpcsigner/v1 kms recipient"
	// kmsContextKey and kmsContextValue are the encryption context of every data key; a key
	// policy can require them (kms:EncryptionContext:purpose).
	kmsContextKey   = "purpose"
	kmsContextValue = "mpcsigner-store-data-key"
)

// kmsEncryptionContext is bound into every data key blob: KMS decrypts a blob only with the same
// context, so a ciphertext made under the same KMS key for another purpose is not accepted as a
// sealing key, and the key policy can require it.
func kmsEncryptionContext() map[string]string {
	return map[string]string{kmsContextKey: kmsContextValue}
}

// KMS is the production Sealer: the data key is an AWS KMS data key, released only to an
// enclave whose attestation KMS accepts (the key policy's kms:RecipientAttestation conditions).
//
// On each DataKey call the enclave makes an RSA-2048 key pair in memory, attests to its public
// key (DER SubjectPublicKeyInfo) with Attester, and sends the document as the request's
// Recipient. KMS answers with CiphertextForRecipient, a CMS envelope only that private key
// opens; the plaintext key never crosses the host. The first start (no file at BlobPath) calls
// GenerateDataKey and keeps the encrypted key (CiphertextBlob, useless without KMS and a good
// attestation) at BlobPath; later starts call Decrypt on it.
//
// Client must reach KMS over TLS that ends inside the enclave (the host's vsock-proxy forwards
// bytes only; NewKMSClient builds such a client): the envelope has no integrity of its own, so
// a host that could answer in KMS's place could hand the enclave a data key of its choosing.
type KMS struct {
	Client KMSClient
	// KeyID is the KMS key (id, ARN or alias) that makes and opens the data key.
	KeyID string
	// BlobPath is where the encrypted data key is kept: written once, atomically, mode 0600,
	// in a directory private to the enclave's user. Used when Blobs is nil.
	BlobPath string
	// Blobs, when set, keeps the encrypted data key instead of a file at BlobPath: a Nitro
	// enclave, which has no disk, has its host keep it. The blob is useless without KMS and an
	// attestation the key policy accepts, so an untrusted keeper can lose it (deny service) but
	// not use it.
	Blobs BlobStore
	// Attester attests the enclave's recipient key for KMS.
	Attester attestation.Attester
}

// BlobStore keeps the KMS-encrypted data key between starts.
type BlobStore interface {
	// Blob returns the saved blob, or an error wrapping fs.ErrNotExist if none was saved.
	Blob(ctx context.Context) ([]byte, error)
	// PublishBlob saves blob unless a blob is saved already (which must never be replaced: it
	// may be in use), and reports whether it saved this one.
	PublishBlob(ctx context.Context, blob []byte) (bool, error)
}

// fileBlobs is the BlobStore of a file at a path.
type fileBlobs struct{ path string }

func (f fileBlobs) Blob(context.Context) ([]byte, error) { return readBlob(f.path) }

func (f fileBlobs) PublishBlob(_ context.Context, blob []byte) (bool, error) {
	return publishBlob(f.path, blob)
}

// blobs returns where k keeps its blob.
func (k KMS) blobs() BlobStore {
	if k.Blobs != nil {
		return checkedBlobs{k.Blobs}
	}
	return fileBlobs{k.BlobPath}
}

// checkedBlobs applies the file's size rule to a blob from another keeper.
type checkedBlobs struct{ BlobStore }

func (c checkedBlobs) Blob(ctx context.Context) ([]byte, error) {
	blob, err := c.BlobStore.Blob(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal: KMS data key blob: %w", err)
	}
	if len(blob) == 0 || len(blob) > maxBlobSize {
		return nil, fmt.Errorf("seal: the KMS data key blob handed back is %d bytes, want 1 to %d: %w", len(blob), maxBlobSize, ErrBlob)
	}
	return blob, nil
}

var _ Sealer = KMS{}

// DataKey returns the data key, generating and saving it on first use.
func (k KMS) DataKey(ctx context.Context) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := k.check(ctx); err != nil {
		return nil, err
	}
	blobs := k.blobs()
	blob, err := blobs.Blob(ctx)
	if err != nil && !isNotExist(err) {
		return nil, err
	}
	r, err := k.newRecipient(ctx)
	if err != nil {
		return nil, err
	}
	if blob != nil {
		return k.decrypt(ctx, r, blob)
	}
	key, blob, err := k.generate(ctx, r)
	if err != nil {
		return nil, err
	}
	saved, err := blobs.PublishBlob(ctx, blob)
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("seal: keep the new KMS data key blob: %w", err)
	}
	if saved {
		return key, nil
	}
	// Another process saved its key first: that one is the enclave's key from now on.
	clear(key)
	if blob, err = blobs.Blob(ctx); err != nil {
		return nil, err
	}
	return k.decrypt(ctx, r, blob)
}

// check refuses an incomplete KMS sealer or a finished ctx.
func (k KMS) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("seal: KMS data key: %w", err)
	}
	var missing []string
	if k.Client == nil {
		missing = append(missing, "a KMS client")
	}
	if k.KeyID == "" {
		missing = append(missing, "the KMS key id (sealer.kms.key_id)")
	}
	if k.BlobPath == "" && k.Blobs == nil {
		missing = append(missing, "the data key blob path (sealer.kms.blob_path)")
	}
	if k.Attester == nil {
		missing = append(missing, "an attester")
	}
	if len(missing) > 0 {
		return fmt.Errorf("seal: KMS sealer is missing %s: configure them", strings.Join(missing, ", "))
	}
	return nil
}

// recipient is the enclave's side of one attested KMS request.
type recipient struct {
	key  *rsa.PrivateKey
	info *types.RecipientInfo
}

// newRecipient makes the throw-away RSA key and attests to it.
func (k KMS) newRecipient(ctx context.Context) (*recipient, error) {
	priv, err := rsa.GenerateKey(rand.Reader, recipientKeyBits)
	if err != nil {
		return nil, fmt.Errorf("seal: make the KMS recipient key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("seal: encode the KMS recipient key: %w", err)
	}
	doc, err := k.Attester.Attest(ctx, spki, []byte(kmsUserData), nil)
	if err != nil {
		return nil, fmt.Errorf("seal: attest the KMS recipient key with %s: %w", k.Attester.Kind(), err)
	}
	return &recipient{key: priv, info: &types.RecipientInfo{
		KeyEncryptionAlgorithm: types.KeyEncryptionMechanismRsaesOaepSha256,
		AttestationDocument:    doc,
	}}, nil
}

// generate asks KMS for a new data key for r and returns it with its encrypted blob.
func (k KMS) generate(ctx context.Context, r *recipient) (key, blob []byte, err error) {
	out, err := k.Client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             &k.KeyID,
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: kmsEncryptionContext(),
		Recipient:         r.info,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("seal: KMS GenerateDataKey with key %s: %w", k.KeyID, err)
	}
	if out == nil {
		return nil, nil, fmt.Errorf("seal: KMS GenerateDataKey returned nothing: %w", ErrKMSResponse)
	}
	if len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxBlobSize {
		return nil, nil, fmt.Errorf("seal: KMS GenerateDataKey returned a %d-byte CiphertextBlob, want 1 to %d: %w",
			len(out.CiphertextBlob), maxBlobSize, ErrKMSResponse)
	}
	key, err = openRecipient("GenerateDataKey", r, out.Plaintext, out.CiphertextForRecipient)
	if err != nil {
		return nil, nil, err
	}
	return key, bytes.Clone(out.CiphertextBlob), nil
}

// decrypt asks KMS to release the data key in blob to r.
func (k KMS) decrypt(ctx context.Context, r *recipient, blob []byte) ([]byte, error) {
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    blob,
		KeyId:             &k.KeyID,
		EncryptionContext: kmsEncryptionContext(),
		Recipient:         r.info,
	})
	if err != nil {
		return nil, fmt.Errorf("seal: KMS Decrypt of the data key blob with key %s: %w", k.KeyID, err)
	}
	if out == nil {
		return nil, fmt.Errorf("seal: KMS Decrypt returned nothing: %w", ErrKMSResponse)
	}
	return openRecipient("Decrypt", r, out.Plaintext, out.CiphertextForRecipient)
}

// openRecipient checks a response's key fields and opens its envelope with r's key.
func openRecipient(op string, r *recipient, plaintext, forRecipient []byte) ([]byte, error) {
	if len(plaintext) != 0 {
		clear(plaintext)
		return nil, fmt.Errorf("seal: KMS %s returned the data key in Plaintext, outside the envelope for the enclave: "+
			"refusing a key the host may have seen; check what answers as KMS: %w", op, ErrKMSPlaintext)
	}
	if len(forRecipient) == 0 {
		return nil, fmt.Errorf("seal: KMS %s returned no CiphertextForRecipient: %w", op, ErrKMSResponse)
	}
	key, err := openEnvelope(r.key, forRecipient)
	if err != nil {
		return nil, fmt.Errorf("seal: KMS %s: %w", op, err)
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("seal: KMS %s released a %d-byte key, want %d: is the KMS key set up for AES_256 data keys? %w",
			op, len(key), KeySize, ErrKeySize)
	}
	return key, nil
}

// readBlob reads the data key blob at path. If there is none the error wraps fs.ErrNotExist.
func readBlob(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("seal: KMS data key blob %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: KMS data key blob %s is not a regular file (mode %s): %w", path, fi.Mode(), ErrBlob)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: open KMS data key blob: %w", err)
	}
	defer f.Close()
	blob, err := io.ReadAll(io.LimitReader(f, maxBlobSize+1))
	if err != nil {
		return nil, fmt.Errorf("seal: read KMS data key blob %s: %w", path, err)
	}
	if len(blob) == 0 || len(blob) > maxBlobSize {
		return nil, fmt.Errorf("seal: KMS data key blob %s is %d bytes, want 1 to %d: restore it from backup, "+
			"or move it away to make a new key (the store sealed under the old one then becomes unreadable): %w",
			path, len(blob), maxBlobSize, ErrBlob)
	}
	return blob, nil
}

// publishBlob saves blob at path unless a blob is already there. It reports whether it saved
// this one.
func publishBlob(path string, blob []byte) (bool, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return false, fmt.Errorf("seal: KMS data key blob path %q names a directory: give a file path", path)
	}
	if dir == "" {
		dir = "."
	}
	if err := ensurePrivateDir(dir); err != nil {
		return false, err
	}
	tmp, err := durable.WriteTemp(dir, base, blob, 0o600)
	if err != nil {
		return false, fmt.Errorf("seal: write KMS data key blob %s: %w", path, err)
	}
	defer os.Remove(tmp)
	// Link, not rename: link fails if path exists, so a blob another process saved (and whose
	// key it may already be using) is never replaced.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("seal: install KMS data key blob %s: %w", path, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return false, fmt.Errorf("seal: KMS data key blob %s saved but not yet durable: %w", path, err)
	}
	return true, nil
}
