package main

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
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
	// runWith runs pkcs11-tool with the module configured by conf; run uses the devnet's own
	// configuration and fails the test on a non-zero exit.
	runWith := func(conf string, args ...string) (string, error) {
		cmd := exec.Command(tool, append([]string{"--module", module}, args...)...)
		cmd.Env = append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+conf)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runWith(d.info.PKCS11.Config, args...)
		if err != nil {
			t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
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
	// The P-256 key keeps the key id as its CKA_ID (none asked); the secp256k1 key keeps the
	// CKA_ID pkcs11-tool asks for, and --sign --id finds it by that.
	for _, kt := range []struct{ keyType, label, id string }{{"EC:prime256v1", "p11-p256", ""}, {"EC:secp256k1", "p11-k1", "0a0b"}} {
		t.Run(kt.keyType, func(t *testing.T) {
			pub := keyScript(t, run, login, openssl, dir, digest, kt.keyType, kt.label, kt.id)
			if kt.keyType == "EC:prime256v1" {
				signWithOpenSSLEngine(t, openssl, module, d, kt.label, digest, pub)
			}
		})
	}

	t.Run("C_GenerateRandom from the enclave", func(t *testing.T) {
		// More than one call to the host carries (4096 bytes), so the module asks twice.
		out := filepath.Join(dir, "random.bin")
		run("--generate-random", "5000", "--output-file", out)
		b, err := os.ReadFile(out)
		if err != nil || len(b) != 5000 {
			t.Fatalf("pkcs11-tool --generate-random 5000 wrote %d bytes: %v", len(b), err)
		}
	})

	t.Run("forked child gets an error, never hangs", func(t *testing.T) {
		// pkcs11-tool --test-fork forks after C_Initialize and calls C_Initialize in the child.
		// A Go runtime does not survive fork, so the module answers the child with an error;
		// it must do so at once (exec.CommandContext bounds it), and the parent carries on.
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, tool, append([]string{"--module", module, "--test-fork"}, login...)...)
		cmd.Env = append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+d.info.PKCS11.Config)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("pkcs11-tool --test-fork hung:\n%s", out)
		}
		if err == nil || !strings.Contains(string(out), "C_Initialize in child") || !strings.Contains(string(out), "CKR_GENERAL_ERROR") {
			t.Fatalf("want the child's C_Initialize refused with CKR_GENERAL_ERROR, got %v:\n%s", err, out)
		}
		if got := run("-L"); !strings.Contains(got, "mpcsigner ECDSA") {
			t.Fatalf("the module no longer works after a client forked:\n%s", got)
		}
	})

	t.Run("--test-threads", func(t *testing.T) {
		testThreads(t, run, login)
	})

	t.Run("C_DestroyObject is refused by default", func(t *testing.T) {
		// The devnet's pkcs11.yaml leaves allow_key_deletion unset: the module refuses before
		// asking the host, and the key stays in the cluster and in the module's listing.
		var before api.KeyList
		d.cliJSON(t, &before, "key", "list")
		key := keyByLabel(t, before.Keys, "p11-k1")
		out, err := runWith(d.info.PKCS11.Config, append(login, "--delete-object", "--type", "privkey", "--id", "0a0b")...)
		if err == nil || !strings.Contains(out, "C_DestroyObject") || !strings.Contains(out, "(0x1b)") {
			t.Fatalf("--delete-object with the default configuration: %v; want C_DestroyObject to fail with CKR_ACTION_PROHIBITED (0x1b):\n%s", err, out)
		}
		var after api.KeyList
		d.cliJSON(t, &after, "key", "list")
		if !slices.ContainsFunc(after.Keys, func(k api.Key) bool { return k.ID == key.ID }) || len(after.Keys) != len(before.Keys) {
			t.Fatalf("after a refused --delete-object the cluster lists %+v", after.Keys)
		}
		if out := run(append(login, "-O")...); !strings.Contains(out, "p11-k1") {
			t.Fatalf("the module's listing after the refused deletion:\n%s", out)
		}
	})

	t.Run("C_DestroyObject deletes the key when allowed", func(t *testing.T) {
		// The secp256k1 key made and used above through pkcs11-tool, named by the CKA_ID it asked,
		// deleted through a copy of the devnet's configuration that allows deletion.
		allowed := withKeyDeletion(t, d.info.PKCS11.Config)
		var before api.KeyList
		d.cliJSON(t, &before, "key", "list")
		key := keyByLabel(t, before.Keys, "p11-k1")
		if out, err := runWith(allowed, append(login, "--delete-object", "--type", "privkey", "--id", "0a0b")...); err != nil {
			t.Fatalf("--delete-object with allow_key_deletion: true: %v\n%s", err, out)
		}
		var after api.KeyList
		d.cliJSON(t, &after, "key", "list")
		if slices.ContainsFunc(after.Keys, func(k api.Key) bool { return k.ID == key.ID }) || len(after.Keys) != len(before.Keys)-1 {
			t.Fatalf("after --delete-object the cluster lists %+v", after.Keys)
		}
		_, stderr, code := d.cli(t, "sign", "--key", key.ID, "--digest", randomHex32())
		if code != 1 || !strings.Contains(stderr, "404") {
			t.Fatalf("signing with the deleted key: exit %d, %q; want a 404", code, stderr)
		}
		if out := run(append(login, "-O")...); strings.Contains(out, "p11-k1") || !strings.Contains(out, "p11-p256") {
			t.Fatalf("the module's listing after the deletion:\n%s", out)
		}
	})

	t.Run("p11tool (GnuTLS)", func(t *testing.T) {
		p11tool, err := exec.LookPath("p11tool")
		if err != nil {
			t.Skip("p11tool (Debian package gnutls-bin) is not installed")
		}
		cmd := exec.Command(p11tool, "--provider", module, "--login", "--list-privkeys", "pkcs11:token=mpcsigner%20ECDSA")
		cmd.Env = append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+d.info.PKCS11.Config, "GNUTLS_PIN="+d.info.PKCS11.UserPIN)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "object=p11-p256") || !strings.Contains(string(out), "CKA_NEVER_EXTRACTABLE") {
			t.Fatalf("p11tool --list-privkeys: %v\n%s", err, out)
		}
	})
}

