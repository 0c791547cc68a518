package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
)

// operatorCLI runs an operator verb in-process and returns its stdout, stderr and error.
func operatorCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	err := runOperator(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func isUsageError(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}

// keygen makes an operator key in dir and returns its path and certificate line.
func keygen(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name+".key")
	stdout, stderr, err := operatorCLI(t, "keygen", "--name", name, "--out", path)
	if err != nil {
		t.Fatalf("keygen %s: %v\n%s", name, err, stderr)
	}
	return path, strings.TrimSuffix(stdout, "\n")
}

// TestOperatorKeygenAndCert: keygen writes a 0600 key file and prints one certificate line that
// parses (self-signature checked); cert prints the same line again from the file; the file's key
// is the certificate's; nothing else is left in the directory, and an existing file is never
// replaced.
func TestOperatorKeygenAndCert(t *testing.T) {
	dir := t.TempDir()
	path, line := keygen(t, dir, "alice")
	if strings.Contains(line, "\n") {
		t.Fatalf("keygen printed more than one line: %q", line)
	}
	cert, err := approval.ParseCertificate(line)
	if err != nil {
		t.Fatalf("keygen's certificate: %v", err)
	}
	if cert.Name != "alice" {
		t.Fatalf("certificate of %q", cert.Name)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	key, fileCert, err := approval.ParseKeyFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The key signs what the certificate's public key verifies (crypto/ed25519 both ways).
	msg := []byte("operator key check")
	if !ed25519.Verify(cert.PublicKey, msg, ed25519.Sign(key, msg)) || !fileCert.Equal(cert) {
		t.Fatal("the key file's key is not the certificate's")
	}
	if strings.Contains(line, hex.EncodeToString(key.Seed())) {
		t.Fatal("the certificate shows the seed")
	}

	stdout, _, err := operatorCLI(t, "cert", "--key", path)
	if err != nil || strings.TrimSuffix(stdout, "\n") != line {
		t.Fatalf("cert: %v, %q; want keygen's line %q", err, stdout, line)
	}

	if _, _, err := operatorCLI(t, "keygen", "--name", "mallory", "--out", path); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("keygen over an existing file: %v", err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(raw) {
		t.Fatal("keygen changed an existing key file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d entries (temporary files left?): %v", len(entries), entries)
	}

	// A key file others can read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := operatorCLI(t, "cert", "--key", path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("cert with a 0644 key file: %v", err)
	}
}

func TestOperatorUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{},
		{"frobnicate"},
		{"keygen"},
		{"keygen", "--name", "alice"},
		{"keygen", "--out", filepath.Join(dir, "k")},
		{"keygen", "--name", "Alice", "--out", filepath.Join(dir, "k")},
		{"keygen", "--name", "alice", "--out", filepath.Join(dir, "k"), "extra"},
		{"cert"},
		{"approve", "--key", "k"},
		{"statement", "--operation", "key.refresh", "--cluster", "c"},
		{"statement", "--operation", "key.delete", "--cluster", "c", "--key-id", strings.Repeat("a", 32)},
		{"statement", "--operation", "key.refresh", "--cluster", "c", "--key-id", "my-label"},
		{"statement", "--operation", "key.refresh", "--cluster", "c", "--key-id", strings.Repeat("a", 32), "--param", "novalue"},
		{"statement", "--operation", "key.refresh", "--cluster", "c", "--key-id", strings.Repeat("a", 32), "--param", "a=1", "--param", "a=2"},
		{"statement", "--operation", "key.refresh", "--cluster", "c", "--key-id", strings.Repeat("a", 32), "--param", "Bad=1"},
		{"statement", "--operation", "key.refresh", "--cluster", "c", "--key-id", strings.Repeat("a", 32), "--valid", "0s"},
		{"statement", "--operation", "key.refresh", "--cluster", "c", "--key-id", strings.Repeat("a", 32), "--valid", "800h"},
	}
	for _, args := range cases {
		_, _, err := operatorCLI(t, args...)
		if !isUsageError(err) {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused commands wrote %v", entries)
	}
}

