package seal

// This file opens the CMS envelope AWS KMS returns in CiphertextForRecipient (RFC 5652
// EnvelopedData with one KeyTransRecipientInfo, RSAES-OAEP with SHA-256 for the content key,
// AES-256-CBC for the content).
//
// KMS encodes the envelope in BER, not DER: the outer structures (ContentInfo, its [0],
// EnvelopedData, EncryptedContentInfo, and the [0] encrypted content) have indefinite lengths,
// and the encrypted content comes as a constructed string of OCTET STRING chunks. encoding/asn1
// reads only DER, so a small BER reader below turns the input into a tree of elements (definite
// or indefinite lengths, low tag numbers only, bounded size, depth and element count), and the
// CMS walk checks every element's tag and count exactly. encoding/asn1 decodes the primitive
// values (object identifiers and integers).

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
)

// Bounds on an envelope. KMS wraps at most 4096 bytes of plaintext for a recipient (a data key
// is 32); the envelope around it adds under 1 KiB for an RSA-4096 recipient.
const (
	maxEnvelopeSize = 16 << 10
	maxBERDepth     = 12
	maxBERElements  = 256
)

// ErrEnvelope means the CMS envelope from KMS is malformed, uses algorithms other than the ones
// KMS uses for an enclave recipient, or does not open with this enclave's key.
var ErrEnvelope = errors.New("KMS recipient envelope does not open")

// Object identifiers of the envelope.
var (
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidRSAESOAEP     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidPSpecified    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// Identifier octets (class, constructed bit and tag number in one byte) the envelope uses.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagSet         = 0x31
	// constructedOctetString is an OCTET STRING sent in chunks (BER only).
	constructedOctetString = 0x24
	// Context-specific [n]: primitive 0x80+n, constructed 0xa0+n.
	tagContext0Primitive   = 0x80
	tagContext0Constructed = 0xa0
	tagContext1Constructed = 0xa1
	tagContext2Constructed = 0xa2
)

// berElement is one BER element: its identifier octet, and its contents (primitive) or its
// elements (constructed).
type berElement struct {
	tag      byte
	value    []byte
	children []berElement
}

func (e berElement) constructed() bool { return e.tag&0x20 != 0 }

// berReader parses one BER element tree, counting elements against maxBERElements.
type berReader struct {
	elements int
}

// parseBER parses in as exactly one BER element.
func parseBER(in []byte) (berElement, error) {
	if len(in) > maxEnvelopeSize {
		return berElement{}, envelopeErr("envelope is %d bytes, more than %d", len(in), maxEnvelopeSize)
	}
	var r berReader
	e, rest, err := r.element(in, 0)
	if err != nil {
		return berElement{}, err
	}
	if len(rest) != 0 {
		return berElement{}, envelopeErr("%d bytes after the envelope", len(rest))
	}
	return e, nil
}

// element parses the element at the start of in and returns it with the bytes after it.
func (r *berReader) element(in []byte, depth int) (berElement, []byte, error) {
	if depth > maxBERDepth {
		return berElement{}, nil, envelopeErr("elements nested more than %d deep", maxBERDepth)
	}
	if r.elements++; r.elements > maxBERElements {
		return berElement{}, nil, envelopeErr("more than %d elements", maxBERElements)
	}
	if len(in) < 2 {
		return berElement{}, nil, envelopeErr("truncated element header")
	}
	e := berElement{tag: in[0]}
	if e.tag&0x1f == 0x1f {
		return berElement{}, nil, envelopeErr("high tag number form (identifier %#02x), which CMS does not use here", e.tag)
	}
	if e.tag == 0 {
		return berElement{}, nil, envelopeErr("end-of-contents marker outside an indefinite-length element")
	}
	length, body, indefinite, err := readBERLength(in[1:])
	if err != nil {
		return berElement{}, nil, err
	}
	if indefinite {
		if !e.constructed() {
			return berElement{}, nil, envelopeErr("primitive element (identifier %#02x) with an indefinite length", e.tag)
		}
		return r.indefiniteChildren(e, body, depth)
	}
	if length > len(body) {
		return berElement{}, nil, envelopeErr("element (identifier %#02x) of %d bytes, only %d left", e.tag, length, len(body))
	}
	content, rest := body[:length], body[length:]
	if !e.constructed() {
		e.value = content
		return e, rest, nil
	}
	for len(content) > 0 {
		var child berElement
		child, content, err = r.element(content, depth+1)
		if err != nil {
			return berElement{}, nil, err
		}
		e.children = append(e.children, child)
	}
	return e, rest, nil
}

