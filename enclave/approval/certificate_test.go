package approval

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCertificateRoundTrip: a certificate's text parses back to the same certificate, carries
// the RFC 8032 public key of its seed, and its self-signature verifies with crypto/ed25519 over
// the documented bytes.
func TestCertificateRoundTrip(t *testing.T) {
	alice, _, _, _ := team(t)
	text := alice.cert.String()
	fields := strings.Split(text, " ")
	if len(fields) != 5 || fields[0] != "mpcsigner-operator-v1" || fields[1] != "alice" || fields[2] != "2025-01-02T03:04:05Z" {
		t.Fatalf("certificate text %q does not have the documented fields", text)
	}
	pub, _ := base64.StdEncoding.DecodeString(fields[3])
	if hex.EncodeToString(pub) != rfc8032[0].public {
		t.Fatalf("public key %x, want RFC 8032's %s", pub, rfc8032[0].public)
	}
	sig, _ := base64.StdEncoding.DecodeString(fields[4])
	signed := "mpcsigner operator certificate v1\n" + strings.Join(fields[1:4], " ")
	if !ed25519.Verify(pub, []byte(signed), sig) {
		t.Fatal("the self-signature does not verify over the documented bytes")
	}
	for _, in := range []string{text, text + "\n", "  " + text + "\r\n"} {
		got, err := ParseCertificate(in)
		if err != nil {
			t.Fatalf("ParseCertificate(%q): %v", in, err)
		}
		if !got.Equal(alice.cert) || got.String() != text {
			t.Fatalf("round trip changed the certificate: %q", got.String())
		}
	}
	if fp := alice.cert.Fingerprint(); !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 {
		t.Errorf("fingerprint %q", fp)
	}
}

// TestCertificateCreatedIsTruncated: the creation time is kept in UTC whole seconds, so the text
// is canonical whatever clock value was given.
func TestCertificateCreatedIsTruncated(t *testing.T) {
	_, bob, _, _ := team(t)
	c, err := NewCertificate(bob.key, "bob", time.Date(2025, 1, 2, 4, 4, 5, 999, time.FixedZone("CET", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.String(), " 2025-01-02T03:04:05Z ") {
		t.Fatalf("created is not UTC whole seconds: %s", c)
	}
	if _, err := ParseCertificate(c.String()); err != nil {
		t.Fatal(err)
	}
}

// TestCertificateTampered: changing any field, or substituting another operator's key or
// signature, breaks the self-signature or the syntax; every refusal wraps ErrMalformed.
func TestCertificateTampered(t *testing.T) {
	alice, bob, _, _ := team(t)
	text := alice.cert.String()
	f := strings.Split(text, " ")
	b := strings.Split(bob.cert.String(), " ")
	join := func(parts ...string) string { return strings.Join(parts, " ") }
	flip := func(s string) string { // change the first base64 character
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	cases := map[string]string{
		"renamed":            join(f[0], "mallory", f[2], f[3], f[4]),
		"redated":            join(f[0], f[1], "2025-01-02T03:04:06Z", f[3], f[4]),
		"other key":          join(f[0], f[1], f[2], b[3], f[4]),
		"other signature":    join(f[0], f[1], f[2], f[3], b[4]),
		"signature bit":      join(f[0], f[1], f[2], f[3], flip(f[4])),
		"key bit":            join(f[0], f[1], f[2], flip(f[3]), f[4]),
		"other tag":          join("mpcsigner-operator-v2", f[1], f[2], f[3], f[4]),
		"double space":       join(f[0], f[1], f[2], f[3], "", f[4]),
		"missing field":      join(f[0], f[1], f[3], f[4]),
		"extra field":        text + " x",
		"uppercase name":     join(f[0], "Alice", f[2], f[3], f[4]),
		"local time":         join(f[0], f[1], "2025-01-02T04:04:05+01:00", f[3], f[4]),
		"fractional seconds": join(f[0], f[1], "2025-01-02T03:04:05.5Z", f[3], f[4]),
		"unpadded key":       join(f[0], f[1], f[2], strings.TrimRight(f[3], "="), f[4]),
		"url base64":         join(f[0], f[1], f[2], strings.NewReplacer("+", "-", "/", "_").Replace(f[3]), f[4]),
		"short signature":    join(f[0], f[1], f[2], f[3], base64.StdEncoding.EncodeToString(make([]byte, 63))),
		"empty":              "",
		"too long":           text + strings.Repeat(" ", 600) + "x",
		"path instead":       "/etc/mpcsigner/alice.cert",
		"json":               `{"name":"alice"}`,
		"tab separated":      strings.ReplaceAll(text, " ", "\t"),
		"newline inside":     join(f[0], f[1], f[2]) + "\n" + join(f[3], f[4]),
		"non-zero pad bits":  join(f[0], f[1], f[2], f[3][:len(f[3])-2]+"B=", f[4]),
	}
	for name, in := range cases {
		if in == text {
			t.Fatalf("%s: the tampered text equals the original", name)
		}
		if _, err := ParseCertificate(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseCertificate = %v; want an error wrapping ErrMalformed", name, err)
		}
	}
}

// TestWeakKeysRefused: a small-order key (for which forged signatures verify over any message)
// and a non-canonical encoding are refused even when "self-signed".
func TestWeakKeysRefused(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	// The identity point encoded non-canonically: y = p + 1.
	nonCanonical, _ := hex.DecodeString("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for name, pub := range map[string][]byte{"identity": identity, "non-canonical": nonCanonical} {
		if err := checkPublicKey(pub); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: checkPublicKey = %v; want ErrMalformed", name, err)
		}
		// With the identity as key, R = identity and S = 0 verify over every message.
		sig := append(append([]byte{}, identity...), make([]byte, 32)...)
		c := Certificate{Name: "eve", PublicKey: pub, Created: created, Signature: sig}
		if name == "identity" && !ed25519.Verify(pub, c.signedBytes(), sig) {
			t.Fatal("the forged self-signature should verify under crypto/ed25519 (else this test tests nothing)")
		}
		if _, err := ParseCertificate(c.String()); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseCertificate = %v; want ErrMalformed", name, err)
		}
	}
}

func TestNewCertificateRefusesBadInput(t *testing.T) {
	alice, _, _, _ := team(t)
	for _, name := range []string{"", "Alice", "-alice", "al ice", "a\nb", strings.Repeat("a", 33), "ålice"} {
		if _, err := NewCertificate(alice.key, name, created); !errors.Is(err, ErrMalformed) {
			t.Errorf("NewCertificate(name %q) = %v; want ErrMalformed", name, err)
		}
	}
	if _, err := NewCertificate(alice.key[:32], "alice", created); err == nil {
		t.Error("NewCertificate accepted a 32-byte key")
	}
	for _, name := range []string{"a", "0", "alice.smith", "ops_team-2", strings.Repeat("z", 32)} {
		if _, err := NewCertificate(alice.key, name, created); err != nil {
			t.Errorf("NewCertificate(name %q): %v", name, err)
		}
	}
}
