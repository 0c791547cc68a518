package backup

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// testBundle is a 2-of-3 Ed25519 key sealed to an X25519 and an ssh-ed25519 operator.
type testBundle struct {
	key       *testKey
	ops       []operator
	chainCode []byte
	entries   []Entry
	bundle    *Bundle
	data      []byte
}

func newTestBundle(t testing.TB) *testBundle {
	t.Helper()
	tb := &testBundle{key: keyOf(t, protocol.SchemeEd25519), ops: []operator{newX25519Operator(t), newSSHOperator(t)}, chainCode: make([]byte, ChainCodeSize)}
	rand.Read(tb.chainCode)
	tb.entries = sealAll(t, tb.key, tb.chainCode, tb.ops...)
	// Out of order on purpose: Assemble sorts.
	entries := []Entry{tb.entries[2], tb.entries[0], tb.entries[1]}
	var err error
	if tb.bundle, err = Assemble(tb.key.bundleMeta(recipientsOf(tb.ops...)), entries); err != nil {
		t.Fatal(err)
	}
	if tb.data, err = tb.bundle.Marshal(); err != nil {
		t.Fatal(err)
	}
	return tb
}

// edit decodes the bundle, lets f change it, and returns its serialization; with rehash, the
// digest is made to match again (as a forger or a buggy tool would).
func (tb *testBundle) edit(t testing.TB, rehash bool, f func(*Bundle)) []byte {
	t.Helper()
	var b Bundle
	if err := json.Unmarshal(tb.data, &b); err != nil {
		t.Fatal(err)
	}
	f(&b)
	if rehash {
		b.Digest = b.digest()
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBundleRoundTrip(t *testing.T) {
	tb := newTestBundle(t)
	b, err := ParseBundle(tb.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(tb.data); err != nil {
		t.Fatal(err)
	}
	again, err := b.Marshal()
	if err != nil || !bytes.Equal(again, tb.data) {
		t.Fatalf("marshal after parse differs: %v", err)
	}
	if b.Version != 1 || b.Scheme != protocol.SchemeEd25519 || b.KeyLabel != "treasury ünïcode" || b.Threshold != 2 ||
		!slices.Equal(b.Parties, []protocol.PartyID{1, 2, 3}) || len(b.Entries) != 3 || b.Created.Format("2006-01-02T15:04:05Z07:00") != "2025-01-02T03:04:05Z" {
		t.Fatalf("parsed %+v", b)
	}
	for i, e := range b.Entries {
		if e.Party != protocol.PartyID(i+1) {
			t.Fatalf("entries not sorted: %v", e.Party)
		}
	}
	// Recipients are recorded canonically: the ssh key without its comment.
	if b.Recipients[0] != tb.ops[0].recipient || b.Recipients[1] != strings.Join(strings.Fields(tb.ops[1].recipient)[:2], " ") {
		t.Fatalf("recipients %q", b.Recipients)
	}
	// The chain code and the shares never appear in the clear.
	for _, secret := range [][]byte{tb.chainCode, []byte(hex.EncodeToString(tb.chainCode))} {
		if bytes.Contains(tb.data, secret) {
			t.Fatal("the bundle holds the chain code in the clear")
		}
	}
	// Every operator opens every entry and gets the share and the chain code.
	for _, op := range tb.ops {
		for _, p := range b.Parties {
			o, err := b.Open(p, []age.Identity{op.identity})
			if err != nil {
				t.Fatalf("%s opens %s: %v", op.recipient, p, err)
			}
			if !bytes.Equal(o.Share, tb.key.shares[p]) || !bytes.Equal(o.Meta.ChainCode, tb.chainCode) {
				t.Fatalf("%s: opened entry differs from what was sealed", p)
			}
			o.Wipe()
			if !bytes.Equal(o.Share, make([]byte, len(o.Share))) || !bytes.Equal(o.Meta.ChainCode, make([]byte, 32)) {
				t.Fatal("Wipe left a secret")
			}
		}
	}
}

func TestBundleFieldsAndShape(t *testing.T) {
	tb := newTestBundle(t)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(tb.data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"created", "digest", "entries", "key_id", "key_label", "parties", "public_key", "recipients", "scheme", "threshold", "version"}
	if !slices.Equal(keys, want) {
		t.Fatalf("bundle fields %v, want %v", keys, want)
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(m["entries"], &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		for _, f := range []string{"party", "public_share", "ciphertext", "ciphertext_sha256"} {
			if _, ok := e[f]; !ok {
				t.Fatalf("entry without %q", f)
			}
		}
		if len(e) != 4 {
			t.Fatalf("entry with fields %v", e)
		}
	}
	// The digest is SHA-256 over the domain and the compact JSON with an empty digest.
	var b Bundle
	json.Unmarshal(tb.data, &b)
	b.Digest = nil
	compact, _ := json.Marshal(&b)
	sum := sha256.Sum256(append([]byte("mpcsigner-backup-bundle-v1\n"), compact...))
	if !bytes.Equal(sum[:], tb.bundle.Digest) || !bytes.Contains(compact, []byte(`"digest":""`)) {
		t.Fatal("the digest is not computed as documented")
	}
}

func TestParseBundleDetectsTruncation(t *testing.T) {
	tb := newTestBundle(t)
	for n := range len(tb.data) {
		if _, err := ParseBundle(tb.data[:n]); err == nil {
			t.Fatalf("a bundle truncated to %d of %d bytes parses", n, len(tb.data))
		}
	}
	_, err := ParseBundle(tb.data[:len(tb.data)/2])
	wantErr(t, err, "truncated")
}

func TestParseBundleDetectsEveryFlippedBit(t *testing.T) {
	tb := newTestBundle(t)
	for i := range tb.data {
		for _, bit := range []byte{0x01, 0x20} {
			d := bytes.Clone(tb.data)
			d[i] ^= bit
			if _, err := ParseBundle(d); err == nil {
				t.Fatalf("flipping bit %#x of byte %d (%q) goes unnoticed", bit, i, tb.data[i])
			}
		}
	}
	// A flip inside a ciphertext names the entry.
	i := bytes.Index(tb.data, []byte(`"ciphertext": "`)) + 40
	d := bytes.Clone(tb.data)
	d[i] ^= 0x01
	_, err := ParseBundle(d)
	wantErr(t, err, "entry of party 1", "does not match its SHA-256")
}

func TestParseBundleErrors(t *testing.T) {
	tb := newTestBundle(t)
	other := newTestBundle(t) // same key, other operators
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"not json", []byte("hello"), []string{"malformed JSON"}},
		{"no version", []byte(`{"key_id":"x"}`), []string{"no version field"}},
		{"unknown version", tb.edit(t, true, func(b *Bundle) { b.Version = 2 }), []string{"unknown version 2"}},
		{"unknown field", bytes.Replace(tb.data, []byte(`"key_label"`), []byte(`"label": 1, "key_label"`), 1), []string{"unknown field", "label"}},
		{"trailing data", append(bytes.Clone(tb.data), "{}"...), []string{"trailing data"}},
		{"entry removed", tb.edit(t, false, func(b *Bundle) { b.Entries = b.Entries[1:] }), []string{"bad digest"}},
		{"two entries removed", tb.edit(t, false, func(b *Bundle) { b.Entries = b.Entries[2:] }), []string{"1 entries, fewer than the threshold 2", "missing the entries of parties [1 2]"}},
		{"duplicate party", tb.edit(t, true, func(b *Bundle) { b.Entries[1] = b.Entries[0] }), []string{"two entries of party 1"}},
		{"unknown party", tb.edit(t, true, func(b *Bundle) { b.Entries[2].Party = 9 }), []string{"entry 3 is of party 9, which is not one of the parties"}},
		{"out of order", tb.edit(t, true, func(b *Bundle) { b.Entries[0], b.Entries[1] = b.Entries[1], b.Entries[0] }), []string{"not in ascending order"}},
		{"entry hash mismatch", tb.edit(t, true, func(b *Bundle) { b.Entries[1].Ciphertext[50] ^= 1 }), []string{"entry of party 2", "does not match its SHA-256"}},
		{"entry of another bundle", tb.edit(t, true, func(b *Bundle) { b.Entries[1] = other.bundle.Entries[1] }), []string{"entry of party 2", "recipients differ", "not encrypted to recipient ssh-ed25519"}},
		{"recipients swapped", tb.edit(t, true, func(b *Bundle) { b.Recipients = other.bundle.Recipients }), []string{"entry of party 1", "recipients differ"}},
		{"recipient dropped", tb.edit(t, true, func(b *Bundle) { b.Recipients = b.Recipients[:1] }), []string{"encrypted to 2 recipients, the bundle lists 1"}},
		{"recipient added", tb.edit(t, true, func(b *Bundle) { b.Recipients = append(b.Recipients, newX25519Operator(t).recipient) }), []string{"encrypted to 2 recipients, the bundle lists 3"}},
		{"recipient duplicated", tb.edit(t, true, func(b *Bundle) { b.Recipients = append(b.Recipients, b.Recipients[0]) }), []string{"recipients 1 and 3 are the same key"}},
		{"recipient not canonical", tb.edit(t, true, func(b *Bundle) { b.Recipients[1] += " alice@laptop" }), []string{"recipient 2 is not in canonical form"}},
		{"bad public key", tb.edit(t, true, func(b *Bundle) { b.PublicKey = b.PublicKey[1:] }), []string{"public key of 31 bytes, a ed25519 key has 32"}},
		{"bad scheme", tb.edit(t, true, func(b *Bundle) { b.Scheme = "rsa" }), []string{"unknown scheme"}},
		{"bad threshold", tb.edit(t, true, func(b *Bundle) { b.Threshold = 4 }), []string{"threshold 4 out of range"}},
		{"bad label", tb.edit(t, true, func(b *Bundle) { b.KeyLabel = "a\nb" }), []string{"control character"}},
		{"no created", tb.edit(t, true, func(b *Bundle) { b.Created = time.Time{} }), []string{"no creation time"}},
		{"digest edited", bytes.Replace(tb.data, []byte(hex.EncodeToString(tb.bundle.Digest)), []byte(strings.Repeat("00", 32)), 1), []string{"bad digest"}},
		{"uppercase hex", bytes.Replace(tb.data, []byte(hex.EncodeToString(tb.bundle.Digest)), []byte(strings.ToUpper(hex.EncodeToString(tb.bundle.Digest))), 1), []string{`JSON field "digest": a character other than 0-9 and a-f, want lowercase hexadecimal`}},
		{"reindented", bytes.ReplaceAll(tb.data, []byte("\n  "), []byte("\n ")), []string{"not in canonical form"}},
		{"too large", make([]byte, MaxBundleSize+1), []string{"at most"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBundle(tc.data)
			wantErr(t, err, append([]string{"invalid bundle"}, tc.want...)...)
			if Verify(tc.data) == nil {
				t.Fatal("Verify accepts what ParseBundle refuses")
			}
		})
	}
}

func TestAssembleRefuses(t *testing.T) {
	tb := newTestBundle(t)
	meta := tb.key.bundleMeta(recipientsOf(tb.ops...))
	other := newTestBundle(t)
	otherKey := keygen(t, protocol.SchemeEd25519, []protocol.PartyID{1, 2, 3}, 2, nil)
	otherKeyEntries := sealAll(t, otherKey, nil, tb.ops...)
	for _, tc := range []struct {
		name    string
		meta    func(*BundleMeta)
		entries []Entry
		want    []string
	}{
		{"too few", nil, tb.entries[:1], []string{"1 entries, fewer than the threshold 2", "parties [2 3]"}},
		{"duplicate", nil, []Entry{tb.entries[0], tb.entries[0], tb.entries[1]}, []string{"two entries of party 1"}},
		{"other recipients", nil, []Entry{tb.entries[0], other.entries[1]}, []string{"entry of party 2", "recipients differ"}},
		{"no recipients", func(m *BundleMeta) { m.Recipients = nil }, tb.entries, []string{"no recipients"}},
		{"bad key id", func(m *BundleMeta) { m.KeyID = "" }, tb.entries, []string{"key id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := meta
			if tc.meta != nil {
				tc.meta(&m)
			}
			_, err := Assemble(m, tc.entries)
			wantErr(t, err, tc.want...)
		})
	}
	// Entries of another key pass the host's checks (it cannot decrypt them), but a restore
	// refuses them.
	b, err := Assemble(meta, otherKeyEntries)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(1, []age.Identity{tb.ops[0].identity})
	wantErr(t, err, "entry of party 1 holds a share of another key")
}

func TestPartialBundle(t *testing.T) {
	tb := newTestBundle(t)
	b, err := Assemble(tb.key.bundleMeta(recipientsOf(tb.ops...)), []Entry{tb.entries[2], tb.entries[0]})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.MissingParties(); !slices.Equal(got, []protocol.PartyID{2}) {
		t.Fatalf("missing %v", got)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseBundle(data); err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(2, []age.Identity{tb.ops[0].identity})
	wantErr(t, err, "no entry of party 2")
}
