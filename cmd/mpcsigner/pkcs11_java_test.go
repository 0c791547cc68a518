package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestJavaSunPKCS11AgainstDevnet loads the real module into Java's SunPKCS11 provider against a
// devnet: a small Java program (testdata/sunpkcs11, compiled here with javac) logs in through
// KeyStore "PKCS11", lists its aliases, generates a P-256 key pair (a threshold key generation
// on the cluster) and signs a message with SHA256withECDSA. The signature is verified with
// crypto/ecdsa against the public key the cluster reports for that key; the same is done on
// secp256k1 (verified with btcec), a configuration without a label is shown to be refused, and
// keytool lists the token. README "Java (SunPKCS11)" describes the configuration and what this
// shows.
func TestJavaSunPKCS11AgainstDevnet(t *testing.T) {
	tools := map[string]string{}
	for _, tool := range []string{"javac", "java", "keytool"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s (Debian package openjdk-17-jdk-headless) is not installed: the PKCS#11 module was not tried with Java's SunPKCS11 (.ci/run installs it)", tool)
		}
		tools[tool] = p
	}
	classes := t.TempDir()
	if out, err := exec.Command(tools["javac"], "-d", classes, filepath.Join("testdata", "sunpkcs11", "SunPKCS11Client.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	module := buildPKCS11Module(t)
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	env := append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+d.info.PKCS11.Config)
	dir := t.TempDir()

	msg := make([]byte, 300)
	_, _ = rand.Read(msg)
	cfg := writeSunPKCS11Config(t, dir, module, "java-p256")
	lines := mustRunSunPKCS11Client(t, tools["java"], classes, env, cfg, d.info.PKCS11.UserPIN, msg, "secp256r1")
	if lines["PROVIDER"] != "SunPKCS11-mpcsigner" || lines["SIGNED-BY"] != "SunPKCS11-mpcsigner" {
		t.Fatalf("the provider was not the module: %v", lines)
	}
	// SunPKCS11's KeyStore shows a private key only with a certificate of the same CKA_ID, and
	// the module holds no certificates (README).
	if lines["ALIASES"] != "0 []" {
		t.Fatalf("KeyStore aliases: %q", lines["ALIASES"])
	}
	var key api.Key
	d.cliJSON(t, &key, "key", "show", "java-p256")
	pub := p256Key(t, key)
	javaPub, err := hex.DecodeString(lines["PUBLIC"])
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParsePKIXPublicKey(javaPub)
	if err != nil || !pub.Equal(parsed) {
		t.Fatalf("Java's public key %x is not the cluster's key %s: %v", javaPub, key.PublicKey, err)
	}
	sig, err := hex.DecodeString(lines["SIGNATURE"])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatalf("crypto/ecdsa rejects SunPKCS11's SHA256withECDSA signature %x under %s", sig, key.PublicKey)
	}

	// SunPKCS11 (JDK 17) encodes secp256k1's OID itself, although the JDK's own EC provider
	// dropped the curve: the module's secp256k1 keys work too.
	t.Run("secp256k1", func(t *testing.T) {
		lines := mustRunSunPKCS11Client(t, tools["java"], classes, env, writeSunPKCS11Config(t, dir, module, "java-k1"), d.info.PKCS11.UserPIN, msg, "secp256k1")
		var key api.Key
		d.cliJSON(t, &key, "key", "show", "java-k1")
		pub := secp256k1Key(t, key)
		if got := spkiPoint(t, lines["PUBLIC"], oidSecp256k1); !bytes.Equal(got, pub.SerializeUncompressed()) {
			t.Fatalf("Java's public key %x is not the cluster's key %s", got, key.PublicKey)
		}
		der, err := hex.DecodeString(lines["SIGNATURE"])
		if err != nil {
			t.Fatal(err)
		}
		sig, err := becdsa.ParseDERSignature(der)
		if err != nil || !sig.Verify(digest[:], pub) {
			t.Fatalf("btcec rejects SunPKCS11's secp256k1 signature %x: %v", der, err)
		}
	})

	// Without a CKA_LABEL in the configuration SunPKCS11 asks for an unnamed key, which the
	// cluster refuses (labels are required and unique): the module answers
	// CKR_TEMPLATE_INCONSISTENT and no key is made.
	t.Run("no label configured", func(t *testing.T) {
		bare := filepath.Join(dir, "bare.cfg")
		if err := os.WriteFile(bare, []byte("name = mpcsigner\nlibrary = "+module+"\nslot = 0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var before api.KeyList
		d.cliJSON(t, &before, "key", "list")
		lines, err := runSunPKCS11Client(tools["java"], classes, env, bare, d.info.PKCS11.UserPIN, msg, "secp256r1")
		if err == nil || !strings.Contains(lines["REFUSED"], "CKR_TEMPLATE_INCONSISTENT") {
			t.Fatalf("an unnamed key generation: %v, %v", err, lines)
		}
		var after api.KeyList
		d.cliJSON(t, &after, "key", "list")
		if len(after.Keys) != len(before.Keys) {
			t.Fatalf("a refused generation made a key: %+v", after.Keys)
		}
	})

	t.Run("keytool", func(t *testing.T) {
		cmd := exec.Command(tools["keytool"], "-list", "-keystore", "NONE", "-storetype", "PKCS11",
			"-providerclass", "sun.security.pkcs11.SunPKCS11", "-providerarg", cfg, "-storepass", d.info.PKCS11.UserPIN)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Keystore type: PKCS11") || !strings.Contains(string(out), "Your keystore contains 0 entries") {
			t.Fatalf("keytool -list: %v\n%s", err, out)
		}
		t.Logf("keytool -list:\n%s", out)
	})
}

