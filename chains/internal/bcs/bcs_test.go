package bcs

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
)

// The vectors below are from the BCS specification, github.com/diem/bcs README.md
// ("Booleans and Integers", "ULEB128-Encoded Integers", "Optional Data", "Strings",
// "Structures").

func TestULEB128Vectors(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint32
	}{
		{[]byte{0x01}, 1},
		{[]byte{0x80, 0x01}, 128},
		{[]byte{0x80, 0x80, 0x01}, 16384},
		{[]byte{0x80, 0x80, 0x80, 0x01}, 2097152},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x01}, 268435456},
		{[]byte{0x8f, 0x4a}, 9487},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1<<32 - 1},
	} {
		r := NewReader("test", c.in)
		got, err := r.ULEB128("n")
		if err != nil || got != c.want || r.Left() != 0 {
			t.Errorf("ULEB128(% x) = %d, %v with %d left; want %d", c.in, got, err, r.Left(), c.want)
		}
	}
}

func TestULEB128Refusals(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"2^36, from the spec", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, "ULEB128 longer than five bytes"},
		{"2^33, from the spec", []byte{0x80, 0x80, 0x80, 0x80, 0x10}, "ULEB128 overflows 32 bits"},
		{"80 00, from the spec", []byte{0x80, 0x00}, "ULEB128 is not in its shortest form"},
		{"truncated", []byte{0x80}, "1 bytes needed at offset 1, 0 left"},
	} {
		_, err := NewReader("test", c.in).ULEB128("n")
		wantInvalid(t, c.name, err, "test: n: "+c.want)
	}
}

func TestPrimitives(t *testing.T) {
	in := []byte{
		0x01,                                           // bool true
		0x00, 0xEF, 0xCD, 0xAB, 0x78, 0x56, 0x34, 0x12, // u64 0x12345678ABCDEF00
		0x01, 0x08, // Some(8u8)
		24, 0xc3, 0xa7, 0xc3, 0xa5, 0xe2, 0x88, 0x9e, 0xe2, 0x89, 0xa0, 0xc2, // "çå∞≠¢õß∂ƒ∫"
		0xa2, 0xc3, 0xb5, 0xc3, 0x9f, 0xe2, 0x88, 0x82, 0xc6, 0x92, 0xe2, 0x88, 0xab,
		0x02, 0xC0, 0xDE, // MyStruct.bytes
		0x02, // enum variant 2
	}
	r := NewReader("test", in)
	if b, err := r.Flag("bool"); err != nil || !b {
		t.Fatalf("bool: %v, %v", b, err)
	}
	if v, err := r.U64("u64"); err != nil || v != 0x12345678ABCDEF00 {
		t.Fatalf("u64: %#x, %v", v, err)
	}
	if some, err := r.Flag("option"); err != nil || !some {
		t.Fatalf("option tag: %v, %v", some, err)
	}
	if v, err := r.U8("option value"); err != nil || v != 8 {
		t.Fatalf("option value: %d, %v", v, err)
	}
	if s, err := r.Text("string"); err != nil || s != "çå∞≠¢õß∂ƒ∫" {
		t.Fatalf("string: %q, %v", s, err)
	}
	if b, err := r.Bytes("bytes"); err != nil || string(b) != "\xC0\xDE" {
		t.Fatalf("bytes: %x, %v", b, err)
	}
	if v, err := r.Variant("enum"); err != nil || v != 2 {
		t.Fatalf("variant: %d, %v", v, err)
	}
	if err := r.End("the value"); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		read func(*Reader) error
		want string
	}{
		{"bool 2", []byte{2}, func(r *Reader) error { _, err := r.Flag("b"); return err }, "test: b: 2 is not 0 or 1"},
		{"string not UTF-8", []byte{1, 0xff}, func(r *Reader) error { _, err := r.Text("s"); return err }, "test: s: not UTF-8"},
		{"length past the end", []byte{3, 1, 2}, func(r *Reader) error { _, err := r.Bytes("v"); return err }, "test: v: 3 elements of 1 bytes or more, but 2 bytes left"},
		{"elements past the end", []byte{2, 0, 0, 0}, func(r *Reader) error { _, err := r.Length("v", 2); return err }, "test: v: 2 elements of 2 bytes or more"},
		{"short u64", make([]byte, 7), func(r *Reader) error { _, err := r.U64("u"); return err }, "test: u: 8 bytes needed at offset 0, 7 left"},
		{"short array", make([]byte, 31), func(r *Reader) error { _, err := r.Bytes32("a"); return err }, "test: a: 32 bytes needed"},
		{"trailing bytes", []byte{0, 0}, func(r *Reader) error { _, _ = r.U8("x"); return r.End("the value") }, "test: 1 trailing bytes after the value"},
		{"bad element", []byte{2, 1, 5}, func(r *Reader) error {
			_, err := r.Sequence("v", 1, func(what string) error { _, err := r.Flag(what); return err })
			return err
		}, "test: v[1]: 5 is not 0 or 1"},
	} {
		wantInvalid(t, c.name, c.read(NewReader("test", c.in)), c.want)
	}
}

