package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
)

// recipientKey is one RSA key for all envelope tests: making one takes a while.
var recipientKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func testRecipient(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := recipientKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSeal(t testing.TB, priv *rsa.PrivateKey, plaintext []byte, spec envelopeSpec) []byte {
	t.Helper()
	env, err := sealEnvelope(&priv.PublicKey, plaintext, spec)
	if err != nil {
		t.Fatalf("sealEnvelope: %v", err)
	}
	return env
}

var testDataKey = bytes.Repeat([]byte{0x42}, KeySize)

func TestEnvelopeRoundTrip(t *testing.T) {
	priv := testRecipient(t)
	shapes := map[string]func(*envelopeSpec){
		"as KMS sends it":             func(*envelopeSpec) {},
		"definite lengths (DER)":      func(s *envelopeSpec) { s.indefinite = false },
		"primitive encrypted content": func(s *envelopeSpec) { s.chunk = 0 },
		"content in 16-byte chunks":   func(s *envelopeSpec) { s.chunk = 16 },
		"DER with chunked content":    func(s *envelopeSpec) { s.indefinite, s.chunk = false, 5 },
	}
	for name, change := range shapes {
		t.Run(name, func(t *testing.T) {
			spec := kmsEnvelopeSpec()
			change(&spec)
			got, err := openEnvelope(priv, mustSeal(t, priv, testDataKey, spec))
			if err != nil {
				t.Fatalf("openEnvelope = %v", err)
			}
			if !bytes.Equal(got, testDataKey) {
				t.Fatalf("openEnvelope = %x, want %x", got, testDataKey)
			}
		})
	}
}

// TestEnvelopeShape checks that the fake's envelope has the layout of a CiphertextForRecipient
// KMS returned (as recorded in the AWS Nitro Enclaves SDK's CMS test): indefinite-length
// ContentInfo, [0], EnvelopedData version 2; a definite-length SET with one version-2
// KeyTransRecipientInfo identified by a 32-byte subjectKeyIdentifier; RSAES-OAEP with SHA-256
// and MGF1-SHA-256 (each with NULL parameters); an indefinite-length EncryptedContentInfo with
// AES-256-CBC and a 16-byte IV, and the content as a constructed [0] of OCTET STRING chunks.
func TestEnvelopeShape(t *testing.T) {
	env := mustSeal(t, testRecipient(t), testDataKey, kmsEnvelopeSpec())
	prefix := "3080" + "06092a864886f70d010703" + "a080" + "3080" + "020102" + "318201"
	if got := hex.EncodeToString(env); len(got) < len(prefix) || got[:len(prefix)] != prefix {
		t.Fatalf("envelope starts %s, want %s", got[:min(len(got), len(prefix))], prefix)
	}
	oaep := "06092a864886f70d010107" + "302f" + "a00f300d0609608648016503040201" + "0500" +
		"a11c301a06092a864886f70d010108300d0609608648016503040201" + "0500"
	for what, want := range map[string]string{
		"version 2 with a 32-byte subjectKeyIdentifier": "0201028020",
		"RSAES-OAEP-SHA256 parameters":                  oaep,
		"a 256-byte encrypted key":                      "04820100",
		"indefinite EncryptedContentInfo of id-data":    "308006092a864886f70d010701",
		"AES-256-CBC with a 16-byte IV":                 "301d060960864801650304012a0410",
		"chunked encrypted content":                     "a08004",
		"five end-of-contents markers at the end":       "00000000000000000000",
	} {
		if !bytes.Contains(env, mustHex(t, want)) {
			t.Errorf("envelope lacks %s (%s)", what, want)
		}
	}
	if !bytes.HasSuffix(env, make([]byte, 10)) {
		t.Error("envelope does not end with the five end-of-contents markers")
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

func TestEnvelopeRefused(t *testing.T) {
	priv := testRecipient(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	aes128 := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	sha1 := asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	rsaPKCS1 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	signedData := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	cases := map[string]func(*envelopeSpec){
		"signed data, not enveloped":     func(s *envelopeSpec) { s.contentType = signedData },
		"RSA PKCS#1 v1.5 key transport":  func(s *envelopeSpec) { s.keyAlg = rsaPKCS1 },
		"OAEP with default SHA-1":        func(s *envelopeSpec) { s.oaepHash = nil },
		"OAEP with SHA-1":                func(s *envelopeSpec) { s.oaepHash = sha1 },
		"AES-128-CBC content":            func(s *envelopeSpec) { s.contentAlg = aes128 },
		"inner content type not id-data": func(s *envelopeSpec) { s.innerType = signedData },
		"EnvelopedData version 3":        func(s *envelopeSpec) { s.version = 3 },
		"two recipients":                 func(s *envelopeSpec) { s.extraRecipient = true },
		"padding byte zero":              func(s *envelopeSpec) { s.pad = padWith(0) },
		"padding longer than a block":    func(s *envelopeSpec) { s.pad = padWith(17) },
		"padding bytes disagree":         func(s *envelopeSpec) { s.pad = inconsistentPad },
		"no padding at all":              func(s *envelopeSpec) { s.pad = func(b []byte) []byte { return b } },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			spec := kmsEnvelopeSpec()
			change(&spec)
			env, err := sealEnvelope(&priv.PublicKey, testDataKey, spec)
			if err != nil {
				t.Fatalf("sealEnvelope: %v", err)
			}
			if got, err := openEnvelope(priv, env); !errors.Is(err, ErrEnvelope) || got != nil {
				t.Fatalf("openEnvelope = %x, %v; want ErrEnvelope", got, err)
			}
		})
	}
	t.Run("for another key", func(t *testing.T) {
		env := mustSeal(t, other, testDataKey, kmsEnvelopeSpec())
		if got, err := openEnvelope(priv, env); !errors.Is(err, ErrEnvelope) || got != nil {
			t.Fatalf("openEnvelope = %x, %v; want ErrEnvelope", got, err)
		}
	})
}

// padWith pads to a whole block with bytes of value v, whatever the length needs.
func padWith(v byte) func([]byte) []byte {
	return func(b []byte) []byte {
		n := aes.BlockSize - len(b)%aes.BlockSize
		return append(b, bytes.Repeat([]byte{v}, n)...)
	}
}

// inconsistentPad is PKCS#7 padding with its first byte changed.
func inconsistentPad(b []byte) []byte {
	p := pkcs7Pad(b)
	p[len(b)] ^= 0x01
	return p
}

// TestEnvelopeMalformedBytes damages a good envelope's bytes: every cut and many single-byte
// changes must be refused with ErrEnvelope, never a panic or a wrong key.
func TestEnvelopeMalformedBytes(t *testing.T) {
	priv := testRecipient(t)
	for _, shape := range []envelopeSpec{kmsEnvelopeSpec(), func() envelopeSpec { s := kmsEnvelopeSpec(); s.indefinite = false; return s }()} {
		env := mustSeal(t, priv, testDataKey, shape)
		for cut := 0; cut < len(env); cut++ {
			if got, err := openEnvelope(priv, env[:cut]); !errors.Is(err, ErrEnvelope) {
				t.Fatalf("openEnvelope(first %d of %d bytes) = %x, %v; want ErrEnvelope", cut, len(env), got, err)
			}
		}
		for i := range env {
			damaged := flip(env, i)
			got, err := openEnvelope(priv, damaged)
			if err == nil && !bytes.Equal(got, testDataKey) && len(got) == KeySize {
				// CBC without integrity: a flipped IV or ciphertext byte that keeps valid padding
				// yields another plaintext. The sealer relies on TLS to KMS for integrity.
				continue
			}
			if err != nil && !errors.Is(err, ErrEnvelope) {
				t.Fatalf("openEnvelope(byte %d flipped) = %v, want ErrEnvelope", i, err)
			}
		}
	}
	extra := map[string][]byte{
		"empty":                nil,
		"trailing byte":        append(mustSeal(t, priv, testDataKey, kmsEnvelopeSpec()), 0),
		"end-of-contents only": {0, 0},
		"indefinite primitive": {0x04, 0x80, 0x00, 0x00},
		"high tag number":      {0x1f, 0x81, 0x00, 0x00},
		"length of 4 octets":   {0x30, 0x84, 0, 0, 0, 1, 0},
		"unterminated":         {0x30, 0x80, 0x30, 0x80},
		"deep nesting":         bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+2),
		"oversized":            make([]byte, maxEnvelopeSize+1),
	}
	for name, raw := range extra {
		if got, err := openEnvelope(priv, raw); !errors.Is(err, ErrEnvelope) {
			t.Errorf("openEnvelope(%s) = %x, %v; want ErrEnvelope", name, got, err)
		}
	}
}

// FuzzOpenEnvelope feeds arbitrary bytes to the envelope parser and decrypter: no panic, and
// only an error wrapping ErrEnvelope.
func FuzzOpenEnvelope(f *testing.F) {
	priv := testRecipient(f)
	f.Add(mustSeal(f, priv, testDataKey, kmsEnvelopeSpec()))
	der := kmsEnvelopeSpec()
	der.indefinite, der.chunk = false, 0
	f.Add(mustSeal(f, priv, testDataKey, der))
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := openEnvelope(priv, raw); err != nil && !errors.Is(err, ErrEnvelope) {
			t.Fatalf("openEnvelope error %v does not wrap ErrEnvelope", err)
		}
	})
}