// writeSunPKCS11Config writes a SunPKCS11 configuration for the module's slot 0. Key pairs that
// SunPKCS11 generates carry no CKA_LABEL of their own, and the cluster requires a unique one,
// so the configuration names it.
func writeSunPKCS11Config(t *testing.T, dir, module, label string) string {
	t.Helper()
	cfg := filepath.Join(dir, label+".cfg")
	body := fmt.Sprintf(`name = mpcsigner
library = %s
slot = 0
attributes(generate, CKO_PRIVATE_KEY, CKK_EC) = {
  CKA_TOKEN = true
  CKA_LABEL = 0h%s
}
attributes(generate, CKO_PUBLIC_KEY, CKK_EC) = {
  CKA_TOKEN = true
}
`, module, hex.EncodeToString([]byte(label)))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runSunPKCS11Client runs the Java program and returns its "TAG value" lines by tag.
func runSunPKCS11Client(java, classes string, env []string, cfg, pin string, msg []byte, curve string) (map[string]string, error) {
	cmd := exec.Command(java, "-cp", classes, "SunPKCS11Client", cfg, pin, hex.EncodeToString(msg), curve)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	lines := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		tag, val, _ := strings.Cut(sc.Text(), " ")
		lines[tag] = val
	}
	if err != nil {
		return lines, fmt.Errorf("java SunPKCS11Client %s: %v\n%s", curve, err, out)
	}
	return lines, nil
}

// mustRunSunPKCS11Client runs the Java program, which must succeed.
func mustRunSunPKCS11Client(t *testing.T, java, classes string, env []string, cfg, pin string, msg []byte, curve string) map[string]string {
	t.Helper()
	lines, err := runSunPKCS11Client(java, classes, env, cfg, pin, msg, curve)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("java SunPKCS11Client on %s: %v", curve, lines)
	return lines
}

// p256Key decodes a P-256 key's compressed public key as the cluster reports it.
func p256Key(t *testing.T, k api.Key) *ecdsa.PublicKey {
	t.Helper()
	b, err := hex.DecodeString(k.PublicKey)
	if err != nil || k.Scheme != "ecdsa-p256" {
		t.Fatalf("key %+v is not a P-256 key", k)
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
	if x == nil {
		t.Fatalf("public key %s is not a compressed P-256 point", k.PublicKey)
	}
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
}

// secp256k1Key decodes a secp256k1 key's compressed public key as the cluster reports it.
func secp256k1Key(t *testing.T, k api.Key) *btcec.PublicKey {
	t.Helper()
	b, err := hex.DecodeString(k.PublicKey)
	if err != nil || k.Scheme != "ecdsa-secp256k1" {
		t.Fatalf("key %+v is not a secp256k1 key", k)
	}
	pub, err := btcec.ParsePubKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

var oidSecp256k1 = asn1.ObjectIdentifier{1, 3, 132, 0, 10}

// spkiPoint decodes an EC SubjectPublicKeyInfo (RFC 5480) in hex, requires the named curve, and
// returns the uncompressed point. crypto/x509 does not know secp256k1, so it is read by hand.
func spkiPoint(t *testing.T, spkiHex string, curve asn1.ObjectIdentifier) []byte {
	t.Helper()
	der, err := hex.DecodeString(spkiHex)
	if err != nil {
		t.Fatal(err)
	}
	var spki struct {
		Algorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.ObjectIdentifier
		}
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 {
		t.Fatalf("public key %s is not a SubjectPublicKeyInfo: %v", spkiHex, err)
	}
	if !spki.Algorithm.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}) || !spki.Algorithm.Parameters.Equal(curve) {
		t.Fatalf("public key %s is %v on %v, want id-ecPublicKey on %v", spkiHex, spki.Algorithm.Algorithm, spki.Algorithm.Parameters, curve)
	}
	return spki.PublicKey.Bytes
}
