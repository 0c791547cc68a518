package cosmos

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/pbwire"
)

// singular tracks the non-repeated fields of one message, so that a second copy (which
// protobuf would silently merge or overwrite) is refused.
type singular map[protowire.Number]bool

// take checks that f has wire type want and, unless repeated, that it is the first copy.
func (s singular) take(what string, f pbwire.Field, want protowire.Type, repeated bool) error {
	if f.Type != want {
		return chains.Invalid("%s: field %d has wire type %d, want %d", what, f.Num, f.Type, want)
	}
	if repeated {
		return nil
	}
	if s[f.Num] {
		return chains.Invalid("%s: field %d appears twice", what, f.Num)
	}
	s[f.Num] = true
	return nil
}

// text returns a string field's content, refusing invalid UTF-8 as proto3 does.
func text(what string, f pbwire.Field) (string, error) {
	if !utf8.Valid(f.Bytes) {
		return "", chains.Invalid("%s: field %d is not valid UTF-8", what, f.Num)
	}
	return string(f.Bytes), nil
}
