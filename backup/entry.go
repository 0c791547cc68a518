package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// entryVersion is the version of an entry's plaintext.
	entryVersion = 1
	// maxShare bounds a share (the largest engine share limit, tss-lib ECDSA's).
	maxShare = 1 << 20
	// maxPlaintext bounds an entry's plaintext: a base64 share and its metadata.
	maxPlaintext = maxShare*4/3 + 64<<10
	// maxCiphertext bounds an entry's age file: the plaintext, a 16-byte tag per 64 KiB
	// chunk, and a header of at most MaxRecipients stanzas.
	maxCiphertext = maxPlaintext + 64<<10
)

// ErrWrongIdentity is returned (wrapped) when none of the identities given can decrypt an
// entry.
var ErrWrongIdentity = errors.New("none of the identities given can decrypt it")

// EntryMeta describes the share an enclave seals: which key, which party. ChainCode is
// secret (it lets anyone who knows the public key derive every child public key): it is
// sealed with the share and never written in the clear.
type EntryMeta struct {
	KeyID     string
	Scheme    protocol.Scheme
	PublicKey []byte // the group key, in the engine's encoding (KeygenOutput.PublicKey)
	Threshold int
	Parties   []protocol.PartyID // ascending
	Party     protocol.PartyID   // whose share this is
	// PublicShare is the party's public share, in the engine's encoding. Optional: SealShare
	// takes it from the share when it is empty, and refuses one that differs.
	PublicShare []byte
	// ChainCode is the key's jointly generated chain code, when it has one (32 bytes).
	ChainCode []byte
}

// String describes the metadata without the chain code.
func (m EntryMeta) String() string {
	return fmt.Sprintf("backup.EntryMeta{key %s (%s, public key %x), %s of parties %s, threshold %d, chain code: %t (redacted)}",
		m.KeyID, m.Scheme, m.PublicKey, m.Party, partyList(m.Parties), m.Threshold, m.ChainCode != nil)
}

// GoString is String, so that %#v does not print the chain code either.
func (m EntryMeta) GoString() string { return m.String() }

// check checks the metadata on its own.
func (m *EntryMeta) check() error {
	if err := checkKey(m.KeyID, m.Scheme, m.PublicKey, m.Threshold, m.Parties); err != nil {
		return err
	}
	if !slices.Contains(m.Parties, m.Party) {
		return fmt.Errorf("%s is not one of the parties %s", m.Party, partyList(m.Parties))
	}
	if len(m.PublicShare) > maxPublicShare {
		return fmt.Errorf("public share of %d bytes, at most %d allowed", len(m.PublicShare), maxPublicShare)
	}
	if m.ChainCode != nil && len(m.ChainCode) != ChainCodeSize {
		return fmt.Errorf("chain code of %d bytes, want %d", len(m.ChainCode), ChainCodeSize)
	}
	return nil
}

// Entry is one party's sealed share as a bundle holds it. Nothing in it is secret.
type Entry struct {
	Party       protocol.PartyID `json:"party"`
	PublicShare Hex              `json:"public_share,omitempty"`
	// Ciphertext is the age file (binary; base64 in JSON).
	Ciphertext       []byte `json:"ciphertext"`
	CiphertextSHA256 Hex    `json:"ciphertext_sha256"`
}

// checkHash checks the entry's size and its SHA-256.
func (e *Entry) checkHash() error {
	if len(e.Ciphertext) == 0 {
		return errors.New("no ciphertext")
	}
	if len(e.Ciphertext) > maxCiphertext {
		return fmt.Errorf("ciphertext of %d bytes, at most %d allowed", len(e.Ciphertext), maxCiphertext)
	}
	if len(e.CiphertextSHA256) != sha256.Size {
		return fmt.Errorf("ciphertext_sha256 of %d bytes, want %d", len(e.CiphertextSHA256), sha256.Size)
	}
	if sum := sha256.Sum256(e.Ciphertext); !bytes.Equal(sum[:], e.CiphertextSHA256) {
		return errors.New("the ciphertext does not match its SHA-256 (damaged or replaced)")
	}
	return nil
}

