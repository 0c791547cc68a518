package txtext

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
)

func TestDecodes(t *testing.T) {
	// RFC 4648 section 10 ("foobar"), and the same bytes in hex.
	if b, err := Base64("test", "a test", "Zm9vYmFy"); err != nil || string(b) != "foobar" {
		t.Errorf("Base64 = %q, %v", b, err)
	}
	if b, err := Base64("test", "a test", "Zm9vYg=="); err != nil || string(b) != "foob" {
		t.Errorf("Base64 = %q, %v", b, err)
	}
	if b, err := Base64("test", "a test", "Zm9v\r\nYmFy"); err != nil || string(b) != "foobar" {
		t.Errorf("Base64 of wrapped text = %q, %v", b, err)
	}
	for _, text := range []string{"666f6f626172", "666F6F626172"} {
		if b, err := Hex("test", "a test", text); err != nil || string(b) != "foobar" {
			t.Errorf("Hex(%s) = %q, %v", text, b, err)
		}
	}
	if b, err := Hex("test", "a test", ""); err != nil || len(b) != 0 {
		t.Errorf("Hex of nothing = %q, %v", b, err)
	}
}

func TestRefusals(t *testing.T) {
	long := strings.Repeat("A", chains.MaxTransactionBytes+4)
	for _, c := range []struct {
		name   string
		decode func(prefix, of, text string) ([]byte, error)
		text   string
		want   string
	}{
		{"unpadded base64", Base64, "Zm9vYg", "test: transaction is not standard padded base64 of a test"},
		{"non-zero padding bits", Base64, "Zm9vYh==", "not standard padded base64"},
		{"base64 with a space", Base64, "Zm9v YmFy", "not standard padded base64"},
		{"URL alphabet", Base64, "-_-_", "not standard padded base64"},
		{"base64 too long", Base64, long, "test: transaction text is 262148 bytes, more than the 262144 allowed"},
		{"0x prefix", Hex, "0x666f", "test: transaction is not hex of a test"},
		{"odd length", Hex, "666", "not hex"},
		{"hex too long", Hex, long[:chains.MaxTransactionBytes+2], "more than the 262144 allowed"},
	} {
		_, err := c.decode("test", "a test", c.text)
		if !errors.Is(err, chains.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrInvalid containing %q", c.name, err, c.want)
		}
	}
}

// FuzzDecode checks that neither decoder panics, that every refusal wraps chains.ErrInvalid,
// and that what they accept is the one text of the bytes decoded (up to hex's letter case and
// base64's line breaks).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"Zm9vYmFy", "Zm9vYh==", "666F6f", "0x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if b, err := Base64("fuzz", "a test", text); err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
		} else if again := base64.StdEncoding.EncodeToString(b); again != strings.NewReplacer("\r", "", "\n", "").Replace(text) {
			t.Fatalf("accepted base64 %q, whose bytes encode as %q", text, again)
		}
		if b, err := Hex("fuzz", "a test", text); err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
		} else if again := hex.EncodeToString(b); !strings.EqualFold(again, text) {
			t.Fatalf("accepted hex %q, whose bytes encode as %q", text, again)
		}
	})
}