// indefiniteChildren reads e's elements up to the end-of-contents marker.
func (r *berReader) indefiniteChildren(e berElement, body []byte, depth int) (berElement, []byte, error) {
	for {
		if len(body) < 2 {
			return berElement{}, nil, envelopeErr("indefinite-length element (identifier %#02x) without its end-of-contents marker", e.tag)
		}
		if body[0] == 0 && body[1] == 0 {
			return e, body[2:], nil
		}
		var child berElement
		var err error
		child, body, err = r.element(body, depth+1)
		if err != nil {
			return berElement{}, nil, err
		}
		e.children = append(e.children, child)
	}
}

// readBERLength reads a length octet sequence. It returns the length, the bytes after the
// length octets, and whether the length is indefinite.
func readBERLength(in []byte) (length int, rest []byte, indefinite bool, err error) {
	b := in[0]
	switch {
	case b < 0x80:
		return int(b), in[1:], false, nil
	case b == 0x80:
		return 0, in[1:], true, nil
	}
	n := int(b & 0x7f)
	// Three length octets reach 16 MiB, far beyond maxEnvelopeSize.
	if n > 3 {
		return 0, nil, false, envelopeErr("length of %d octets", n)
	}
	if len(in) < 1+n {
		return 0, nil, false, envelopeErr("truncated length")
	}
	for _, c := range in[1 : 1+n] {
		length = length<<8 | int(c)
	}
	return length, in[1+n:], false, nil
}

// expect checks e's identifier octet.
func (e berElement) expect(tag byte, what string) error {
	if e.tag != tag {
		return envelopeErr("%s: identifier %#02x, want %#02x", what, e.tag, tag)
	}
	return nil
}

// items checks that e is a constructed element with identifier tag and exactly n elements,
// and returns them.
func (e berElement) items(tag byte, n int, what string) ([]berElement, error) {
	if err := e.expect(tag, what); err != nil {
		return nil, err
	}
	if len(e.children) != n {
		return nil, envelopeErr("%s: %d elements, want %d", what, len(e.children), n)
	}
	return e.children, nil
}

// der re-encodes a primitive element in DER, for encoding/asn1.
func (e berElement) der() []byte {
	return append(append([]byte{e.tag}, derLength(len(e.value))...), e.value...)
}

// oid decodes an OBJECT IDENTIFIER.
func (e berElement) oid(what string) (asn1.ObjectIdentifier, error) {
	if err := e.expect(tagOID, what); err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(e.der(), &oid); err != nil {
		return nil, envelopeErr("%s: %v", what, err)
	}
	return oid, nil
}

// expectOID checks that e is the object identifier want.
func (e berElement) expectOID(want asn1.ObjectIdentifier, what string) error {
	got, err := e.oid(what)
	if err != nil {
		return err
	}
	if !got.Equal(want) {
		return envelopeErr("%s is %s, want %s", what, got, want)
	}
	return nil
}

// smallInt decodes an INTEGER that fits an int.
func (e berElement) smallInt(what string) (int, error) {
	if err := e.expect(tagInteger, what); err != nil {
		return 0, err
	}
	var n int
	if _, err := asn1.Unmarshal(e.der(), &n); err != nil {
		return 0, envelopeErr("%s: %v", what, err)
	}
	return n, nil
}

// octets returns an OCTET STRING's bytes, from one primitive element or from a constructed one
// made of primitive chunks. primitiveTag and constructedTag are the identifiers the string may
// carry (they differ from 0x04 and 0x24 under an implicit tag).
func (e berElement) octets(primitiveTag, constructedTag byte, what string) ([]byte, error) {
	switch e.tag {
	case primitiveTag:
		return e.value, nil
	case constructedTag:
		var out []byte
		for i, c := range e.children {
			if c.tag != tagOctetString {
				return nil, envelopeErr("%s: chunk %d has identifier %#02x, want an OCTET STRING (0x04)", what, i, c.tag)
			}
			out = append(out, c.value...)
		}
		return out, nil
	}
	return nil, envelopeErr("%s: identifier %#02x, want %#02x or %#02x", what, e.tag, primitiveTag, constructedTag)
}

// envelope is what the enclave needs from the CMS structure.
type envelope struct {
	encryptedKey []byte
	iv           []byte
	ciphertext   []byte
}

