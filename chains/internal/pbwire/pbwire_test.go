package pbwire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// TestReadFieldsVectors reads the examples of the protobuf encoding guide
// (protobuf.dev/programming-guides/encoding: "A Simple Message", "Length-Delimited Records")
// and one field of each fixed width.
func TestReadFieldsVectors(t *testing.T) {
	b := []byte{
		0x08, 0x96, 0x01, // 1: 150
		0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67, // 2: {"testing"}
		0x1d, 1, 2, 3, 4, // 3: fixed32
		0x21, 1, 2, 3, 4, 5, 6, 7, 8, // 4: fixed64
		0x12, 0x00, // 2: {} again: repetition is the schema's business
	}
	got, err := ReadFields("test", b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Num: 1, Type: protowire.VarintType, Varint: 150},
		{Num: 2, Type: protowire.BytesType, Bytes: []byte("testing")},
		{Num: 3, Type: protowire.Fixed32Type},
		{Num: 4, Type: protowire.Fixed64Type},
		{Num: 2, Type: protowire.BytesType, Bytes: []byte{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if fields, err := ReadFields("test", nil); err != nil || len(fields) != 0 {
		t.Fatalf("empty message: %v, %v", fields, err)
	}
}

func TestReadFieldsRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"non-minimal tag", []byte{0x88, 0x00, 0x01}, "test: field 1 has a non-minimal tag"},
		{"non-minimal varint", []byte{0x08, 0x81, 0x00}, "test: field 1 has a non-minimal varint"},
		{"non-minimal length", []byte{0x12, 0x81, 0x00, 'x'}, "test: field 2 has a non-minimal length"},
		{"start group", []byte{0x0b}, "test: field 1 has wire type 3 (a group)"},
		{"end group", []byte{0x0c}, "test: field 1 has wire type 4 (a group)"},
		{"field number 0", []byte{0x00, 0x01}, "test: malformed field tag"},
		{"truncated tag", []byte{0x80}, "test: malformed field tag"},
		{"truncated varint", []byte{0x08, 0x80}, "test: field 1:"},
		{"length past the end", []byte{0x12, 0x05, 'x'}, "test: field 2:"},
		{"truncated fixed64", []byte{0x21, 1, 2, 3}, "test: field 4:"},
		{"good field, then a bad one", []byte{0x08, 0x01, 0x10}, "test: field 2:"},
	} {
		_, err := ReadFields("test", c.in)
		if !errors.Is(err, chains.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrInvalid containing %q", c.name, err, c.want)
		}
	}
}

// encode writes fields back with protowire's encoders, which write the minimal form. A
// fixed-width value is not kept, so it is copied from the original, which must already agree
// up to it.
func encode(t *testing.T, original []byte, fields []Field) []byte {
	t.Helper()
	var b []byte
	for _, f := range fields {
		b = protowire.AppendTag(b, f.Num, f.Type)
		if !bytes.HasPrefix(original, b) {
			t.Fatalf("field %d's tag re-encodes differently: % x is not a prefix of % x", f.Num, b, original)
		}
		switch f.Type {
		case protowire.VarintType:
			b = protowire.AppendVarint(b, f.Varint)
		case protowire.BytesType:
			b = protowire.AppendBytes(b, f.Bytes)
		case protowire.Fixed32Type:
			b = append(b, original[len(b):len(b)+4]...)
		case protowire.Fixed64Type:
			b = append(b, original[len(b):len(b)+8]...)
		default:
			t.Fatalf("accepted wire type %d", f.Type)
		}
	}
	return b
}

// FuzzReadFields checks that ReadFields never panics, that every refusal wraps
// chains.ErrInvalid, and that what it accepts is the minimal encoding of the fields read.
func FuzzReadFields(f *testing.F) {
	f.Add([]byte{0x08, 0x96, 0x01, 0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67})
	f.Add([]byte{0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x88, 0x00, 0x01})
	f.Add([]byte{0x0b})
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := ReadFields("fuzz", b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if again := encode(t, b, fields); !bytes.Equal(again, b) {
			t.Fatalf("accepted % x, whose fields encode as % x", b, again)
		}
	})
}
