package backup

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// FuzzParseBundle checks that ParseBundle never panics, and that whatever it accepts is
// canonical: it serializes back to the very bytes it was parsed from, and passes Check.
func FuzzParseBundle(f *testing.F) {
	tb := newTestBundle(f)
	f.Add(tb.data)
	f.Add(tb.edit(f, true, func(b *Bundle) { b.Entries = b.Entries[:2] }))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2,"x":1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if b != nil {
				t.Fatal("a bundle came back with an error")
			}
			return
		}
		out, err := b.Marshal()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("an accepted bundle does not serialize back to its input: %v", err)
		}
		if err := b.Check(); err != nil {
			t.Fatalf("an accepted bundle fails Check: %v", err)
		}
	})
}

// FuzzCombinePieces feeds newline-separated pieces to CombinePieces, which must never panic
// and only ever return an identity whose recipient the pieces record.
func FuzzCombinePieces(f *testing.F) {
	id := NewRecoveryIdentity()
	pieces, err := SplitIdentity(id, 2, 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(strings.Join(pieces[:2], "\n"))
	f.Add(pieces[0] + "\n" + pieces[0])
	f.Add(pieces[2])
	f.Add("mpcsigner-recovery-piece-1:AAAA\nmpcsigner-recovery-piece-2:")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CombinePieces(strings.Split(s, "\n"))
		if err != nil {
			return
		}
		p, err := parsePiece(strings.Split(s, "\n")[0])
		if err != nil {
			t.Fatalf("combined, but the first piece does not parse: %v", err)
		}
		if key, _ := recipientKey(got.Recipient()); key != p.recipient {
			t.Fatal("combined to an identity other than the one the pieces record")
		}
	})
}

// FuzzDecodePlaintext checks that an entry's plaintext decoder never panics and only accepts
// complete metadata.
func FuzzDecodePlaintext(f *testing.F) {
	k := keyOf(f, protocol.SchemeEd25519)
	m := k.meta(1)
	f.Add(encodePlaintext(k.shares[1], &m, nil))
	m.ChainCode = bytes.Repeat([]byte{0xcc}, ChainCodeSize)
	f.Add(encodePlaintext([]byte("share"), &m, []byte{1, 2}))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodePlaintext(b)
		if err != nil {
			return
		}
		if err := o.Meta.check(); err != nil || len(o.Share) == 0 {
			t.Fatalf("accepted a plaintext with invalid metadata: %v", err)
		}
	})
}
