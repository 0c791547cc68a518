package hostsvc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

func rec(seq uint64, body string) Entry {
	return Entry{Kind: EntryRecord, Seq: seq, Body: []byte(body)}
}
func snap(seq uint64, body string) Entry {
	return Entry{Kind: EntrySnapshot, Seq: seq, Body: []byte(body)}
}

func TestImageRoundTrip(t *testing.T) {
	for name, entries := range map[string][]Entry{
		"empty":              nil,
		"records":            {rec(1, "a"), rec(2, "bb"), rec(3, "ccc")},
		"snapshot":           {snap(7, "state")},
		"snapshot, records":  {snap(7, "state"), rec(8, "x"), rec(9, "y")},
		"one byte of binary": {rec(1, "\x00")},
	} {
		t.Run(name, func(t *testing.T) {
			image := EncodeImage(entries)
			got, err := ParseImage(image)
			if err != nil {
				t.Fatalf("ParseImage: %v", err)
			}
			if diff := cmp.Diff(entries, got); diff != "" {
				t.Fatalf("entries differ (-want +got):\n%s", diff)
			}
			if !bytes.Equal(EncodeImage(got), image) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

// TestImageLayout pins the byte layout the package comment describes, with a CRC-32C computed
// by hand from the Castagnoli polynomial (bit-reflected 0x82F63B78), not by hash/crc32.
func TestImageLayout(t *testing.T) {
	got := EncodeImage([]Entry{rec(1, "hi")})
	want := []byte("MPCSLOG\x01")
	header := []byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 'h', 'i'}
	want = append(want, header...)
	want = binary.BigEndian.AppendUint32(want, crc32cByHand(header))
	if !bytes.Equal(got, want) {
		t.Fatalf("image\n got %x\nwant %x", got, want)
	}
}

func crc32cByHand(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestCRC32CByHandKnownValue(t *testing.T) {
	// RFC 3720 B.4: CRC-32C of 32 zero bytes is 0x8A9136AA.
	if got := crc32cByHand(make([]byte, 32)); got != 0x8A9136AA {
		t.Fatalf("crc32c(32 zero bytes) = %#x, want 0x8a9136aa", got)
	}
}

func TestParseImageRefuses(t *testing.T) {
	good := EncodeImage([]Entry{rec(1, "a"), rec(2, "b")})
	withEntry := func(e Entry) []byte { return EncodeImage([]Entry{e}) }
	flipped := bytes.Clone(good)
	flipped[len(ImageMagic)+entryHeaderLen] ^= 1 // a body byte: the CRC no longer matches
	cases := map[string][]byte{
		"no magic":                 []byte("MPCSLOG\x02"),
		"short magic":              []byte("MPCS"),
		"nothing":                  nil,
		"truncated entry":          good[:len(good)-1],
		"truncated header":         good[:len(ImageMagic)+3],
		"trailing byte":            append(bytes.Clone(good), 0),
		"CRC mismatch":             flipped,
		"unknown kind":             withEntry(Entry{Kind: 3, Seq: 1, Body: []byte("x")}),
		"kind zero":                withEntry(Entry{Kind: 0, Seq: 1, Body: []byte("x")}),
		"empty body":               withEntry(Entry{Kind: EntryRecord, Seq: 1}),
		"record 0":                 withEntry(rec(0, "x")),
		"first record 2":           withEntry(rec(2, "x")),
		"snapshot 0":               withEntry(snap(0, "x")),
		"gap":                      EncodeImage([]Entry{rec(1, "a"), rec(3, "c")}),
		"repeat":                   EncodeImage([]Entry{rec(1, "a"), rec(1, "a")}),
		"snapshot after a record":  EncodeImage([]Entry{rec(1, "a"), snap(1, "s")}),
		"record before snapshot's": EncodeImage([]Entry{snap(5, "s"), rec(5, "a")}),
		"body over the limit":      oversizedHeader(),
	}
	for name, image := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseImage(image); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("ParseImage = %v, want an error wrapping wire.ErrMalformed", err)
			}
		})
	}
}

// oversizedHeader is an image whose only entry claims a body over MaxEntryBody.
func oversizedHeader() []byte {
	b := []byte(ImageMagic)
	b = append(b, byte(EntryRecord))
	b = binary.BigEndian.AppendUint64(b, 1)
	return binary.BigEndian.AppendUint32(b, MaxEntryBody+1)
}

func FuzzParseImage(f *testing.F) {
	f.Add(EncodeImage(nil))
	f.Add(EncodeImage([]Entry{snap(3, "s"), rec(4, "a"), rec(5, "bc")}))
	f.Add(oversizedHeader())
	f.Fuzz(func(t *testing.T, in []byte) {
		entries, err := ParseImage(in)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v does not wrap wire.ErrMalformed", err)
			}
			return
		}
		if out := EncodeImage(entries); !bytes.Equal(out, in) {
			t.Fatalf("image %x re-encodes as %x", in, out)
		}
	})
}
