package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// BundleVersion is the version of the bundle format this package writes and reads.
	BundleVersion = 1
	// MaxBundleSize bounds a serialized bundle.
	MaxBundleSize = 64 << 20
	// digestDomain prefixes the bundle's canonical encoding in its digest.
	digestDomain = "mpcsigner-backup-bundle-v1\n"
)

// BundleMeta is what the host knows of a key when it assembles a bundle.
type BundleMeta struct {
	KeyID     string
	KeyLabel  string
	Scheme    protocol.Scheme
	PublicKey []byte // the engine's encoding (KeygenOutput.PublicKey)
	Threshold int
	Parties   []protocol.PartyID // ascending
	// Recipients are the recipients the host asked every enclave to seal to.
	Recipients []string
	// Created is when the bundle was made; zero means now. It is kept to the second, in UTC.
	Created time.Time
}

// Bundle is a key's backup: its description and one sealed entry per party that sealed its
// share. See the package comment for its JSON form.
type Bundle struct {
	Version    int                `json:"version"`
	KeyID      string             `json:"key_id"`
	KeyLabel   string             `json:"key_label"`
	Scheme     protocol.Scheme    `json:"scheme"`
	PublicKey  Hex                `json:"public_key"`
	Threshold  int                `json:"threshold"`
	Parties    []protocol.PartyID `json:"parties"`
	Recipients []string           `json:"recipients"`
	Entries    []Entry            `json:"entries"`
	Created    time.Time          `json:"created"`
	Digest     Hex                `json:"digest"`
}

// Assemble makes a bundle of the entries the enclaves sealed (in any order; at least the
// threshold of them, at most one per party) and checks it as ParseBundle would, including
// that every entry is encrypted to meta.Recipients.
func Assemble(meta BundleMeta, entries []Entry) (*Bundle, error) {
	rs, err := parseRecipients(meta.Recipients)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	created := meta.Created
	if created.IsZero() {
		created = time.Now()
	}
	b := &Bundle{
		Version:    BundleVersion,
		KeyID:      meta.KeyID,
		KeyLabel:   meta.KeyLabel,
		Scheme:     meta.Scheme,
		PublicKey:  slices.Clone(meta.PublicKey),
		Threshold:  meta.Threshold,
		Parties:    slices.Clone(meta.Parties),
		Recipients: recipientTexts(rs),
		Entries:    slices.Clone(entries),
		Created:    created.UTC().Truncate(time.Second),
	}
	slices.SortStableFunc(b.Entries, func(x, y Entry) int { return int(x.Party) - int(y.Party) })
	b.Digest = b.digest()
	if err := b.Check(); err != nil {
		return nil, err
	}
	return b, nil
}

// Marshal returns the bundle's canonical serialization: indented JSON and a final newline.
func (b *Bundle) Marshal() ([]byte, error) {
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("backup: encoding the bundle: %w", err)
	}
	return append(out, '\n'), nil
}

// ParseBundle decodes a bundle and checks everything that can be checked without
// decrypting (see Check), and that data is exactly the bundle's canonical serialization.
func ParseBundle(data []byte) (*Bundle, error) {
	b, err := parseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("backup: invalid bundle: %w", err)
	}
	return b, nil
}

// Verify checks a serialized bundle as ParseBundle does, without decrypting anything.
func Verify(data []byte) error {
	_, err := ParseBundle(data)
	return err
}

