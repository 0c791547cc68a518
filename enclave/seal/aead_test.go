package seal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustAEAD(t *testing.T, key []byte) *AEAD {
	t.Helper()
	a, err := NewAEAD(key)
	if err != nil {
		t.Fatalf("NewAEAD: %v", err)
	}
	return a
}

func TestAEADRoundTrip(t *testing.T) {
	a := mustAEAD(t, testKey(1))
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("share"), 1000)} {
		sealed := a.Seal(pt, []byte("record/1"))
		if len(sealed) != len(pt)+Overhead {
			t.Fatalf("sealed length %d, want %d", len(sealed), len(pt)+Overhead)
		}
		if sealed[0] != 1 {
			t.Fatalf("version byte %d, want 1", sealed[0])
		}
		got, err := a.Open(sealed, []byte("record/1"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	}
}

func TestAEADNoncesDiffer(t *testing.T) {
	a := mustAEAD(t, testKey(1))
	x, y := a.Seal([]byte("same"), nil), a.Seal([]byte("same"), nil)
	if bytes.Equal(x, y) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestAEADOpenFailures(t *testing.T) {
	a := mustAEAD(t, testKey(1))
	other := mustAEAD(t, testKey(2))
	aad := []byte("record/1")
	sealed := a.Seal([]byte("secret share"), aad)

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 0x01
	badVersion := bytes.Clone(sealed)
	badVersion[0] = 2

	cases := []struct {
		name   string
		aead   *AEAD
		sealed []byte
		aad    []byte
	}{
		{"wrong key", other, sealed, aad},
		{"wrong aad", a, sealed, []byte("record/2")},
		{"empty aad", a, sealed, nil},
		{"flipped byte", a, flipped, aad},
		{"wrong version", a, badVersion, aad},
		{"truncated tag", a, sealed[:len(sealed)-1], aad},
		{"too short", a, sealed[:Overhead-1], aad},
		{"empty", a, nil, aad},
		{"zero AEAD", &AEAD{}, sealed, aad},
		{"nil AEAD", nil, sealed, aad},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.aead.Open(tc.sealed, tc.aad)
			if !errors.Is(err, ErrUnseal) {
				t.Fatalf("err = %v, want ErrUnseal", err)
			}
			if got != nil {
				t.Fatal("Open returned plaintext along with an error")
			}
		})
	}
}

func TestNewAEADRejectsWrongKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := NewAEAD(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("%d-byte key: err = %v, want ErrKeySize", n, err)
		}
	}
}

func TestStatic(t *testing.T) {
	s := Static(testKey(9))
	key, err := s.DataKey(context.Background())
	if err != nil {
		t.Fatalf("DataKey: %v", err)
	}
	if !bytes.Equal(key, s) {
		t.Fatal("DataKey did not return the static key")
	}
	clear(key)
	if s[0] != 9 {
		t.Fatal("DataKey returned the Static itself, not a copy")
	}
	if _, err := Static(make([]byte, 31)).DataKey(context.Background()); !errors.Is(err, ErrKeySize) {
		t.Fatalf("31-byte Static: err = %v, want ErrKeySize", err)
	}
	if _, err := Static(nil).DataKey(context.Background()); !errors.Is(err, ErrKeySize) {
		t.Fatalf("nil Static: err = %v, want ErrKeySize", err)
	}
}

func TestStaticNeverPrintsKey(t *testing.T) {
	s := Static(bytes.Repeat([]byte{0x5A}, KeySize)) // 'Z'
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "key", s)
	js, err := json.Marshal(struct{ K Static }{s})
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %x %X %q %d", s, s, s, s, s, s, s, s),
		logged.String(), string(js),
	}
	for _, out := range outputs {
		if strings.Contains(out, "ZZZZ") || strings.Contains(out, "5a5a") || strings.Contains(out, "5A5A") ||
			strings.Contains(out, "90 90") || strings.Contains(out, "WlpaWl") {
			t.Errorf("key material printed: %s", out)
		}
	}
	a := mustAEAD(t, s)
	if out := fmt.Sprintf("%v %+v %#v", a, a, a); strings.Contains(out, "0x") {
		t.Errorf("AEAD internals printed: %s", out)
	}
}