// SealShare encrypts one party's share with its metadata to every recipient (age X25519
// recipients "age1..." and OpenSSH "ssh-ed25519 AAAA..." keys). It runs inside the enclave
// that holds the share: it decodes the share with its engine and refuses one that does not
// match meta (another party, threshold, party list or key). The caller keeps share and
// meta.ChainCode and wipes them itself.
func SealShare(share []byte, meta EntryMeta, recipients []string) (Entry, error) {
	rs, err := parseRecipients(recipients)
	if err != nil {
		return Entry{}, fmt.Errorf("backup: %w", err)
	}
	if err := meta.check(); err != nil {
		return Entry{}, fmt.Errorf("backup: entry metadata: %w", err)
	}
	publicShare, err := checkShareMatches(share, &meta)
	if err != nil {
		return Entry{}, fmt.Errorf("backup: share of %s: %w", meta.Party, err)
	}
	plaintext := encodePlaintext(share, &meta, publicShare)
	defer clear(plaintext)
	ciphertext, err := encrypt(plaintext, rs)
	if err != nil {
		return Entry{}, fmt.Errorf("backup: encrypting the share of %s: %w", meta.Party, err)
	}
	sum := sha256.Sum256(ciphertext)
	return Entry{Party: meta.Party, PublicShare: publicShare, Ciphertext: ciphertext, CiphertextSHA256: sum[:]}, nil
}

// checkShareMatches decodes share with its engine, checks it against meta and returns the
// party's public share.
func checkShareMatches(share []byte, meta *EntryMeta) ([]byte, error) {
	if len(share) == 0 {
		return nil, errors.New("empty")
	}
	if len(share) > maxShare {
		return nil, fmt.Errorf("%d bytes, at most %d allowed", len(share), maxShare)
	}
	s, err := exportShare(meta.Scheme, share)
	if err != nil {
		return nil, err
	}
	s.wipe()
	switch {
	case s.self != meta.Party:
		return nil, fmt.Errorf("it is the share of %s", s.self)
	case !bytes.Equal(s.publicKey, meta.PublicKey):
		return nil, fmt.Errorf("it is a share of public key %x, not %x", s.publicKey, meta.PublicKey)
	case s.threshold != meta.Threshold || !slices.Equal(s.parties, meta.Parties):
		return nil, fmt.Errorf("it is a %d-of-%s share, the metadata says %d-of-%s", s.threshold, partyList(s.parties), meta.Threshold, partyList(meta.Parties))
	case len(meta.PublicShare) > 0 && !bytes.Equal(meta.PublicShare, s.publicShare):
		return nil, fmt.Errorf("its public share is %x, the metadata says %x", s.publicShare, meta.PublicShare)
	}
	return s.publicShare, nil
}

// plaintextMeta is the public part of an entry's plaintext.
type plaintextMeta struct {
	Version     int                `json:"version"`
	KeyID       string             `json:"key_id"`
	Scheme      protocol.Scheme    `json:"scheme"`
	PublicKey   Hex                `json:"public_key"`
	Threshold   int                `json:"threshold"`
	Parties     []protocol.PartyID `json:"parties"`
	Party       protocol.PartyID   `json:"party"`
	PublicShare Hex                `json:"public_share,omitempty"`
}

// plaintextJSON is an entry's whole plaintext, for decoding.
type plaintextJSON struct {
	plaintextMeta
	Share     []byte `json:"share"`
	ChainCode Hex    `json:"chain_code,omitempty"`
}

// encodePlaintext writes the plaintext: the metadata, by encoding/json, then the secret
// fields, appended by hand so that no encoder's pooled buffer keeps a copy of them. The caller
// wipes the result.
func encodePlaintext(share []byte, meta *EntryMeta, publicShare []byte) []byte {
	head, _ := json.Marshal(plaintextMeta{
		Version: entryVersion, KeyID: meta.KeyID, Scheme: meta.Scheme, PublicKey: meta.PublicKey,
		Threshold: meta.Threshold, Parties: meta.Parties, Party: meta.Party, PublicShare: publicShare,
	}) // cannot fail: plain types
	size := len(head) + len(`,"share":""`) + base64.StdEncoding.EncodedLen(len(share)) + len(`,"chain_code":""}`) + 2*len(meta.ChainCode)
	out := make([]byte, 0, size)
	out = append(out, head[:len(head)-1]...) // without the closing brace
	out = append(out, `,"share":"`...)
	out = base64.StdEncoding.AppendEncode(out, share)
	out = append(out, '"')
	if meta.ChainCode != nil {
		out = append(out, `,"chain_code":"`...)
		out = hex.AppendEncode(out, meta.ChainCode)
		out = append(out, '"')
	}
	return append(out, '}')
}

