package main

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPKCS11ToolAgainstDevnet loads the real libmpcsigner-pkcs11.so into OpenSC's pkcs11-tool,
// unchanged, against a devnet: list the slots, generate a threshold P-256 key and a secp256k1
// key through C_GenerateKeyPair, sign with each through C_Sign, and verify every signature with
// OpenSSL using the public key read back through the module.
func TestPKCS11ToolAgainstDevnet(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Skip("pkcs11-tool (Debian package opensc) is not installed: the PKCS#11 module was not tried with a real client (.ci/run installs it)")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: PKCS#11 signatures cannot be verified independently")
	}
	module := buildPKCS11Module(t)
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	if d.info.PKCS11.Config == "" || d.info.PKCS11.UserPIN == "" {
		t.Fatalf("devnet.json names no PKCS#11 configuration: %+v", d.info.PKCS11)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tool, append([]string{"--module", module}, args...)...)
		cmd.Env = append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+d.info.PKCS11.Config)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	login := []string{"--login", "--pin", d.info.PKCS11.UserPIN}

	if out := run("-L"); !strings.Contains(out, "mpcsigner ECDSA") || !strings.Contains(out, "mpcsigner EdDSA") {
		t.Fatalf("slot list:\n%s", out)
	}
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest.bin")
	d32 := make([]byte, 32)
	_, _ = rand.Read(d32)
	if err := os.WriteFile(digest, d32, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kt := range []struct{ keyType, label string }{{"EC:prime256v1", "p11-p256"}, {"EC:secp256k1", "p11-k1"}} {
		t.Run(kt.keyType, func(t *testing.T) {
			out := run(append(login, "--keypairgen", "--key-type", kt.keyType, "--label", kt.label)...)
			if !strings.Contains(out, "never extractable") || !strings.Contains(out, "sensitive") {
				t.Fatalf("generated key is not shown sensitive and never extractable:\n%s", out)
			}
			// pkcs11-tool 0.23 picks the first private key for --sign whatever --label says, so
			// name the key by its CKA_ID.
			id := objectID(t, run(append(login, "-O")...), kt.label)
			sig, pub := filepath.Join(dir, kt.label+".sig"), filepath.Join(dir, kt.label+".pub")
			run(append(login, "--sign", "--mechanism", "ECDSA", "--id", id, "--input-file", digest, "--output-file", sig, "--signature-format", "openssl")...)
			run("--read-object", "--type", "pubkey", "--id", id, "--output-file", pub)
			out2, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", pub, "-sigfile", sig, "-in", digest).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl rejects the %s signature made through the module: %v\n%s", kt.keyType, err, out2)
			}
		})
	}
}

// objectID finds the hex CKA_ID of the private key with the given label in pkcs11-tool -O output.
func objectID(t *testing.T, listing, label string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^Private Key Object.*\n(?:\s+.*\n)*?\s+label:\s+` + regexp.QuoteMeta(label) + `\n\s+ID:\s+([0-9a-f]+)`)
	m := re.FindStringSubmatch(listing)
	if m == nil {
		t.Fatalf("no private key labelled %s in:\n%s", label, listing)
	}
	return m[1]
}

// buildPKCS11Module builds the module as `make pkcs11` does.
func buildPKCS11Module(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "libmpcsigner-pkcs11.so")
	exports, err := filepath.Abs(filepath.Join("..", "..", "pkcs11", "cmd", "libmpcsigner-pkcs11", "exports.map"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-extldflags=-Wl,--version-script="+exports, "-o", out, "./pkcs11/cmd/libmpcsigner-pkcs11")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the PKCS#11 module: %v\n%s", err, b)
	}
	return out
}
