package derive

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"m", "m/0/7", "0/7", "m/0'", "m/0h", "m//1", "m/2147483648", "m/007", "", "m/", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path, err := ParsePath(s)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if err := CheckPath(path); err != nil {
			t.Fatalf("ParsePath(%q) gave a path Child refuses: %v", s, err)
		}
		// What parses is canonical: it formats back to itself, with or without "m/".
		back := FormatPath(path)
		if back != s && "m/"+s != back {
			t.Fatalf("ParsePath(%q) = %v formats as %q", s, path, back)
		}
		again, err := ParsePath(back)
		if err != nil || !slices.Equal(again, path) {
			t.Fatalf("FormatPath output %q parses to %v, %v", back, again, err)
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	nonce := bytes.Repeat([]byte{7}, nonceSize)
	for _, m := range []*message{
		{kind: kindCommit, from: 1, value: [32]byte{1}},
		{kind: kindReveal, from: 65535, value: [32]byte{2}, view: [32]byte{3}},
	} {
		copy(m.nonce[:], nonce)
		f.Add(encodePayload(m))
	}
	f.Add([]byte{})
	f.Add([]byte{payloadVersion, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePayload(b)
		if err != nil {
			return
		}
		if again := encodePayload(m); !bytes.Equal(again, b) {
			t.Fatalf("payload %x re-encodes to %x", b, again)
		}
	})
}

func FuzzChild(f *testing.F) {
	priv, cc := testKey(f, "fuzz")
	f.Add(priv.PubKey().SerializeCompressed(), cc[:], uint32(0), uint32(7))
	f.Add(bytes.Repeat([]byte{2}, 33), cc[:], uint32(HardenedStart), uint32(1))
	f.Fuzz(func(t *testing.T, parent, chainCode []byte, a, b uint32) {
		var d protocol.Derivation
		copy(d.ChainCode[:], chainCode)
		d.Path = []uint32{a, b}
		child, err := Child(parent, d)
		if err != nil {
			if (a >= HardenedStart || b >= HardenedStart) != errors.Is(err, ErrHardened) {
				t.Fatalf("hardened %d/%d: %v", a, b, err)
			}
			return
		}
		if len(child.PublicKey) != 33 || child.Depth != 2 || child.ChildNumber != b {
			t.Fatalf("child %v", child)
		}
	})
}