// withKeyDeletion writes a copy of a module configuration with allow_key_deletion: true added
// and returns its path; the devnet's own configuration keeps the safe default.
func withKeyDeletion(t *testing.T, conf string) string {
	t.Helper()
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "allow_key_deletion") {
		t.Fatalf("the devnet's %s already sets allow_key_deletion:\n%s", conf, raw)
	}
	out := filepath.Join(t.TempDir(), "pkcs11-allow-delete.yaml")
	body := strings.TrimRight(string(raw), "\n") + "\nallow_key_deletion: true\n"
	if err := os.WriteFile(out, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// testThreads runs pkcs11-tool --test-threads against the module. OpenSC 0.23 knows only the
// two-letter commands IN (C_Initialize(NULL)), IL (C_Initialize with CKF_OS_LOCKING_OK), GI
// (C_GetInfo), SL (C_GetSlotList), Tn (C_GetTokenInfo of the n-th slot) and Pn (pause); nothing
// that logs in or signs. Two threads start before the main thread's own C_Initialize, so three
// C_Initialize calls race, while the main thread logs in and lists objects through the host.
//
// What is not reliable, and so not asserted on: the exit status says nothing about the threads
// (pkcs11-tool exits 0 whatever they got), the order of the lines, and the time taken: if the
// main thread reaches its cleanup while a thread still runs, pkcs11-tool sleeps 30 s before
// looking again. The threads here make only in-process calls and the main thread waits for the
// host, so that has not happened, but it would slow the test, not fail it.
func testThreads(t *testing.T, run func(args ...string) string, login []string) {
	t.Helper()
	start := time.Now()
	out := run(append(login, "--test-threads", "INGISLT0", "--test-threads", "ILGISLT1", "-O")...)
	t.Logf("pkcs11-tool --test-threads took %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"test_threads all threads have ended with CKR_OK",
		"Test thread 0 C_GetInfo returned CKR_OK", "Test thread 1 C_GetInfo returned CKR_OK",
		"Test thread 0 l_p11_num_slots:2", "Test thread 1 l_p11_num_slots:2",
		// T0 and T1 print the two tokens through C_GetTokenInfo.
		"token label        : mpcsigner ECDSA", "token label        : mpcsigner EdDSA",
		"p11-p256", // the main thread's object listing
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pkcs11-tool --test-threads did not print %q", want)
		}
	}
	for _, bad := range []string{"Unknown test", "slot not available", "some errors"} {
		if strings.Contains(out, bad) {
			t.Errorf("pkcs11-tool --test-threads printed %q", bad)
		}
	}
	// Exactly one of the three racing C_Initialize calls initializes the module; the others are
	// told it already is (PKCS#11 2.40 §5.4), and every thread goes on to use it.
	inits := regexp.MustCompile(`(?m)(?:Test thread \d C_Initialize +returned |Main C_Initialize\([A-Z_]+\) rv:)(\S+)`).FindAllStringSubmatch(out, -1)
	var ok, already int
	for _, m := range inits {
		switch m[1] {
		case "CKR_OK":
			ok++
		case "CKR_CRYPTOKI_ALREADY_INITIALIZED":
			already++
		}
	}
	if len(inits) != 3 || ok != 1 || already != 2 {
		t.Errorf("C_Initialize results %q; want one CKR_OK and two CKR_CRYPTOKI_ALREADY_INITIALIZED", inits)
	}
	if t.Failed() {
		t.Logf("pkcs11-tool --test-threads printed:\n%s", out)
	}
}

