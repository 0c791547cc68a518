package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// FakeKMS is a test double for AWS KMS, for tests of the KMS sealer here and of enclaves that use
// it. It must never serve a real deployment: its master key lives in this process's memory.
//
// It holds one symmetric key, named KeyID. Before it releases anything to a Recipient it checks
// the attestation document with Verifier (whose policy plays the part of the key policy's
// kms:RecipientAttestation conditions) and then wraps the data key in a real CMS EnvelopedData
// for exactly the RSA key the document attests, shaped as KMS shapes it (BER with indefinite
// lengths, RSAES-OAEP with SHA-256, AES-256-CBC content in OCTET STRING chunks), so the
// enclave's parser meets real structures. Like KMS, it returns Plaintext only to a request
// without a Recipient, and opens a CiphertextBlob only with the encryption context it was made
// with.
type FakeKMS struct {
	// KeyID is the only key id it knows.
	KeyID string
	// Verifier checks recipients' attestation documents.
	Verifier attestation.Verifier
	// Now is its clock for verification; nil means time.Now.
	Now func() time.Time
	// ReturnPlaintext makes it misbehave as a misconfigured KMS (or something posing as one)
	// would: it also puts the data key in Plaintext when there is a Recipient.
	ReturnPlaintext bool

	mu       sync.Mutex
	master   []byte
	generate int
	decrypt  int
	requests []FakeKMSRequest // seen over HTTP (kmsfake_http.go)
}

var _ KMSClient = (*FakeKMS)(nil)

// NewFakeKMS returns a FakeKMS for keyID that releases keys to documents v accepts.
func NewFakeKMS(keyID string, v attestation.Verifier) *FakeKMS {
	return &FakeKMS{KeyID: keyID, Verifier: v}
}

// Calls returns how many GenerateDataKey and Decrypt requests succeeded.
func (f *FakeKMS) Calls() (generate, decrypt int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.generate, f.decrypt
}

// fakeBlobVersion starts every FakeKMS ciphertext blob.
const fakeBlobVersion = 1