// encrypt encrypts plaintext to rs with age.
func encrypt(plaintext []byte, rs []*recipient) ([]byte, error) {
	values := make([]age.Recipient, len(rs))
	for i, r := range rs {
		values[i] = r.value
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, values...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Opened is a decrypted entry. Share and Meta.ChainCode are secret: Wipe them once done.
type Opened struct {
	Meta  EntryMeta
	Share []byte
}

// Wipe zeroizes the share and the chain code.
func (o *Opened) Wipe() {
	clear(o.Share)
	clear(o.Meta.ChainCode)
}

// String describes the entry without its secrets.
func (o Opened) String() string {
	return fmt.Sprintf("backup.Opened{%v, share (%d bytes, redacted)}", o.Meta, len(o.Share))
}

// GoString is String, so that %#v does not print the secrets either.
func (o Opened) GoString() string { return o.String() }

// OpenShare decrypts an entry with one of identities (age X25519 identities, agessh
// identities, ...) and returns the share it holds, for a restore. OpenEntry also returns the
// chain code and the metadata; Bundle.Open also checks them against the bundle.
func OpenShare(entry Entry, identities []age.Identity) ([]byte, error) {
	o, err := OpenEntry(entry, identities)
	if err != nil {
		return nil, err
	}
	clear(o.Meta.ChainCode)
	return o.Share, nil
}

// OpenEntry decrypts an entry with one of identities and checks that what it holds is the
// share of the entry's party (and, if the entry names one, of its public share).
func OpenEntry(entry Entry, identities []age.Identity) (*Opened, error) {
	o, err := openEntry(entry, identities)
	if err != nil {
		return nil, fmt.Errorf("backup: entry of %s: %w", entry.Party, err)
	}
	return o, nil
}

func openEntry(entry Entry, identities []age.Identity) (*Opened, error) {
	if len(identities) == 0 {
		return nil, errors.New("no identities given to decrypt it with")
	}
	if err := entry.checkHash(); err != nil {
		return nil, err
	}
	plaintext, err := decrypt(entry.Ciphertext, identities)
	defer clear(plaintext)
	if err != nil {
		return nil, err
	}
	o, err := decodePlaintext(plaintext)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Meta.Party != entry.Party:
		o.Wipe()
		return nil, fmt.Errorf("it holds the share of %s", o.Meta.Party)
	case len(entry.PublicShare) > 0 && !bytes.Equal(entry.PublicShare, o.Meta.PublicShare):
		o.Wipe()
		return nil, errors.New("its public share differs from the one the entry names")
	}
	return o, nil
}

// decrypt decrypts an age file and returns its plaintext, at most maxPlaintext bytes.
func decrypt(ciphertext []byte, identities []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), identities...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, fmt.Errorf("%w (%s)", ErrWrongIdentity, describeStanzas(ciphertext))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt: %v", err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(len(ciphertext), maxPlaintext+1)))
	_, err = io.Copy(buf, io.LimitReader(r, maxPlaintext+1))
	plaintext := buf.Bytes()
	if err != nil {
		clear(plaintext)
		return nil, fmt.Errorf("the ciphertext is damaged: %v", err)
	}
	if len(plaintext) > maxPlaintext {
		clear(plaintext)
		return nil, fmt.Errorf("plaintext larger than %d bytes", maxPlaintext)
	}
	return plaintext, nil
}

// describeStanzas says whom an age file is encrypted to, as far as its header tells.
func describeStanzas(ciphertext []byte) string {
	stanzas, err := headerStanzas(ciphertext)
	if err != nil {
		return "its header does not parse"
	}
	var x25519, ssh int
	for _, s := range stanzas {
		switch s.Type {
		case stanzaX25519:
			x25519++
		case stanzaSSHEd25519:
			ssh++
		}
	}
	return fmt.Sprintf("it is encrypted to %d X25519 and %d ssh-ed25519 recipients", x25519, ssh)
}

// decodePlaintext decodes and checks an entry's plaintext. Its errors never quote it.
func decodePlaintext(b []byte) (*Opened, error) {
	var pj plaintextJSON
	err := protocol.DecodeSecretJSON(b, &pj)
	defer clear(pj.Share)
	defer clear(pj.ChainCode)
	if err != nil {
		return nil, fmt.Errorf("plaintext: %w", err)
	}
	if pj.Version != entryVersion {
		return nil, fmt.Errorf("plaintext version %d, this build reads version %d", pj.Version, entryVersion)
	}
	meta := EntryMeta{
		KeyID: pj.KeyID, Scheme: pj.Scheme, PublicKey: pj.PublicKey, Threshold: pj.Threshold,
		Parties: pj.Parties, Party: pj.Party, PublicShare: pj.PublicShare,
	}
	if pj.ChainCode != nil {
		meta.ChainCode = slices.Clone(pj.ChainCode)
	}
	if err := meta.check(); err != nil {
		clear(meta.ChainCode)
		return nil, fmt.Errorf("plaintext: %w", err)
	}
	if len(pj.Share) == 0 || len(pj.Share) > maxShare {
		clear(meta.ChainCode)
		return nil, fmt.Errorf("plaintext: share of %d bytes, want 1 to %d", len(pj.Share), maxShare)
	}
	return &Opened{Meta: meta, Share: slices.Clone(pj.Share)}, nil
}
