package approval

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyFileRoundTrip: the key file holds the key as RFC 8410 PKCS#8 (checked against the fixed
// DER prefix and the RFC 8032 seed, not against the encoder), and parses back to the same key and
// certificate.
func TestKeyFileRoundTrip(t *testing.T) {
	alice, _, _, _ := team(t)
	b, err := MarshalKeyFile(alice.key, alice.cert)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("# certificate: "+alice.cert.String()+"\n")) {
		t.Fatalf("key file does not carry the certificate:\n%s", b)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("no PRIVATE KEY block in\n%s", b)
	}
	const pkcs8Ed25519Prefix = "302e020100300506032b657004220420" // RFC 8410 section 7
	if got := hex.EncodeToString(block.Bytes); got != pkcs8Ed25519Prefix+rfc8032[0].seed {
		t.Fatalf("DER %s, want the RFC 8410 encoding of the seed", got)
	}
	key, cert, err := ParseKeyFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, alice.key) || !cert.Equal(alice.cert) {
		t.Fatal("round trip changed the key or certificate")
	}
}

func TestKeyFileRefused(t *testing.T) {
	alice, bob, _, _ := team(t)
	good, _ := MarshalKeyFile(alice.key, alice.cert)
	bobFile, _ := MarshalKeyFile(bob.key, bob.cert)
	if _, err := MarshalKeyFile(alice.key, bob.cert); err == nil {
		t.Fatal("MarshalKeyFile paired alice's key with bob's certificate")
	}
	s := string(good)
	aliceCertLine := "# certificate: " + alice.cert.String() + "\n"
	bobCertLine := "# certificate: " + bob.cert.String() + "\n"
	cases := map[string]string{
		"empty":             "",
		"no certificate":    strings.Replace(s, aliceCertLine, "", 1),
		"two certificates":  strings.Replace(s, aliceCertLine, aliceCertLine+aliceCertLine, 1),
		"other certificate": strings.Replace(s, aliceCertLine, bobCertLine, 1),
		"tampered cert":     strings.Replace(s, " alice ", " alicia ", 1),
		"text before":       "hello\n" + s,
		"text after":        s + "more\n",
		"two blocks":        s + string(bobFile[strings.Index(string(bobFile), "-----BEGIN"):]),
		"other block type":  strings.ReplaceAll(s, "PRIVATE KEY", "EC PRIVATE KEY"),
		"headers":           strings.Replace(s, "-----BEGIN PRIVATE KEY-----\n", "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n", 1),
		"broken base64":     strings.Replace(s, "-----BEGIN PRIVATE KEY-----\nMC4C", "-----BEGIN PRIVATE KEY-----\n!C4C", 1),
		"no pem":            aliceCertLine,
		"too large":         strings.Repeat("#\n", MaxKeyFileBytes) + s,
	}
	for name, in := range cases {
		key, _, err := ParseKeyFile([]byte(in))
		if !errors.Is(err, ErrMalformed) || key != nil {
			t.Errorf("%s: ParseKeyFile = %v; want ErrMalformed", name, err)
			continue
		}
		// Errors never carry key material.
		if block, _ := pem.Decode(good); strings.Contains(err.Error(), hex.EncodeToString(block.Bytes[16:])) {
			t.Errorf("%s: the error shows the seed", name)
		}
	}
}

// TestKeyFileReadByOpenSSL: OpenSSL reads the key file as it is (comments and all) and derives
// the RFC 8032 public key from it.
func TestKeyFileReadByOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	alice, _, _, _ := team(t)
	b, _ := MarshalKeyFile(alice.key, alice.cert)
	path := filepath.Join(t.TempDir(), "alice.key")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "pkey", "-in", path, "-pubout", "-outform", "DER").Output()
	if err != nil {
		t.Fatalf("openssl pkey: %v", err)
	}
	if len(out) < 32 || hex.EncodeToString(out[len(out)-32:]) != rfc8032[0].public {
		t.Fatalf("openssl derived public key %x, want %s", out, rfc8032[0].public)
	}
}
