package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestPKCS11EdDSAAgainstDevnet drives the real module with OpenSC's pkcs11-tool against a
// devnet that holds a threshold Ed25519 key: slot 1 lists it (CKK_EC_EDWARDS, id-Ed25519
// params), pkcs11-tool signs files with CKM_EDDSA in one part and in many, and every signature
// is verified by OpenSSL and by crypto/ed25519 over the file. Slot 0 must not show the key, and
// OpenSSL's libp11 engine, which fails on a token holding Ed25519 keys, must still sign with
// slot 0's keys.
func TestPKCS11EdDSAAgainstDevnet(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Skip("pkcs11-tool (Debian package opensc) is not installed: the PKCS#11 module's EdDSA slot was not tried with a real client (.ci/run installs it)")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: PKCS#11 Ed25519 signatures cannot be verified independently")
	}
	module := buildPKCS11Module(t)
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	if d.info.PKCS11.Config == "" || d.info.PKCS11.UserPIN == "" {
		t.Fatalf("devnet.json names no PKCS#11 configuration: %+v", d.info.PKCS11)
	}
	p11 := func(args ...string) (string, error) {
		cmd := exec.Command(tool, append([]string{"--module", module}, args...)...)
		cmd.Env = append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+d.info.PKCS11.Config)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := p11(args...)
		if err != nil {
			t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	login := []string{"--login", "--pin", d.info.PKCS11.UserPIN}
	slot1 := append([]string{"--slot", "1"}, login...)

	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ed25519", "--label", "p11-ed")
	pub, err := hex.DecodeString(key.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("key create printed %+v", key)
	}
	pemFile := ed25519PEM(t, pub)

	if out := run("--slot", "1", "-M"); !strings.Contains(out, "EDDSA") {
		t.Fatalf("slot 1 does not list CKM_EDDSA:\n%s", out)
	}
	listing := run(append(slot1, "-O")...)
	for _, want := range []string{"Private Key Object; EC_EDWARDS", "Public Key Object; EC_EDWARDS",
		"EC_POINT:   0420" + key.PublicKey, "EC_PARAMS:  06032b6570 (OID 1.3.101.112)"} {
		if !strings.Contains(listing, want) {
			t.Fatalf("slot 1 listing lacks %q:\n%s", want, listing)
		}
	}
	id := objectID(t, listing, "p11-ed")
	if id != hex.EncodeToString([]byte(key.ID)) {
		t.Fatalf("CKA_ID %s is not the key id %s", id, key.ID)
	}
	if out := run(append([]string{"--slot", "0"}, append(login, "-O")...)...); strings.Contains(out, "EC_EDWARDS") || strings.Contains(out, "p11-ed") || strings.Contains(out, id) {
		t.Fatalf("slot 0 shows the Ed25519 key:\n%s", out)
	}

	// pkcs11-tool reads the key back through the module and OpenSSL (from CKA_EC_PARAMS and
	// CKA_EC_POINT): it must be the cluster's.
	dir := t.TempDir()
	readBack := filepath.Join(dir, "readback.pem")
	run("--slot", "1", "--read-object", "--type", "pubkey", "--id", id, "--output-file", readBack)
	if got := pemEd25519Key(t, readBack); !got.Equal(ed25519.PublicKey(pub)) {
		t.Fatalf("pkcs11-tool read back %x, the cluster's key is %x", got, pub)
	}

	// pkcs11-tool 0.23 signs input under 1025 bytes with one C_Sign, and longer input with
	// C_SignUpdate in 1025-byte parts and C_SignFinal.
	for _, size := range []int{1, 300, 5000, api.MaxMessageBytes} {
		msg := make([]byte, size)
		_, _ = rand.Read(msg)
		in, sig := filepath.Join(dir, "msg.bin"), filepath.Join(dir, "msg.sig")
		if err := os.WriteFile(in, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		run(append(slot1, "--sign", "-m", "EDDSA", "--id", id, "--input-file", in, "--output-file", sig)...)
		raw, err := os.ReadFile(sig)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(pub, msg, raw) {
			t.Fatalf("crypto/ed25519 rejects the %d-byte message's signature %x", size, raw)
		}
		if out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pemFile, "-rawin", "-in", in, "-sigfile", sig).CombinedOutput(); err != nil {
			t.Fatalf("openssl rejects the %d-byte message's signature: %v\n%s", size, err, out)
		}
		// C_Verify, done by the module with the public key object.
		if out := run("--slot", "1", "--verify", "-m", "EDDSA", "--id", id, "--input-file", in, "--signature-file", sig); !strings.Contains(out, "Signature is valid") {
			t.Fatalf("C_Verify of the %d-byte message:\n%s", size, out)
		}
	}

	t.Run("C_Verify refuses a wrong signature", func(t *testing.T) {
		in, sig := filepath.Join(dir, "msg.bin"), filepath.Join(dir, "msg.sig")
		raw, err := os.ReadFile(sig)
		if err != nil {
			t.Fatal(err)
		}
		raw[0] ^= 1
		if err := os.WriteFile(sig, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if out := run("--slot", "1", "--verify", "-m", "EDDSA", "--id", id, "--input-file", in, "--signature-file", sig); !strings.Contains(out, "Invalid signature") {
			t.Fatalf("C_Verify of an altered signature:\n%s", out)
		}
	})

	t.Run("over the size limit", func(t *testing.T) {
		in := filepath.Join(dir, "big.bin")
		if err := os.WriteFile(in, make([]byte, api.MaxMessageBytes+1), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := p11(append(slot1, "--sign", "-m", "EDDSA", "--id", id, "--input-file", in, "--output-file", filepath.Join(dir, "big.sig"))...)
		if err == nil || !strings.Contains(out, "CKR_DATA_LEN_RANGE") {
			t.Fatalf("a message over %d bytes: want CKR_DATA_LEN_RANGE, got %v:\n%s", api.MaxMessageBytes, err, out)
		}
	})

	t.Run("libp11 engine on slot 0 beside an Ed25519 key", func(t *testing.T) {
		digest := filepath.Join(dir, "digest.bin")
		d32 := make([]byte, 32)
		_, _ = rand.Read(d32)
		if err := os.WriteFile(digest, d32, 0o600); err != nil {
			t.Fatal(err)
		}
		pubDER := keyScript(t, run, login, openssl, dir, digest, "EC:prime256v1", "p11-p256-beside-ed", "")
		signWithOpenSSLEngine(t, openssl, module, d, "p11-p256-beside-ed", digest, pubDER)
	})
}

// ed25519PEM writes an Ed25519 public key as the PEM SubjectPublicKeyInfo OpenSSL reads.
func ed25519PEM(t *testing.T, pub []byte) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ed25519.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// pemEd25519Key reads the Ed25519 key of a PEM SubjectPublicKeyInfo file.
func pemEd25519Key(t *testing.T, file string) ed25519.PublicKey {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s is not PEM:\n%s", file, raw)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		t.Fatalf("%s holds a %T, not an Ed25519 key", file, k)
	}
	return pub
}