func parseBundle(data []byte) (*Bundle, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%d bytes, at most %d allowed", len(data), MaxBundleSize)
	}
	// The version first, leniently: a later format may have fields this one does not know.
	var v struct {
		Version *int `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&v); err != nil {
		return nil, describeJSONError(err, len(data))
	}
	if v.Version == nil {
		return nil, errors.New("no version field: not an mpcsigner backup bundle")
	}
	if *v.Version != BundleVersion {
		return nil, fmt.Errorf("unknown version %d: this build reads version %d", *v.Version, BundleVersion)
	}
	b := new(Bundle)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(b); err != nil {
		return nil, describeJSONError(err, len(data))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the bundle")
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	canonical, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(data, canonical) {
		return nil, errors.New("not in canonical form (every value checks out, but the bytes differ from what Marshal writes: edited, or damaged in a way that changes no value)")
	}
	return b, nil
}

// describeJSONError turns a decoding error of a size-byte input into a message that says
// where the problem is.
func describeJSONError(err error, size int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &syn) && syn.Offset >= int64(size):
		return fmt.Errorf("truncated: the JSON ends unfinished after %d bytes", size)
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ) && typ.Type == hexType:
		return fmt.Errorf("JSON field %q: %s, want lowercase hexadecimal", typ.Field, typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("JSON field %q has the wrong type (want %s)", typ.Field, typ.Type)
	}
	return fmt.Errorf("JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
}

// Check runs every check on a bundle that needs no decryption: version, key description,
// recipients, entries (parties, sizes, SHA-256 of each ciphertext), the digest, and that each
// entry's age header is made for exactly the bundle's recipients.
func (b *Bundle) Check() error {
	if err := b.check(); err != nil {
		return fmt.Errorf("backup: invalid bundle: %w", err)
	}
	return nil
}

func (b *Bundle) check() error {
	if b.Version != BundleVersion {
		return fmt.Errorf("unknown version %d: this build reads version %d", b.Version, BundleVersion)
	}
	if err := checkKey(b.KeyID, b.Scheme, b.PublicKey, b.Threshold, b.Parties); err != nil {
		return err
	}
	if err := checkLabel(b.KeyLabel); err != nil {
		return err
	}
	if b.Created.IsZero() {
		return errors.New("no creation time")
	}
	rs, err := parseRecipients(b.Recipients)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if r.text != b.Recipients[i] {
			return fmt.Errorf("recipient %d is not in canonical form (want %s)", i+1, r.text)
		}
	}
	if err := b.checkEntries(); err != nil {
		return err
	}
	if len(b.Digest) != sha256.Size {
		return fmt.Errorf("digest of %d bytes, want %d", len(b.Digest), sha256.Size)
	}
	if !bytes.Equal(b.digest(), b.Digest) {
		return errors.New("bad digest: the bundle was changed or damaged after it was made (an entry removed, a value edited)")
	}
	for _, e := range b.Entries {
		stanzas, err := headerStanzas(e.Ciphertext)
		if err == nil {
			err = checkStanzas(stanzas, rs)
		}
		if err != nil {
			return fmt.Errorf("entry of %s: recipients differ from the bundle's: %w", e.Party, err)
		}
	}
	return nil
}

// checkEntries checks the entry list: ascending parties of the key, each once, at least the
// threshold of them, each with an intact ciphertext.
func (b *Bundle) checkEntries() error {
	for i, e := range b.Entries {
		if !slices.Contains(b.Parties, e.Party) {
			return fmt.Errorf("entry %d is of %s, which is not one of the parties %s", i+1, e.Party, partyList(b.Parties))
		}
		if i > 0 && e.Party == b.Entries[i-1].Party {
			return fmt.Errorf("two entries of %s", e.Party)
		}
		if i > 0 && e.Party < b.Entries[i-1].Party {
			return fmt.Errorf("entries are not in ascending order of party (%s after %s)", e.Party, b.Entries[i-1].Party)
		}
		if len(e.PublicShare) > maxPublicShare {
			return fmt.Errorf("entry of %s: public share of %d bytes, at most %d allowed", e.Party, len(e.PublicShare), maxPublicShare)
		}
	}
	if len(b.Entries) < b.Threshold {
		return fmt.Errorf("%d entries, fewer than the threshold %d: missing the entries of parties %s", len(b.Entries), b.Threshold, partyList(b.MissingParties()))
	}
	for _, e := range b.Entries {
		if err := e.checkHash(); err != nil {
			return fmt.Errorf("entry of %s: %w", e.Party, err)
		}
	}
	return nil
}

// digest returns SHA-256 over the domain and the compact JSON of the bundle without its
// digest.
func (b *Bundle) digest() []byte {
	c := *b
	c.Digest = nil
	enc, err := json.Marshal(&c)
	if err != nil {
		return nil // unreachable: every field encodes; a nil digest never matches
	}
	h := sha256.New()
	h.Write([]byte(digestDomain))
	h.Write(enc)
	return h.Sum(nil)
}

// MissingParties returns the parties that have no entry in the bundle.
func (b *Bundle) MissingParties() []protocol.PartyID {
	var out []protocol.PartyID
	for _, p := range b.Parties {
		if !slices.ContainsFunc(b.Entries, func(e Entry) bool { return e.Party == p }) {
			out = append(out, p)
		}
	}
	return out
}

// Open decrypts the entry of party with one of identities and checks that its plaintext
// describes this bundle's key (id, scheme, public key, threshold, parties).
func (b *Bundle) Open(party protocol.PartyID, identities []age.Identity) (*Opened, error) {
	i := slices.IndexFunc(b.Entries, func(e Entry) bool { return e.Party == party })
	if i < 0 {
		return nil, fmt.Errorf("backup: the bundle has no entry of %s", party)
	}
	o, err := OpenEntry(b.Entries[i], identities)
	if err != nil {
		return nil, err
	}
	m := o.Meta
	if m.KeyID != b.KeyID || m.Scheme != b.Scheme || !bytes.Equal(m.PublicKey, b.PublicKey) ||
		m.Threshold != b.Threshold || !slices.Equal(m.Parties, b.Parties) {
		o.Wipe()
		return nil, fmt.Errorf("backup: entry of %s holds a share of another key (%s %s %x, %d-of-%s), not of this bundle's", party, m.KeyID, m.Scheme, m.PublicKey, m.Threshold, partyList(m.Parties))
	}
	return o, nil
}