// parseEnvelope walks ContentInfo → EnvelopedData → one KeyTransRecipientInfo and the
// EncryptedContentInfo, checking every algorithm.
func parseEnvelope(raw []byte) (*envelope, error) {
	root, err := parseBER(raw)
	if err != nil {
		return nil, err
	}
	ci, err := root.items(tagSequence, 2, "ContentInfo")
	if err != nil {
		return nil, err
	}
	if err := ci[0].expectOID(oidEnvelopedData, "content type"); err != nil {
		return nil, err
	}
	explicit, err := ci[1].items(tagContext0Constructed, 1, "ContentInfo content [0]")
	if err != nil {
		return nil, err
	}
	ed := explicit[0]
	if err := ed.expect(tagSequence, "EnvelopedData"); err != nil {
		return nil, err
	}
	if len(ed.children) != 3 {
		// Four or five elements mean originatorInfo or unprotectedAttrs, which KMS never sends.
		return nil, envelopeErr("EnvelopedData: %d elements, want version, recipientInfos and encryptedContentInfo only", len(ed.children))
	}
	if v, err := ed.children[0].smallInt("EnvelopedData version"); err != nil {
		return nil, err
	} else if v != 0 && v != 2 {
		return nil, envelopeErr("EnvelopedData version %d, want 0 or 2", v)
	}
	var env envelope
	if env.encryptedKey, err = parseRecipientInfos(ed.children[1]); err != nil {
		return nil, err
	}
	if env.iv, env.ciphertext, err = parseEncryptedContentInfo(ed.children[2]); err != nil {
		return nil, err
	}
	return &env, nil
}

// parseRecipientInfos checks that there is exactly one recipient, a KeyTransRecipientInfo for
// RSAES-OAEP with SHA-256, and returns its encrypted content-encryption key.
func parseRecipientInfos(e berElement) ([]byte, error) {
	ris, err := e.items(tagSet, 1, "recipientInfos")
	if err != nil {
		return nil, err
	}
	ktri, err := ris[0].items(tagSequence, 4, "KeyTransRecipientInfo")
	if err != nil {
		return nil, err
	}
	version, err := ktri[0].smallInt("KeyTransRecipientInfo version")
	if err != nil {
		return nil, err
	}
	// The recipient identifier names the key; this enclave holds exactly one, so only its form
	// is checked: version 2 with a subjectKeyIdentifier (what KMS sends), or version 0 with an
	// issuerAndSerialNumber.
	switch {
	case version == 2 && ktri[1].tag == tagContext0Primitive && len(ktri[1].value) > 0:
	case version == 0 && ktri[1].tag == tagSequence:
	default:
		return nil, envelopeErr("KeyTransRecipientInfo version %d with recipient identifier %#02x: want version 2 with a subjectKeyIdentifier [0], or version 0 with issuerAndSerialNumber",
			version, ktri[1].tag)
	}
	alg, err := ktri[2].items(tagSequence, 2, "keyEncryptionAlgorithm")
	if err != nil {
		return nil, err
	}
	if err := alg[0].expectOID(oidRSAESOAEP, "keyEncryptionAlgorithm"); err != nil {
		return nil, err
	}
	if err := checkOAEPParams(alg[1]); err != nil {
		return nil, err
	}
	return ktri[3].octets(tagOctetString, constructedOctetString, "encryptedKey")
}

// checkOAEPParams requires RSAES-OAEP-params (RFC 8017 A.2.1) naming SHA-256 for the hash and
// for MGF1, and the empty label. The hash and MGF fields default to SHA-1, so both must be
// present.
func checkOAEPParams(e berElement) error {
	if err := e.expect(tagSequence, "RSAES-OAEP parameters"); err != nil {
		return err
	}
	var hash, mgf bool
	last := -1
	for _, field := range e.children {
		idx := int(field.tag) - tagContext0Constructed
		if idx < 0 || idx > 2 || idx <= last {
			return envelopeErr("RSAES-OAEP parameters: unexpected or out-of-order field %#02x", field.tag)
		}
		last = idx
		inner, err := field.items(field.tag, 1, "RSAES-OAEP parameter")
		if err != nil {
			return err
		}
		switch field.tag {
		case tagContext0Constructed:
			hash = true
			err = checkSHA256(inner[0], "OAEP hash")
		case tagContext1Constructed:
			mgf = true
			err = checkMGF1SHA256(inner[0])
		case tagContext2Constructed:
			err = checkEmptyLabel(inner[0])
		}
		if err != nil {
			return err
		}
	}
	if !hash || !mgf {
		return envelopeErr("RSAES-OAEP parameters leave the hash or MGF at its SHA-1 default: want SHA-256 for both")
	}
	return nil
}

// checkSHA256 requires AlgorithmIdentifier{id-sha256, NULL or absent}.
func checkSHA256(e berElement, what string) error {
	if err := e.expect(tagSequence, what); err != nil {
		return err
	}
	switch len(e.children) {
	case 1:
	case 2:
		if p := e.children[1]; p.tag != tagNull || len(p.value) != 0 {
			return envelopeErr("%s: parameters %#02x, want NULL or none", what, p.tag)
		}
	default:
		return envelopeErr("%s: %d elements, want 1 or 2", what, len(e.children))
	}
	return e.children[0].expectOID(oidSHA256, what)
}