// TestOperatorStatementAndApprove is the whole flow: a statement file for a committee change,
// approved by alice and bob, checks against a 2-of-3 policy built from the three certificate
// lines keygen printed; alice's alone is 1 of 2; the approvals' signatures verify with
// crypto/ed25519.
func TestOperatorStatementAndApprove(t *testing.T) {
	dir := t.TempDir()
	aliceKey, aliceCert := keygen(t, dir, "alice")
	bobKey, bobCert := keygen(t, dir, "bob")
	_, carolCert := keygen(t, dir, "carol")
	policy, err := approval.Config{Operators: []string{aliceCert, bobCert, carolCert}, Quorum: 2}.Policy()
	if err != nil {
		t.Fatal(err)
	}

	keyID := "0123456789abcdef0123456789abcdef"
	stmtPath := filepath.Join(dir, "reshare.json")
	before := time.Now()
	_, stderr, err := operatorCLI(t, "statement", "--operation", approval.OpKeyReshare, "--cluster", "prod-1", "--key-id", keyID,
		"--param", "new_parties=1,2,3,4", "--param", "new_threshold=3", "--valid", "2h", "--out", stmtPath)
	after := time.Now()
	if err != nil {
		t.Fatalf("statement: %v\n%s", err, stderr)
	}
	if fi, err := os.Stat(stmtPath); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("statement file: %v, mode %v", err, fi)
	}
	raw, _ := os.ReadFile(stmtPath)
	stmt, err := approval.DecodeStatement(raw)
	if err != nil {
		t.Fatalf("the statement file does not decode: %v\n%s", err, raw)
	}
	want := approval.Statement{Operation: approval.OpKeyReshare, Cluster: "prod-1", KeyID: keyID,
		Params: map[string]string{"new_parties": "1,2,3,4", "new_threshold": "3"}}
	if err := stmt.Match(want); err != nil {
		t.Fatal(err)
	}
	if stmt.NotAfter.Before(before.Add(2*time.Hour).Truncate(time.Second)) || stmt.NotAfter.After(after.Add(2*time.Hour)) {
		t.Fatalf("not_after %s is not two hours after the command ran", stmt.NotAfter)
	}
	if !strings.Contains(stderr, "operator approve") {
		t.Errorf("statement's hint %q does not say how to approve", stderr)
	}
	// A second statement gets a fresh nonce, and the file is never replaced.
	other, _, err := operatorCLI(t, "statement", "--operation", approval.OpKeyRefresh, "--cluster", "prod-1", "--key-id", keyID)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := approval.DecodeStatement([]byte(other)); err != nil || s.Nonce == stmt.Nonce || s.Params != nil {
		t.Fatalf("second statement (stdout): %v %+v", err, s)
	}
	if _, _, err := operatorCLI(t, "statement", "--operation", approval.OpKeyRefresh, "--cluster", "prod-1", "--key-id", keyID, "--out", stmtPath); err == nil {
		t.Fatal("statement replaced an existing file")
	}

	var approvals string
	for _, key := range []string{aliceKey, bobKey} {
		stdout, stderr, err := operatorCLI(t, "approve", "--key", key, "--statement", stmtPath)
		if err != nil {
			t.Fatalf("approve with %s: %v", key, err)
		}
		if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
			t.Fatalf("approve printed %q; want one JSON line", stdout)
		}
		for _, shown := range []string{"key.reshare", "prod-1", keyID, "new_threshold = 3", stmt.Nonce} {
			if !strings.Contains(stderr, shown) {
				t.Errorf("approve did not show the approver %q:\n%s", shown, stderr)
			}
		}
		approvals += stdout
	}
	list, err := approval.DecodeApprovals([]byte(approvals))
	if err != nil || len(list) != 2 {
		t.Fatalf("approvals: %v %v", err, list)
	}
	msg, _ := stmt.CanonicalBytes()
	for i, a := range list {
		if !ed25519.Verify(a.PublicKey, msg, a.Signature) {
			t.Fatalf("approval %d does not verify with crypto/ed25519", i)
		}
	}
	now := time.Now()
	if err := policy.Check(stmt, list, now); err != nil {
		t.Fatalf("2 of 3: %v", err)
	}
	if err := policy.Check(stmt, list[:1], now); !errors.Is(err, approval.ErrNoQuorum) || !strings.Contains(err.Error(), "1 of 2") {
		t.Fatalf("alice alone: %v; want 1 of 2", err)
	}
	ledger := approval.NewMemLedger()
	for i, wantErr := range []error{nil, approval.ErrNonceUsed} {
		if err := policy.Authorize(want, stmt, list, ledger, now); !errors.Is(err, wantErr) {
			t.Fatalf("Authorize #%d: %v; want %v", i+1, err, wantErr)
		}
	}
}

// TestOperatorApproveRefuses: expired and malformed statements are not signed, and nothing is
// printed on stdout.
func TestOperatorApproveRefuses(t *testing.T) {
	dir := t.TempDir()
	key, _ := keygen(t, dir, "alice")
	expired := approval.Statement{Operation: approval.OpBackupExport, Cluster: "prod-1", KeyID: strings.Repeat("0", 32),
		Nonce: approval.NewNonce(), NotAfter: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	b, err := expired.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"expired.json":   string(b),
		"malformed.json": `{"version":1,"operation":"backup.export"}`,
		"extra.json":     strings.Replace(string(b), `"version":1`, `"version":1,"note":"x"`, 1),
		"huge.json":      strings.Repeat(" ", approval.MaxStatementBytes+1),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, _, err := operatorCLI(t, "approve", "--key", key, "--statement", path)
		if err == nil || stdout != "" {
			t.Errorf("%s: approved (%q, %v)", name, stdout, err)
		}
		if name == "expired.json" && !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired statement: %v", err)
		}
	}
	valid := expired
	valid.NotAfter = time.Now().Add(time.Hour).Truncate(time.Second)
	b, _ = valid.MarshalJSON()
	validPath := filepath.Join(dir, "valid.json")
	if err := os.WriteFile(validPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := operatorCLI(t, "approve", "--key", filepath.Join(dir, "missing.key"), "--statement", validPath); err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("approve with a missing key file: %v", err)
	}
}