// GenerateDataKey makes a 32-byte data key.
func (f *FakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if in == nil {
		return nil, errNoInput
	}
	if err := f.checkRequest(ctx, in.KeyId); err != nil {
		return nil, err
	}
	if in.KeySpec != types.DataKeySpecAes256 {
		return nil, fmt.Errorf("fake KMS: ValidationException: KeySpec %q, this fake makes only %q", in.KeySpec, types.DataKeySpecAes256)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	_, _ = rand.Read(key)
	blob, err := f.wrap(key, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	out := &kms.GenerateDataKeyOutput{KeyId: &f.KeyID, CiphertextBlob: blob}
	if out.Plaintext, out.CiphertextForRecipient, err = f.release(in.Recipient, key); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.generate++
	f.mu.Unlock()
	return out, nil
}

// Decrypt opens a blob GenerateDataKey made.
func (f *FakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	if in == nil {
		return nil, errNoInput
	}
	if err := f.checkRequest(ctx, in.KeyId); err != nil {
		return nil, err
	}
	key, err := f.unwrap(in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	out := &kms.DecryptOutput{KeyId: &f.KeyID}
	if out.Plaintext, out.CiphertextForRecipient, err = f.release(in.Recipient, key); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.decrypt++
	f.mu.Unlock()
	return out, nil
}

var errNoInput = errors.New("fake KMS: ValidationException: no input")

// checkRequest refuses a finished ctx and another key id.
func (f *FakeKMS) checkRequest(ctx context.Context, keyID *string) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if keyID != nil && *keyID != f.KeyID {
		return &types.NotFoundException{Message: ptr(fmt.Sprintf("fake KMS: key %q does not exist (only %q)", *keyID, f.KeyID))}
	}
	return nil
}

// release returns the data key as KMS would: in plaintext without a recipient, else in an
// envelope for the attested key (and, if ReturnPlaintext, wrongly also in plaintext).
func (f *FakeKMS) release(r *types.RecipientInfo, key []byte) (plaintext, forRecipient []byte, err error) {
	if r == nil {
		return bytes.Clone(key), nil, nil
	}
	pub, err := f.recipientKey(r)
	if err != nil {
		return nil, nil, err
	}
	if forRecipient, err = sealEnvelope(pub, key, kmsEnvelopeSpec()); err != nil {
		return nil, nil, err
	}
	if f.ReturnPlaintext {
		plaintext = bytes.Clone(key)
	}
	return plaintext, forRecipient, nil
}

// recipientKey verifies the recipient's document and returns the RSA key it attests: the only
// key this fake will encrypt to.
func (f *FakeKMS) recipientKey(r *types.RecipientInfo) (*rsa.PublicKey, error) {
	if r.KeyEncryptionAlgorithm != types.KeyEncryptionMechanismRsaesOaepSha256 {
		return nil, fmt.Errorf("fake KMS: ValidationException: KeyEncryptionAlgorithm %q, want %q",
			r.KeyEncryptionAlgorithm, types.KeyEncryptionMechanismRsaesOaepSha256)
	}
	if f.Verifier == nil {
		return nil, errors.New("fake KMS: no verifier configured: refusing every recipient")
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	doc, err := f.Verifier.Verify(r.AttestationDocument, now())
	if err != nil {
		return nil, fmt.Errorf("fake KMS: AccessDeniedException: the recipient's attestation does not satisfy the key policy: %w", err)
	}
	pk, err := x509.ParsePKIXPublicKey(doc.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("fake KMS: ValidationException: the attested public key is not a DER SubjectPublicKeyInfo: %v", err)
	}
	pub, ok := pk.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 || pub.N.BitLen() > 4096 {
		return nil, errors.New("fake KMS: ValidationException: the attested public key is not an RSA key of 2048 to 4096 bits")
	}
	return pub, nil
}

// wrap seals key under the master key, bound to the key id and encryption context.
func (f *FakeKMS) wrap(key []byte, ec map[string]string) ([]byte, error) {
	gcm, err := f.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	blob := append([]byte{fakeBlobVersion}, nonce...)
	return gcm.Seal(blob, nonce, key, f.blobAAD(ec)), nil
}

// unwrap opens a blob made by wrap with the same encryption context.
func (f *FakeKMS) unwrap(blob []byte, ec map[string]string) ([]byte, error) {
	gcm, err := f.gcm()
	if err != nil {
		return nil, err
	}
	invalid := &types.InvalidCiphertextException{Message: ptr("fake KMS: the ciphertext blob is not one of this key's, or its encryption context differs")}
	if len(blob) < 1+gcm.NonceSize() || blob[0] != fakeBlobVersion {
		return nil, invalid
	}
	nonce := blob[1 : 1+gcm.NonceSize()]
	key, err := gcm.Open(nil, nonce, blob[1+gcm.NonceSize():], f.blobAAD(ec))
	if err != nil {
		return nil, invalid
	}
	return key, nil
}

// gcm returns AES-GCM under the master key, made on first use.
func (f *FakeKMS) gcm() (cipher.AEAD, error) {
	f.mu.Lock()
	if f.master == nil {
		f.master = make([]byte, 32)
		_, _ = rand.Read(f.master)
	}
	master := f.master
	f.mu.Unlock()
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// blobAAD binds a blob to the key id and the encryption context (sorted, length-prefixed).
func (f *FakeKMS) blobAAD(ec map[string]string) []byte {
	aad := lengthPrefixed(nil, []byte(f.KeyID))
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		aad = lengthPrefixed(aad, []byte(k))
		aad = lengthPrefixed(aad, []byte(ec[k]))
	}
	return aad
}

func lengthPrefixed(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

func ptr[T any](v T) *T { return &v }

// envelopeSpec says how sealEnvelope shapes a CMS envelope. kmsEnvelopeSpec is what KMS sends;
// tests change single fields to make malformed envelopes.
type envelopeSpec struct {
	contentType    asn1.ObjectIdentifier // ContentInfo contentType
	version        int                   // EnvelopedData and KeyTransRecipientInfo version
	keyAlg         asn1.ObjectIdentifier
	oaepHash       asn1.ObjectIdentifier // nil leaves the OAEP hash at its SHA-1 default
	innerType      asn1.ObjectIdentifier // EncryptedContentInfo contentType
	contentAlg     asn1.ObjectIdentifier
	ivSize         int
	indefinite     bool // indefinite lengths on the outer structures, as KMS sends them
	chunk          int  // encrypted content in OCTET STRING chunks of this size; 0: one primitive [0]
	extraRecipient bool // a second KeyTransRecipientInfo
	// pad replaces PKCS#7 padding of the content.
	pad func(plain []byte) []byte
}

// kmsEnvelopeSpec is the shape of KMS's CiphertextForRecipient.
func kmsEnvelopeSpec() envelopeSpec {
	return envelopeSpec{
		contentType: oidEnvelopedData,
		version:     2,
		keyAlg:      oidRSAESOAEP,
		oaepHash:    oidSHA256,
		innerType:   oidData,
		contentAlg:  oidAES256CBC,
		ivSize:      aes.BlockSize,
		indefinite:  true,
		chunk:       1024,
		pad:         pkcs7Pad,
	}
}

// sealEnvelope encrypts plaintext for pub as a CMS EnvelopedData shaped by spec.
func sealEnvelope(pub *rsa.PublicKey, plaintext []byte, spec envelopeSpec) ([]byte, error) {
	cek := make([]byte, 32)
	defer clear(cek)
	_, _ = rand.Read(cek)
	encryptedKey, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, cek, nil)
	if err != nil {
		return nil, fmt.Errorf("fake KMS: wrap the content key: %w", err)
	}
	iv := make([]byte, spec.ivSize)
	_, _ = rand.Read(iv)
	padded := spec.pad(bytes.Clone(plaintext))
	defer clear(padded)
	if len(padded)%aes.BlockSize != 0 || len(iv) != aes.BlockSize {
		return nil, errors.New("fake KMS: content or IV is not a whole AES block")
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	ciphertext := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, padded)

	b := berBuilder{indefinite: spec.indefinite}
	// KMS identifies the recipient by a 32-byte subjectKeyIdentifier; a hash of the key will do.
	ski := sha256.Sum256(x509.MarshalPKCS1PublicKey(pub))
	ktri := b.definite(tagSequence,
		derInt(spec.version),
		b.definite(tagContext0Primitive, ski[:]),
		b.definite(tagSequence, derOID(spec.keyAlg), oaepParams(b, spec.oaepHash)),
		b.definite(tagOctetString, encryptedKey),
	)
	recipients := [][]byte{ktri}
	if spec.extraRecipient {
		recipients = append(recipients, ktri)
	}
	eci := b.outer(tagSequence,
		derOID(spec.innerType),
		b.definite(tagSequence, derOID(spec.contentAlg), b.definite(tagOctetString, iv)),
		encryptedContent(b, ciphertext, spec.chunk),
	)
	ed := b.outer(tagSequence, derInt(spec.version), b.definite(tagSet, recipients...), eci)
	return b.outer(tagSequence, derOID(spec.contentType), b.outer(tagContext0Constructed, ed)), nil
}

// oaepParams encodes RSAES-OAEP-params with hash for both the hash and MGF1 (nil: defaults).
func oaepParams(b berBuilder, hash asn1.ObjectIdentifier) []byte {
	if hash == nil {
		return b.definite(tagSequence)
	}
	alg := b.definite(tagSequence, derOID(hash), []byte{tagNull, 0})
	return b.definite(tagSequence,
		b.definite(tagContext0Constructed, alg),
		b.definite(tagContext1Constructed, b.definite(tagSequence, derOID(oidMGF1), alg)),
	)
}

// encryptedContent encodes [0] IMPLICIT OCTET STRING, in chunks if chunk > 0.
func encryptedContent(b berBuilder, ciphertext []byte, chunk int) []byte {
	if chunk <= 0 {
		return b.definite(tagContext0Primitive, ciphertext)
	}
	var parts [][]byte
	for c := range slices.Chunk(ciphertext, chunk) {
		parts = append(parts, b.definite(tagOctetString, c))
	}
	return b.outer(tagContext0Constructed, parts...)
}

// berBuilder encodes elements, with indefinite lengths on the outer structures if asked.
type berBuilder struct{ indefinite bool }

// definite encodes an element with a definite length.
func (berBuilder) definite(tag byte, content ...[]byte) []byte {
	body := bytes.Join(content, nil)
	return append(append([]byte{tag}, derLength(len(body))...), body...)
}

// outer encodes a constructed element with an indefinite length if b says so.
func (b berBuilder) outer(tag byte, content ...[]byte) []byte {
	if !b.indefinite {
		return b.definite(tag, content...)
	}
	out := []byte{tag, 0x80}
	for _, c := range content {
		out = append(out, c...)
	}
	return append(out, 0, 0)
}

func derOID(oid asn1.ObjectIdentifier) []byte {
	b, _ := asn1.Marshal(oid) // a well-formed constant: cannot fail
	return b
}

func derInt(n int) []byte {
	b, _ := asn1.Marshal(n) // cannot fail for an int
	return b
}

// pkcs7Pad pads to a whole AES block (RFC 5652 6.3).
func pkcs7Pad(b []byte) []byte {
	n := aes.BlockSize - len(b)%aes.BlockSize
	return append(b, bytes.Repeat([]byte{byte(n)}, n)...)
}
