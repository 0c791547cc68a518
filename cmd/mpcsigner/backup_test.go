package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/ssh"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// lifecycle is a test's operators and their files.
type lifecycle struct {
	t         *testing.T
	dir       string
	operators string // certificate lines
	keys      []string
}

func newLifecycle(t *testing.T, d0 *devnetProc, names ...string) *lifecycle {
	l := &lifecycle{t: t, dir: t.TempDir()}
	var certs []string
	for _, n := range names {
		key := filepath.Join(l.dir, n+".key")
		cert, stderr, code := cliNoDevnet(t, "operator", "keygen", "--name", n, "--out", key)
		if code != 0 {
			t.Fatalf("operator keygen: exit %d: %s", code, stderr)
		}
		certs = append(certs, strings.TrimSpace(cert))
		l.keys = append(l.keys, key)
	}
	l.operators = filepath.Join(l.dir, "operators.txt")
	if err := os.WriteFile(l.operators, []byte(strings.Join(certs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// approve writes a statement for op and has the first n operators approve it; it returns the
// statement and approvals files.
func (l *lifecycle) approve(n int, cluster, op, keyID string, params ...string) (string, string) {
	l.t.Helper()
	st := filepath.Join(l.dir, "st-"+randomHex32()[:12]+".json")
	args := []string{"operator", "statement", "--operation", op, "--cluster", cluster, "--key-id", keyID, "--out", st}
	for _, p := range params {
		args = append(args, "--param", p)
	}
	if _, stderr, code := cliNoDevnet(l.t, args...); code != 0 {
		l.t.Fatalf("operator statement: exit %d: %s", code, stderr)
	}
	var lines []string
	for _, k := range l.keys[:n] {
		out, stderr, code := cliNoDevnet(l.t, "operator", "approve", "--key", k, "--statement", st)
		if code != 0 {
			l.t.Fatalf("operator approve: exit %d: %s", code, stderr)
		}
		lines = append(lines, strings.TrimSpace(out))
	}
	ap := st + ".approvals"
	if err := os.WriteFile(ap, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return st, ap
}

// cliNoDevnet runs a client verb that needs no cluster.
func cliNoDevnet(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return (&devnetProc{bin: binary(t), data: t.TempDir()}).cli(t, args...)
}

// TestBackupRestoreEndToEnd backs keys up from a devnet whose enclaves require two operators'
// approval, wipes the cluster, and restores the keys into a fresh one, where they sign for the
// same public keys (checked with crypto/ed25519 and go-ethereum's crypto) and the secp256k1
// key keeps its xpub (its chain code travelled inside the sealed entries). Along the way:
// missing or partial approvals are refused with nothing exported or changed; a recovery
// identity split 2-of-3 opens the bundle with any 2 pieces and not with 1; a wrong identity, a
// truncated bundle and a flipped byte give clear errors; and recover reconstructs keys whose
// public keys match, only with its explicit flag.
func TestBackupRestoreEndToEnd(t *testing.T) {
	ops := newLifecycle(t, nil, "alice", "bob", "carol")
	d := startDevnet(t, filepath.Join(t.TempDir(), "a"), "--operators", ops.operators, "--approval-quorum", "2")
	cluster := d.info.Cluster

	var cold, hot api.Key
	d.cliJSON(t, &cold, "key", "create", "--scheme", "ed25519", "--label", "cold")
	d.cliJSON(t, &hot, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "hot")
	var xpub api.XPub
	d.cliJSON(t, &xpub, "key", "xpub", "hot")
	var validator api.Key
	d.cliJSON(t, &validator, "key", "create", "--scheme", "bls12-381", "--label", "validator")

	rec := filepath.Join(t.TempDir(), "recovery")
	recipient, stderr, code := cliNoDevnet(t, "backup", "new-recovery", "--threshold", "2", "--holders", "3", "--out-dir", rec)
	if code != 0 || !strings.HasPrefix(recipient, "age1") {
		t.Fatalf("backup new-recovery: exit %d, %q, %s", code, recipient, stderr)
	}
	recipient = strings.TrimSpace(recipient)
	sshPub, sshPriv := sshRecipient(t)
	recipients := recipient + "," + sshPub
	piece := func(i int) string { return filepath.Join(rec, "piece-"+string(rune('0'+i))+".txt") }

	// Refusals: no approval, one of two, an approval of other recipients. Nothing is written.
	bundle := filepath.Join(t.TempDir(), "cold.bundle")
	export := func(key string, extra ...string) (string, int) {
		_, stderr, code := d.cli(t, append([]string{"backup", "export", key, "--recipient", recipient, "--recipient", sshPub, "--out", bundle}, extra...)...)
		return stderr, code
	}
	if stderr, code := export("cold"); code != 1 || !strings.Contains(stderr, "412") || !strings.Contains(stderr, "approval of 2 operators") {
		t.Fatalf("export without approvals: exit %d, %q", code, stderr)
	}
	st, ap := ops.approve(1, cluster, "backup.export", cold.ID, "recipients="+recipients)
	if stderr, code := export("cold", "--statement", st, "--approvals", ap); code != 1 || !strings.Contains(stderr, "1 of 2") {
		t.Fatalf("export with one approval: exit %d, %q", code, stderr)
	}
	st, ap = ops.approve(2, cluster, "backup.export", cold.ID, "recipients="+recipient)
	if stderr, code := export("cold", "--statement", st, "--approvals", ap); code != 1 || !strings.Contains(stderr, "412") {
		t.Fatalf("export approved for other recipients: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(bundle); err == nil {
		t.Fatal("a refused export wrote a bundle")
	}
	// A refresh needs approvals too.
	if _, stderr, code := d.cli(t, "key", "refresh", "cold"); code != 1 || !strings.Contains(stderr, "412") {
		t.Fatalf("refresh without approvals: exit %d, %q", code, stderr)
	}
	// Approved, it runs; an approval of a refresh does not approve a committee change.
	st, ap = ops.approve(2, cluster, "key.refresh", cold.ID, "new_parties=1,2,3", "new_threshold=2")
	var refreshed api.Key
	d.cliJSON(t, &refreshed, "key", "refresh", "cold", "--statement", st, "--approvals", ap)
	if refreshed.Epoch != 1 || refreshed.PublicKey != cold.PublicKey {
		t.Fatalf("approved refresh printed %+v", refreshed)
	}
	st, ap = ops.approve(2, cluster, "key.refresh", cold.ID, "new_parties=1,2,3", "new_threshold=2")
	if _, stderr, code := d.cli(t, "key", "reshare", "cold", "--threshold", "3", "--statement", st, "--approvals", ap); code != 1 || !strings.Contains(stderr, "412") {
		t.Fatalf("a committee change under a refresh approval: exit %d, %q", code, stderr)
	}

	st, ap = ops.approve(2, cluster, "backup.export", cold.ID, "recipients="+recipients)
	if stderr, code := export("cold", "--statement", st, "--approvals", ap); code != 0 {
		t.Fatalf("approved export: exit %d, %q", code, stderr)
	}
	// The same approval does not export twice (its nonce is spent).
	_ = os.Remove(bundle + ".again")
	if _, stderr, code := d.cli(t, "backup", "export", "cold", "--recipient", recipient, "--recipient", sshPub, "--out", bundle+".again", "--statement", st, "--approvals", ap); code != 1 || !strings.Contains(stderr, "412") {
		t.Fatalf("a replayed approval: exit %d, %q", code, stderr)
	}
	hotBundle := filepath.Join(t.TempDir(), "hot.bundle")
	st, ap = ops.approve(2, cluster, "backup.export", hot.ID, "recipients="+recipient)
	if _, stderr, code := d.cli(t, "backup", "export", "hot", "--recipient", recipient, "--out", hotBundle, "--statement", st, "--approvals", ap); code != 0 {
		t.Fatalf("approved export of hot: exit %d, %q", code, stderr)
	}

	validatorBundle := filepath.Join(t.TempDir(), "validator.bundle")
	st, ap = ops.approve(2, cluster, "backup.export", validator.ID, "recipients="+recipient)
	if _, stderr, code := d.cli(t, "backup", "export", "validator", "--recipient", recipient, "--out", validatorBundle, "--statement", st, "--approvals", ap); code != 0 {
		t.Fatalf("approved export of the validator key: exit %d, %q", code, stderr)
	}

	// Offline checks of the bundle.
	if out, stderr, code := cliNoDevnet(t, "backup", "verify", bundle); code != 0 || !strings.Contains(out, "ok: key "+cold.ID) {
		t.Fatalf("backup verify: exit %d, %q %q", code, out, stderr)
	}
	raw, _ := os.ReadFile(bundle)
	bad := filepath.Join(t.TempDir(), "bad.bundle")
	for name, b := range map[string][]byte{"truncated": raw[:len(raw)/2], "flipped": flipByte(raw, len(raw)/3)} {
		_ = os.Remove(bad)
		if err := os.WriteFile(bad, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := cliNoDevnet(t, "backup", "verify", bad); code != 1 || !strings.Contains(stderr, "backup") {
			t.Errorf("backup verify of a %s bundle: exit %d, %q", name, code, stderr)
		}
	}

	// recover: refused without its flag and with one piece; with two pieces it gives the key.
	if _, stderr, code := cliNoDevnet(t, "recover", "--bundle", bundle, "--piece", piece(1), "--piece", piece(3)); code != 2 || !strings.Contains(stderr, "--i-understand-this-reconstructs-the-key") {
		t.Fatalf("recover without the flag: exit %d, %q", code, stderr)
	}
	if _, stderr, code := cliNoDevnet(t, "recover", "--i-understand-this-reconstructs-the-key", "--bundle", bundle, "--piece", piece(2)); code != 1 || !strings.Contains(stderr, "piece") {
		t.Fatalf("recover with one piece: exit %d, %q", code, stderr)
	}
	out, stderr, code := cliNoDevnet(t, "recover", "--i-understand-this-reconstructs-the-key", "--bundle", bundle, "--piece", piece(1), "--piece", piece(3))
	if code != 0 || !strings.Contains(stderr, "WHOLE PRIVATE KEY") {
		t.Fatalf("recover: exit %d, %q", code, stderr)
	}
	checkEd25519Scalar(t, strings.TrimSpace(out), cold.PublicKey)
	// The ssh-ed25519 recipient's private key alone opens the same bundle.
	sshKey := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(sshKey, sshPriv, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = cliNoDevnet(t, "recover", "--i-understand-this-reconstructs-the-key", "--bundle", bundle, "--identity", sshKey)
	if code != 0 {
		t.Fatalf("recover with the ssh identity: exit %d, %q", code, stderr)
	}
	checkEd25519Scalar(t, strings.TrimSpace(out), cold.PublicKey)
	out, _, code = cliNoDevnet(t, "recover", "--i-understand-this-reconstructs-the-key", "--bundle", hotBundle, "--piece", piece(2), "--piece", piece(3))
	if priv, err := crypto.HexToECDSA(strings.TrimSpace(out)); code != 0 || err != nil || hex.EncodeToString(crypto.CompressPubkey(&priv.PublicKey)) != hot.PublicKey {
		t.Fatalf("recover of the secp256k1 key: exit %d, %v", code, err)
	}

	// Wipe: the cluster and its data are gone. A fresh cluster (new enclaves, new identities,
	// a new cluster id) with the same operators restores the bundles.
	d.stop()
	if err := os.RemoveAll(d.data); err != nil {
		t.Fatal(err)
	}
	d = startDevnet(t, filepath.Join(t.TempDir(), "b"), "--operators", ops.operators, "--approval-quorum", "2")
	cluster = d.info.Cluster
	digest := bundleDigest(t, bundle)

	wrongRec := filepath.Join(t.TempDir(), "wrong")
	if _, _, code := cliNoDevnet(t, "backup", "new-recovery", "--out-dir", wrongRec); code != 0 {
		t.Fatal("second recovery identity")
	}
	if _, stderr, code := d.cli(t, "backup", "restore", "--bundle", bundle, "--piece", filepath.Join(wrongRec, "piece-1.txt"), "--piece", filepath.Join(wrongRec, "piece-2.txt")); code != 1 || !strings.Contains(stderr, "none of the identities given can decrypt it") {
		t.Fatalf("restore with the wrong identity: exit %d, %q", code, stderr)
	}
	if _, stderr, code := d.cli(t, "backup", "restore", "--bundle", bundle, "--piece", piece(1), "--piece", piece(2)); code != 1 || !strings.Contains(stderr, "412") {
		t.Fatalf("restore without approvals: exit %d, %q", code, stderr)
	}
	var list api.KeyList
	d.cliJSON(t, &list, "key", "list")
	if len(list.Keys) != 0 {
		t.Fatalf("refused restores left keys: %+v", list.Keys)
	}

	st, ap = ops.approve(2, cluster, "backup.restore", cold.ID, "bundle="+digest)
	var restored api.Key
	d.cliJSON(t, &restored, "backup", "restore", "--bundle", bundle, "--piece", piece(1), "--piece", piece(2), "--statement", st, "--approvals", ap)
	if restored.PublicKey != cold.PublicKey || restored.ID != cold.ID {
		t.Fatalf("restored %+v, want the key %s", restored, cold.PublicKey)
	}
	// Restoring a key that exists is refused.
	st, ap = ops.approve(2, cluster, "backup.restore", cold.ID, "bundle="+digest)
	if _, stderr, code := d.cli(t, "backup", "restore", "--bundle", bundle, "--piece", piece(2), "--piece", piece(3), "--statement", st, "--approvals", ap); code != 1 || !strings.Contains(stderr, "409") {
		t.Fatalf("restoring an existing key: exit %d, %q", code, stderr)
	}
	pub, _ := hex.DecodeString(cold.PublicKey)
	signEverySet(t, d, cold.ID, pub, restored)

	// An approval of one bundle does not restore another.
	st, ap = ops.approve(2, cluster, "backup.restore", cold.ID, "bundle="+digest)
	if _, stderr, code := d.cli(t, "backup", "restore", "--bundle", hotBundle, "--piece", piece(1), "--piece", piece(2), "--statement", st, "--approvals", ap); code != 1 || !strings.Contains(stderr, "412") {
		t.Fatalf("restoring the hot bundle with the cold bundle's approval: exit %d, %q", code, stderr)
	}
	st, ap = ops.approve(2, cluster, "backup.restore", hot.ID, "bundle="+bundleDigest(t, hotBundle))
	d.cliJSON(t, &restored, "backup", "restore", "--bundle", hotBundle, "--piece", piece(3), "--piece", piece(1), "--statement", st, "--approvals", ap)
	var xpubAfter api.XPub
	d.cliJSON(t, &xpubAfter, "key", "xpub", "hot")
	if restored.PublicKey != hot.PublicKey || xpubAfter.XPub != xpub.XPub {
		t.Fatalf("restored hot key %s with xpub %s; want %s and %s", restored.PublicKey, xpubAfter.XPub, hot.PublicKey, xpub.XPub)
	}
	digestHex := randomHex32()
	var sig api.SignResponse
	d.cliJSON(t, &sig, "sign", "--key", "hot", "--digest", digestHex)
	sigRaw, _ := hex.DecodeString(sig.Signature)
	msg, _ := hex.DecodeString(digestHex)
	if got, err := crypto.SigToPub(msg, append(sigRaw, byte(*sig.RecoveryID))); err != nil || hex.EncodeToString(crypto.CompressPubkey(got)) != hot.PublicKey {
		t.Fatalf("the restored secp256k1 key signs for another key (%v)", err)
	}

	// A restored validator key has no slashing protection history in the new cluster: it is
	// refused until its EIP-3076 history is imported (through the Keymanager API), then signs.
	st, ap = ops.approve(2, cluster, "backup.restore", validator.ID, "bundle="+bundleDigest(t, validatorBundle))
	d.cliJSON(t, &restored, "backup", "restore", "--bundle", validatorBundle, "--piece", piece(1), "--piece", piece(2), "--statement", st, "--approvals", ap)
	golden, err := os.ReadFile(filepath.Join("..", "..", "chains", "eth2", "testdata", "openapi", "attestation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if status, msg := w3sSign(t, d.info.Web3Signer, "0x"+validator.PublicKey, string(golden)); status != 404 || !strings.Contains(msg, "without its slashing protection history") {
		t.Fatalf("a restored validator key signed before its history was imported: %d %s", status, msg)
	}
	interchange := `{"metadata":{"interchange_format_version":"5","genesis_validators_root":"` + exampleGVR + `"},"data":[{"pubkey":"0x` + validator.PublicKey + `","signed_blocks":[{"slot":"50"}],"signed_attestations":[]}]}`
	body, _ := json.Marshal(map[string]any{"keystores": []string{}, "passwords": []string{}, "slashing_protection": interchange})
	if status, b := keymanagerCall(t, d, "POST", string(body)); status != 200 {
		t.Fatalf("importing the restored validator's slashing history: %d %s", status, b)
	}
	var ex struct {
		SigningRoot string `json:"signingRoot"`
	}
	if err := json.Unmarshal(golden, &ex); err != nil {
		t.Fatal(err)
	}
	status, vsig := w3sSign(t, d.info.Web3Signer, "0x"+validator.PublicKey, string(golden))
	if status != 200 {
		t.Fatalf("the restored validator key after its history was imported: %d %s", status, vsig)
	}
	verifyBLSWithGnark(t, validator.PublicKey, strings.TrimPrefix(ex.SigningRoot, "0x"), vsig)
}

// sshRecipient makes an ssh-ed25519 key pair and returns the public key line and the private
// key (OpenSSH PEM).
func sshRecipient(t *testing.T) (string, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), pem.EncodeToMemory(block)
}

func flipByte(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i] ^= 0x01
	return out
}

// bundleDigest reads a bundle's digest with backup verify --json.
func bundleDigest(t *testing.T, path string) string {
	t.Helper()
	var v struct {
		Digest string `json:"digest"`
	}
	out, stderr, code := cliNoDevnet(t, "backup", "verify", "--json", path)
	if code != 0 {
		t.Fatalf("backup verify: %s", stderr)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Digest) != 64 {
		t.Fatalf("backup verify --json printed %q (%v)", out, err)
	}
	return v.Digest
}

// checkEd25519Scalar checks a recovered FROST Ed25519 secret (a little-endian scalar) against
// the public key with edwards25519's own base-point multiplication.
func checkEd25519Scalar(t *testing.T, secretHex, pubHex string) {
	t.Helper()
	b, err := hex.DecodeString(secretHex)
	if err != nil {
		t.Fatalf("recover printed %q", secretHex)
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b)
	if err != nil {
		t.Fatalf("recovered scalar: %v", err)
	}
	if got := hex.EncodeToString(new(edwards25519.Point).ScalarBaseMult(s).Bytes()); got != pubHex {
		t.Fatalf("the recovered scalar gives public key %s, want %s", got, pubHex)
	}
}