func TestSequenceNamesElements(t *testing.T) {
	r := NewReader("test", []byte{3, 0, 1, 0})
	var names []string
	n, err := r.Sequence("flags", 1, func(what string) error {
		names = append(names, what)
		_, err := r.Flag(what)
		return err
	})
	if err != nil || n != 3 || strings.Join(names, " ") != "flags[0] flags[1] flags[2]" {
		t.Fatalf("Sequence = %d, %v; elements named %v", n, err, names)
	}
}

// entry is the element of the fuzzed value: (String, bool, Option<u64>).
type entry struct {
	name  string
	flag  bool
	value *uint64
}

// readEntries reads Vec<entry> and nothing after it.
func readEntries(b []byte) ([]entry, error) {
	r := NewReader("fuzz", b)
	var out []entry
	_, err := r.Sequence("entries", 3, func(what string) error {
		var e entry
		var err error
		if e.name, err = r.Text(what + ".name"); err != nil {
			return err
		}
		if e.flag, err = r.Flag(what + ".flag"); err != nil {
			return err
		}
		if some, err := r.Flag(what + ".value option"); err != nil || !some {
			out = append(out, e)
			return err
		}
		v, err := r.U64(what + ".value")
		e.value = &v
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, r.End("the entries")
}

// writeEntries writes Vec<entry> as the spec says, independently of the Reader.
func writeEntries(es []entry) []byte {
	uleb := func(b []byte, v uint32) []byte {
		for v >= 0x80 {
			b = append(b, byte(v)|0x80)
			v >>= 7
		}
		return append(b, byte(v))
	}
	b := uleb(nil, uint32(len(es)))
	for _, e := range es {
		b = append(uleb(b, uint32(len(e.name))), e.name...)
		b = append(b, map[bool]byte{false: 0, true: 1}[e.flag])
		if e.value == nil {
			b = append(b, 0)
			continue
		}
		b = binary.LittleEndian.AppendUint64(append(b, 1), *e.value)
	}
	return b
}

// FuzzReader checks that reading never panics, that every refusal wraps chains.ErrInvalid,
// and that what is accepted is the one canonical encoding of the value read.
func FuzzReader(f *testing.F) {
	seven := uint64(7)
	f.Add(writeEntries([]entry{{name: "a", flag: true, value: &seven}, {name: "çå", flag: false}}))
	f.Add([]byte{0x80, 0x00})
	f.Add([]byte{1, 1, 'x', 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := readEntries(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if again := writeEntries(es); string(again) != string(b) {
			t.Fatalf("accepted % x, whose value encodes as % x", b, again)
		}
	})
}

func wantInvalid(t *testing.T, name string, err error, want string) {
	t.Helper()
	if !errors.Is(err, chains.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: err = %v, want ErrInvalid containing %q", name, err, want)
	}
}