// signWithOpenSSLEngine signs through OpenSSL's libp11 engine with the module behind it, and
// verifies the result with OpenSSL against the public key read through the module.
func signWithOpenSSLEngine(t *testing.T, openssl, module string, d *devnetProc, label, digest, pub string) {
	t.Helper()
	const engine = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"
	if _, err := os.Stat(engine); err != nil {
		t.Log("libp11's OpenSSL engine (Debian package libengine-pkcs11-openssl) is not installed: OpenSSL engine signing not tried")
		return
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "openssl.cnf")
	cnf := "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n[engine_section]\npkcs11 = pkcs11_section\n" +
		"[pkcs11_section]\nengine_id = pkcs11\ndynamic_path = " + engine + "\nMODULE_PATH = " + module + "\ninit = 0\n"
	if err := os.WriteFile(conf, []byte(cnf), 0o600); err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(dir, "engine.sig")
	// libp11 needs the token named when a module has more than one.
	uri := "pkcs11:token=mpcsigner%20ECDSA;object=" + label + ";type=private;pin-value=" + d.info.PKCS11.UserPIN
	cmd := exec.Command(openssl, "pkeyutl", "-engine", "pkcs11", "-keyform", "engine", "-inkey", uri, "-sign", "-in", digest, "-out", sig)
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf, "MPCSIGNER_PKCS11_CONF="+d.info.PKCS11.Config)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl signing through the libp11 engine: %v\n%s", err, out)
	}
	if out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", pub, "-sigfile", sig, "-in", digest).CombinedOutput(); err != nil {
		t.Fatalf("openssl rejects the engine's signature: %v\n%s", err, out)
	}
}

// keyScript is the client script run against every token, ours and SoftHSM2 alike: generate
// a key pair, find its id, sign a digest with CKM_ECDSA, read the public key back, and verify
// the signature with OpenSSL. It returns the public key's DER file.
// When id is given it is requested at generation and the key is then named by it (both SoftHSM
// and ours store it); when it is empty the token's own CKA_ID is found with -O (ours: the key id).
func keyScript(t *testing.T, run func(args ...string) string, login []string, openssl, dir, digest, keyType, label, id string) string {
	t.Helper()
	gen := append(login, "--keypairgen", "--key-type", keyType, "--label", label)
	if id != "" {
		gen = append(gen, "--id", id)
	}
	out := run(gen...)
	if !strings.Contains(out, "never extractable") || !strings.Contains(out, "sensitive") {
		t.Fatalf("generated key is not shown sensitive and never extractable:\n%s", out)
	}
	// pkcs11-tool 0.23 picks the first private key for --sign whatever --label says, so name
	// the key by its CKA_ID.
	if id == "" {
		id = objectID(t, run(append(login, "-O")...), label)
	}
	sig, pub := filepath.Join(dir, label+".sig"), filepath.Join(dir, label+".pub")
	run(append(login, "--sign", "--mechanism", "ECDSA", "--id", id, "--input-file", digest, "--output-file", sig, "--signature-format", "openssl")...)
	run("--read-object", "--type", "pubkey", "--id", id, "--output-file", pub)
	if out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", pub, "-sigfile", sig, "-in", digest).CombinedOutput(); err != nil {
		t.Fatalf("openssl rejects the %s signature: %v\n%s", keyType, err, out)
	}
	return pub
}

// TestPKCS11ToolAgainstSoftHSM runs the same client script against SoftHSM2, the reference
// token, so the two can be compared (README, "PKCS#11": the differences).
func TestPKCS11ToolAgainstSoftHSM(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Skip("pkcs11-tool (Debian package opensc) is not installed")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	util, err := exec.LookPath("softhsm2-util")
	const softhsm = "/usr/lib/softhsm/libsofthsm2.so"
	if _, serr := os.Stat(softhsm); err != nil || serr != nil {
		t.Skip("SoftHSM2 (Debian package softhsm2) is not installed: the reference token was not compared")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SOFTHSM2_CONF="+conf)
	init := exec.Command(util, "--init-token", "--free", "--label", "reference", "--pin", "1234", "--so-pin", "5678")
	init.Env = env
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tool, append([]string{"--module", softhsm, "--token-label", "reference"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	digest := filepath.Join(dir, "digest.bin")
	d32 := make([]byte, 32)
	_, _ = rand.Read(d32)
	if err := os.WriteFile(digest, d32, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kt := range []struct{ keyType, label, id string }{{"EC:prime256v1", "ref-p256", "a1"}, {"EC:secp256k1", "ref-k1", "a2"}} {
		t.Run(kt.keyType, func(t *testing.T) {
			keyScript(t, run, []string{"--login", "--pin", "1234"}, openssl, dir, digest, kt.keyType, kt.label, kt.id)
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
func buildPKCS11Module(t testing.TB) string {
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

// keyByLabel finds a key in a list by its label.
func keyByLabel(t *testing.T, keys []api.Key, label string) api.Key {
	t.Helper()
	i := slices.IndexFunc(keys, func(k api.Key) bool { return k.Label == label })
	if i < 0 {
		t.Fatalf("no key labelled %s in %+v", label, keys)
	}
	return keys[i]
}