// checkMGF1SHA256 requires AlgorithmIdentifier{id-mgf1, AlgorithmIdentifier{id-sha256}}.
func checkMGF1SHA256(e berElement) error {
	mgf, err := e.items(tagSequence, 2, "OAEP mask generation function")
	if err != nil {
		return err
	}
	if err := mgf[0].expectOID(oidMGF1, "OAEP mask generation function"); err != nil {
		return err
	}
	return checkSHA256(mgf[1], "MGF1 hash")
}

// checkEmptyLabel requires AlgorithmIdentifier{id-pSpecified, OCTET STRING ”}.
func checkEmptyLabel(e berElement) error {
	p, err := e.items(tagSequence, 2, "OAEP label source")
	if err != nil {
		return err
	}
	if err := p[0].expectOID(oidPSpecified, "OAEP label source"); err != nil {
		return err
	}
	label, err := p[1].octets(tagOctetString, constructedOctetString, "OAEP label")
	if err != nil {
		return err
	}
	if len(label) != 0 {
		return envelopeErr("OAEP label is %d bytes, want empty", len(label))
	}
	return nil
}

// parseEncryptedContentInfo requires id-data content encrypted with AES-256-CBC and returns the
// IV and the ciphertext.
func parseEncryptedContentInfo(e berElement) (iv, ciphertext []byte, err error) {
	eci, err := e.items(tagSequence, 3, "EncryptedContentInfo")
	if err != nil {
		return nil, nil, err
	}
	if err := eci[0].expectOID(oidData, "encrypted content type"); err != nil {
		return nil, nil, err
	}
	alg, err := eci[1].items(tagSequence, 2, "contentEncryptionAlgorithm")
	if err != nil {
		return nil, nil, err
	}
	if err := alg[0].expectOID(oidAES256CBC, "contentEncryptionAlgorithm"); err != nil {
		return nil, nil, err
	}
	if iv, err = alg[1].octets(tagOctetString, constructedOctetString, "AES-CBC IV"); err != nil {
		return nil, nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, nil, envelopeErr("AES-CBC IV is %d bytes, want %d", len(iv), aes.BlockSize)
	}
	// encryptedContent is [0] IMPLICIT OCTET STRING: primitive, or (as KMS sends it) constructed
	// from OCTET STRING chunks.
	ciphertext, err = eci[2].octets(tagContext0Primitive, tagContext0Constructed, "encryptedContent")
	if err != nil {
		return nil, nil, err
	}
	return iv, ciphertext, nil
}

// openEnvelope parses raw and decrypts its content with priv.
//
// The envelope carries no integrity check of its own (CBC, and an RSA-OAEP key anyone with the
// public key could have made): it is trusted because it arrives over the TLS connection the
// enclave holds with KMS, and it opens only with a private key that never leaves the enclave
// and is made afresh for each request, so no one can ask this function to try many variants.
func openEnvelope(priv *rsa.PrivateKey, raw []byte) ([]byte, error) {
	env, err := parseEnvelope(raw)
	if err != nil {
		return nil, err
	}
	cek, err := rsa.DecryptOAEP(sha256.New(), nil, priv, env.encryptedKey, nil)
	if err != nil {
		return nil, envelopeErr("the content key does not decrypt with this enclave's RSA key (was the envelope made for another key?)")
	}
	defer clear(cek)
	if len(cek) != 32 {
		return nil, envelopeErr("the content key is %d bytes, want 32 for AES-256", len(cek))
	}
	return decryptCBC(cek, env.iv, env.ciphertext)
}

// decryptCBC decrypts AES-256-CBC with PKCS#7 padding (RFC 5652 6.3).
func decryptCBC(key, iv, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, envelopeErr("encrypted content is %d bytes, not a positive multiple of %d", len(ciphertext), aes.BlockSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, envelopeErr("AES key: %v", err)
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		clear(plain)
		return nil, envelopeErr("content padding is not PKCS#7: wrong key, or a corrupted envelope")
	}
	out := bytes.Clone(plain[:len(plain)-pad])
	clear(plain)
	return out, nil
}

// derLength encodes a definite length (short form below 128, else long form).
func derLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for ; n > 0; n >>= 8 {
		b = append([]byte{byte(n)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

// envelopeErr returns an error wrapping ErrEnvelope. Callers prefix the operation.
func envelopeErr(format string, args ...any) error {
	return fmt.Errorf("CiphertextForRecipient: %s: %w", fmt.Sprintf(format, args...), ErrEnvelope)
}
